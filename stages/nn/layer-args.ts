// Types, input unwrapping and an output override for our own tfjs-layers Layer subclasses
// (FastRecurrent, LayerNorm, the transformer's layers). tfjs hands build(), computeOutputShape() and call() a list when a
// layer is applied to several inputs and a single shape or tensor otherwise; ours take one.
import type * as tf from './tf.js';

/** A Layer's constructor arguments (name, trainable, ...). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
/** What Layer.addWeight returns. */
export type LayerVariable = ReturnType<tf.layers.Layer['addWeight']>;
/** Layer.call's second argument ({training: true} while training). */
export type LayerKwargs = Parameters<tf.layers.Layer['call']>[1];

/** The shape of the layer's one input. */
export function singleShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
}

/** The layer's one input tensor. */
export function singleInput(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/**
 * The output a layer's call() returns, its input ignored, while `with` runs: how a training step
 * that computes a layer elsewhere (ONNX Runtime, onnx/model-step.ts) puts that result into the
 * rest of the tfjs model. Used by FastRecurrent and LayerNorm.
 */
export class OutputOverride {
  #value: tf.Tensor | null = null;

  /** The output to return, or null to compute it. */
  get value(): tf.Tensor | null {
    return this.#value;
  }

  with<T>(output: tf.Tensor, fn: () => T): T {
    this.#value = output;
    try {
      return fn();
    } finally {
      this.#value = null;
    }
  }
}
