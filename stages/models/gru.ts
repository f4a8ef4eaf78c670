// `gru`: per-frame LayerNorm -> GRU (bidirectional per train.bidirectional, train.layers
// stacked) -> max over time -> dropout -> Dense. The GRU has three gates to the LSTM's four:
// about 3/4 of the recurrent cost, for a comparison at equal width.
import * as tf from '@tensorflow/tfjs';
import { recurrent } from '../nn/recurrent.js';
import type { ModelFactory } from './api.js';
import { LayerNorm } from './layers/layer-norm.js';
import { tfGenreModel } from './tf-model.js';

const gru: ModelFactory = {
  kind: 'genre-model',
  name: 'gru',
  summary: 'per-frame LayerNorm -> (bi)GRU -> max over time -> dropout -> Dense',
  build: (opts) =>
    tfGenreModel('gru', opts, (input, { shape, params, seed }) => {
      let h = new LayerNorm({ dims: 1, name: 'frame_norm' }).apply(input) as tf.SymbolicTensor;
      for (let l = 0; l < params.layers; l++) {
        h = recurrent({
          cell: 'gru',
          units: params.hidden,
          bidirectional: params.bidirectional,
          returnSequences: true,
          seed: seed + 101 * l,
          name: `gru_${l + 1}`,
          impl: params.rnn,
        }).apply(h) as tf.SymbolicTensor;
      }
      h = tf.layers.globalMaxPooling1d({ name: 'max_over_time' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.dropout({ rate: params.dropout, name: 'dropout' }).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: shape.genres, name: 'fc' }).apply(h) as tf.SymbolicTensor;
    }),
};

export default gru;
