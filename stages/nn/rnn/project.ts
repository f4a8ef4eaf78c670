// Pieces shared by the LSTM and GRU sequence ops.
import * as tf from '../tf.js';
import { unstack0 } from './kernels.js';

export interface SequenceOptions {
  /** Iterate from the last step to the first (outputs stay in input time order). */
  goBackwards: boolean;
  /** Return every step's h ([B,T,H]) or only the final one ([B,H]). */
  returnSequences: boolean;
}

export type GradSave = (tensors: tf.Tensor[]) => void;

/** The sizes of a sequence op's operands, checked: x [T,B,F], kernel [F,gates*H], recurrentKernel [H,gates*H]. */
export function sequenceSizes(
  op: string,
  gates: number,
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
): { steps: number; batch: number; features: number; units: number } {
  const [steps, batch, features] = x.shape;
  const units = recurrentKernel.shape[0];
  if (kernel.shape[0] !== features || kernel.shape[1] !== gates * units || recurrentKernel.shape[1] !== gates * units) {
    throw new Error(`${op}: kernel ${kernel.shape} / recurrentKernel ${recurrentKernel.shape} do not fit input ${x.shape}`);
  }
  return { steps, batch, features, units };
}

/** Iteration order: position k of the loop works on time step order[k]. */
export function stepOrder(steps: number, opts: SequenceOptions): number[] {
  return Array.from({ length: steps }, (_, k) => (opts.goBackwards ? steps - 1 - k : k));
}

/**
 * For the backward loop: the gradient at h of iteration k (time step t), that is the op's own
 * output gradient there (dy[t] for a sequence; dy at the last iteration for the final h), plus
 * `fromLater`, the gradient the later iteration sent back (null at the last one).
 */
export function hiddenGrads(dy: tf.Tensor, opts: SequenceOptions, steps: number): (k: number, t: number, fromLater: tf.Tensor | null) => tf.Tensor {
  const dys = opts.returnSequences ? unstack0(dy) : null;
  return (k, t, fromLater) => {
    const dOut = dys === null ? (k === steps - 1 ? dy : null) : dys[t]!;
    return fromLater === null ? dOut! : dOut === null ? fromLater : tf.add(dOut, fromLater);
  };
}

interface OpResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
}

/** tf.customGrad with the inputs as an array (its own signature mixes inputs and `save`). */
export function customOp(f: (inputs: tf.Tensor[], save: GradSave) => OpResult): (...inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | GradSave>) => {
    const save = args[args.length - 1] as GradSave;
    return f(args.slice(0, -1) as tf.Tensor[], save);
  });
  return (...inputs) => op(...inputs);
}

/**
 * x [T,B,F] -> x·W + b as [T,B,G] (any two leading axes work alike). Its gradient (w.r.t. x only) runs only when x itself needs
 * one: tfjs prunes tape nodes that do not lead from a variable, so for a model input this op
 * never computes the costly dx. W and b reach their gradients through the recurrence op.
 */
export function project(x: tf.Tensor3D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor3D {
  const [steps, batch, features] = x.shape;
  const gates = w.shape[1];
  const op = customOp(([xIn], save) => {
    const x2 = tf.reshape(xIn!, [batch * steps, features]);
    save([w]);
    return {
      value: tf.reshape(tf.add(tf.matMul(x2, w), b), [steps, batch, gates]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const wt = tf.transpose(saved[0]!);
        return tf.reshape(tf.matMul(tf.reshape(dy, [batch * steps, gates]), wt), [steps, batch, features]);
      },
    };
  });
  return op(x) as tf.Tensor3D;
}

/**
 * tanh through the sigmoid: tanh(v) = 2*sigmoid(2v) - 1. The wasm backend's Tanh kernel is
 * about 30x slower than its Sigmoid (XNNPACK) on step-sized tensors; the identity is exact
 * up to float32 rounding (absolute error ~1e-7).
 */
export function fastTanh(v: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(v, 2)), 2), 1);
}

/**
 * Column sums of a [N,G] matrix as one matMul (ones[1,N]·m). The wasm backend's Sum over
 * axis 0 transposes first and runs a scalar loop: a few ms for [1024,512].
 */
export function columnSums(m: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, m.shape[0]]), m), [m.shape[1]]);
}
