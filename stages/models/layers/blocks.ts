// Pieces of network that several model files share, built with the same layer names and
// seeds as each model had written them out (saved models and seeded weights depend on both).
import * as tf from '../../nn/tf.js';
import { type RecurrentCell, recurrent } from '../../nn/recurrent.js';
import type { BuildOptions } from '../contract.js';

/**
 * train.layers recurrent layers (train.hidden units per direction, train.rnn's implementation),
 * each returning every step: [batch, L, F] -> [batch, L, hidden * directions]. Layer l is named
 * `${name}_${l + 1}` and seeded seed + 101 * l.
 */
export function recurrentStack(
  input: tf.SymbolicTensor,
  layer: { cell: RecurrentCell; bidirectional: boolean; name: string },
  { params, seed }: Pick<BuildOptions, 'params' | 'seed'>,
): tf.SymbolicTensor {
  let h = input;
  for (let l = 0; l < params.layers; l++) {
    h = recurrent({
      cell: layer.cell,
      units: params.hidden,
      bidirectional: layer.bidirectional,
      returnSequences: true,
      seed: seed + 101 * l,
      name: `${layer.name}_${l + 1}`,
      impl: params.rnn,
    }).apply(h) as tf.SymbolicTensor;
  }
  return h;
}

/**
 * The output of the models that pool over time: max or mean over the L steps, dropout
 * (train.dropout), Dense to the genre logits. [batch, L, H] -> [batch, G].
 */
export function poolOverTimeHead(input: tf.SymbolicTensor, pool: 'max' | 'mean', { shape, params }: Pick<BuildOptions, 'shape' | 'params'>): tf.SymbolicTensor {
  const pooling = pool === 'max' ? tf.layers.globalMaxPooling1d({ name: 'max_over_time' }) : tf.layers.globalAveragePooling1d({ name: 'mean_over_time' });
  let h = pooling.apply(input) as tf.SymbolicTensor;
  h = tf.layers.dropout({ rate: params.dropout, name: 'dropout' }).apply(h) as tf.SymbolicTensor;
  return tf.layers.dense({ units: shape.genres, name: 'fc' }).apply(h) as tf.SymbolicTensor;
}
