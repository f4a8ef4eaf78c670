// Pieces shared by the LSTM and GRU sequence ops.
import * as tf from '@tensorflow/tfjs';

export interface SequenceOptions {
  /** Iterate from the last step to the first (outputs stay in input time order). */
  goBackwards: boolean;
  /** Return every step's h ([B,T,H]) or only the final one ([B,H]). */
  returnSequences: boolean;
}

export type GradSave = (tensors: tf.Tensor[]) => void;

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
 * x [B,T,F] -> x·W + b as [B,T,G]. Its gradient (w.r.t. x only) runs only when x itself needs
 * one: tfjs prunes tape nodes that do not lead from a variable, so for a model input this op
 * never computes the costly dx. W and b reach their gradients through the recurrence op.
 */
export function project(x: tf.Tensor3D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor3D {
  const [batch, steps, features] = x.shape;
  const gates = w.shape[1];
  const op = customOp(([xIn], save) => {
    const x2 = tf.reshape(xIn!, [batch * steps, features]);
    save([w]);
    return {
      value: tf.reshape(tf.add(tf.matMul(x2, w), b), [batch, steps, gates]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const wt = tf.transpose(saved[0]!);
        return tf.reshape(tf.matMul(tf.reshape(dy, [batch * steps, gates]), wt), [batch, steps, features]);
      },
    };
  });
  return op(x) as tf.Tensor3D;
}
