// `bilstm_maxpool`: per-frame LayerNorm -> BiLSTM (train.hidden per direction, train.layers
// stacked) -> max over time -> dropout -> Dense. Max-pooling over every time step, instead of
// the reference's last step, lets a genre cue anywhere in the movie reach the output, and
// lets both directions see the whole movie.
import * as tf from '../nn/tf.js';
import type { ModelFactory } from './contract.js';
import { poolOverTimeHead, recurrentStack } from './layers/blocks.js';
import { LayerNorm } from './layers/layer-norm.js';
import { tfGenreModel } from './tf-model.js';

const bilstmMaxpool: ModelFactory = {
  kind: 'genre-model',
  name: 'bilstm_maxpool',
  summary: 'per-frame LayerNorm -> BiLSTM -> max over time -> dropout -> Dense',
  build: (opts) =>
    tfGenreModel('bilstm_maxpool', opts, (input, o) => {
      const frames = new LayerNorm({ dims: 1, name: 'frame_norm' }).apply(input) as tf.SymbolicTensor;
      const steps = recurrentStack(frames, { cell: 'lstm', bidirectional: true, name: 'bilstm' }, o);
      return poolOverTimeHead(steps, 'max', o);
    }),
};

export default bilstmMaxpool;
