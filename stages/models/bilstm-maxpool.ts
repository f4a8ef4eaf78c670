// `bilstm_maxpool`: per-frame LayerNorm -> BiLSTM (train.hidden per direction, train.layers
// stacked) -> max over time -> dropout -> Dense. Max-pooling over every time step, instead of
// the reference's last step, lets a genre cue anywhere in the movie reach the output, and
// lets both directions see the whole movie.
import * as tf from '@tensorflow/tfjs';
import { recurrent } from '../nn/recurrent.js';
import type { ModelFactory } from './api.js';
import { LayerNorm } from './layers/layer-norm.js';
import { tfGenreModel } from './tf-model.js';

const bilstmMaxpool: ModelFactory = {
  kind: 'genre-model',
  name: 'bilstm_maxpool',
  summary: 'per-frame LayerNorm -> BiLSTM -> max over time -> dropout -> Dense',
  build: (opts) =>
    tfGenreModel('bilstm_maxpool', opts, (input, { shape, params, seed }) => {
      let h = new LayerNorm({ dims: 1, name: 'frame_norm' }).apply(input) as tf.SymbolicTensor;
      for (let l = 0; l < params.layers; l++) {
        h = recurrent({
          cell: 'lstm',
          units: params.hidden,
          bidirectional: true,
          returnSequences: true,
          seed: seed + 101 * l,
          name: `bilstm_${l + 1}`,
          impl: params.rnn,
        }).apply(h) as tf.SymbolicTensor;
      }
      h = tf.layers.globalMaxPooling1d({ name: 'max_over_time' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.dropout({ rate: params.dropout, name: 'dropout' }).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: shape.genres, name: 'fc' }).apply(h) as tf.SymbolicTensor;
    }),
};

export default bilstmMaxpool;
