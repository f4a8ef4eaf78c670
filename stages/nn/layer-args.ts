// Types and input unwrapping for our own tfjs-layers Layer subclasses (FastRecurrent, LayerNorm,
// the transformer's layers). tfjs hands build(), computeOutputShape() and call() a list when a
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
