// Gradients that tfjs computes slowly on the wasm backend, registered in place of tfjs' own with
// the same values to the bit.
//
// Max (reduce-max, e.g. the max over time of bilstm_maxpool and gru): tfjs' gradient is
// dy * cast(equal(x, max), float32), broadcast over the reduced axes. The wasm backend has no
// fast kernel for a broadcast `equal` (it walks the indices element by element): on the demo's
// [8, 40, 256] batch that one op took 13-20 ms of a training step, against about 1 ms for
// dy * (1 - step(max - x)) with broadcast sub/mul. For float32, max - x is >= 0 and is 0
// exactly where x equals the max (IEEE subtraction of two different floats is never 0, and
// wasm flushes no subnormals), and step(v) is 1 for v > 0, else 0: so 1 - step(max - x) is the
// same 0/1 mask, ties included, and the product is the same float. (Not sign(x - max): the
// wasm backend's Sign returns 0 for |v| below about 1e-8, which marks near-ties as maxima.)
// Other dtypes keep tfjs' formula.
import * as tf from './tf.js';

let registered = false;

/** Registers the gradients above (idempotent). Call once tfjs is loaded. */
export function registerFastGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.Max,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const [x, yOrig] = saved as [tf.Tensor, tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as unknown as tf.MaxAttrs).reductionIndices, x.shape);
      let y = yOrig;
      let g = dy as tf.Tensor;
      // As tfjs' gradForMinAndMax: bring max and dy back to x's rank (keepDims shape).
      if (y.rank < x.rank) y = tf.reshape(y, tf.backend_util.expandShapeToKeepDim(y.shape, axes));
      if (g.rank < x.rank) g = tf.reshape(g, tf.backend_util.expandShapeToKeepDim(g.shape, axes));
      return {
        x: () =>
          x.dtype === 'float32' && g.dtype === 'float32'
            ? tf.mul(g, tf.sub(tf.scalar(1), tf.step(tf.sub(y, x))))
            : tf.mul(g, tf.cast(tf.equal(x, y), g.dtype)),
      };
    },
  });
}
