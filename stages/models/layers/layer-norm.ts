// LayerNorm over the trailing dimensions, as PyTorch's nn.LayerNorm(normalized_shape) defines
// it: statistics (mean, biased variance) over the last `dims` axes of each example, epsilon
// inside the square root, elementwise affine of the normalised shape.
//
// Written by hand because tf.layers.layerNormalization is slow on the wasm backend: it tiles
// the statistics and parameters to the full input shape before a batch-norm kernel (about 1.5 s
// for a [32, 256, 512] batch here, against 0.05 s for the same maths with broadcasting).
import * as tf from '../../nn/tf.js';
import { type LayerArgs, type LayerVariable, OutputOverride, singleInput, singleShape } from '../../nn/layer-args.js';

export interface LayerNormArgs extends LayerArgs {
  /** How many trailing axes to normalise over (PyTorch: len(normalized_shape)). Default 1. */
  dims?: number;
  /** Default 1e-5, PyTorch's. */
  epsilon?: number;
}

export class LayerNorm extends tf.layers.Layer {
  static className = 'PipelineLayerNorm';
  readonly dims: number;
  readonly epsilon: number;
  #gamma: LayerVariable | undefined;
  #beta: LayerVariable | undefined;
  readonly #override = new OutputOverride();

  constructor(args: LayerNormArgs = {}) {
    super(args);
    this.dims = args.dims ?? 1;
    this.epsilon = args.epsilon ?? 1e-5;
    if (!Number.isInteger(this.dims) || this.dims < 1) throw new Error(`LayerNorm: dims must be a positive integer, got ${this.dims}`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = singleShape(inputShape);
    if (s.length - 1 < this.dims) throw new Error(`LayerNorm '${this.name}': input [${s.join(',')}] has fewer than ${this.dims} non-batch axes`);
    const param = s.slice(s.length - this.dims);
    if (param.some((d) => d == null)) throw new Error(`LayerNorm '${this.name}': the normalised axes need fixed sizes, got [${s.join(',')}]`);
    this.#gamma = this.addWeight('gamma', param as number[], 'float32', tf.initializers.ones());
    this.#beta = this.addWeight('beta', param as number[], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const given = this.#override.value;
    if (given !== null) return given;
    return tf.tidy(() => this.#affine(this.#normed(singleInput(inputs))));
  }

  #normed(x: tf.Tensor): tf.Tensor {
    const axes = Array.from({ length: this.dims }, (_, i) => x.rank - this.dims + i);
    const { mean, variance } = tf.moments(x, axes, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.epsilon)));
  }

  #affine(normed: tf.Tensor): tf.Tensor {
    return tf.add(tf.mul(normed, this.#gamma!.read()), this.#beta!.read());
  }

  // For a training step that runs the layer's forward and backward apart (the ONNX Runtime
  // LSTM step, ../../nn/rnn/onnx/model-step.ts): the forward once, keeping the normalised input,
  // and later the weights' gradient from the gradient at the output, with the ops tfjs'
  // autodiff runs for call() (Add's and Multiply's gradients: the sums over the broadcast
  // axes), so the bits are those of tf.variableGrads through call().

  /**
   * Over the last axis only, the LSTM's ONNX graphs can compute this layer themselves
   * (stages/nn/rnn/onnx/lstm-graphs.ts, inputNorm: the same maths, ONNX Runtime's rounding).
   */
  get foldableNorm(): { epsilon: number } | null {
    return this.dims === 1 ? { epsilon: this.epsilon } : null;
  }

  /** The weights, gamma then beta. */
  get weightVariables(): [tf.Variable, tf.Variable] {
    return [this.#gamma!.read() as tf.Variable, this.#beta!.read() as tf.Variable];
  }

  /** call()'s output, and the normalised input its weights' gradient needs. */
  forwardParts(x: tf.Tensor): { output: tf.Tensor; normed: tf.Tensor } {
    const normed = tf.tidy(() => this.#normed(x));
    return { output: tf.tidy(() => this.#affine(normed)), normed };
  }

  /** d(sum(output * dOutput)) / d(gamma, beta), from forwardParts' normed. */
  weightGrads(normed: tf.Tensor, dOutput: tf.Tensor): [tf.Tensor, tf.Tensor] {
    return tf.tidy(() => {
      const axes = Array.from({ length: normed.rank - this.dims }, (_, i) => i);
      const [gamma, beta] = this.weightVariables;
      return [tf.reshape(tf.sum(tf.mul(dOutput, normed), axes), gamma.shape), tf.reshape(tf.sum(dOutput, axes), beta.shape)];
    });
  }

  /** Runs fn with call() returning `output` instead of computing it (see FastRecurrent.withOutput). */
  withOutput<T>(output: tf.Tensor, fn: () => T): T {
    return this.#override.with(output, fn);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), dims: this.dims, epsilon: this.epsilon };
  }
}

tf.serialization.registerClass(LayerNorm);
