// `gru`: per-frame LayerNorm -> GRU (bidirectional per train.bidirectional, train.layers
// stacked) -> max over time -> dropout -> Dense. The GRU has three gates to the LSTM's four:
// about 3/4 of the recurrent cost, for a comparison at equal width.
import * as tf from '../nn/tf.js';
import type { ModelFactory } from './contract.js';
import { poolOverTimeHead, recurrentStack } from './layers/blocks.js';
import { LayerNorm } from './layers/layer-norm.js';
import { tfGenreModel } from './tf-model.js';

const gru: ModelFactory = {
  kind: 'genre-model',
  name: 'gru',
  summary: 'per-frame LayerNorm -> (bi)GRU -> max over time -> dropout -> Dense',
  build: (opts) =>
    tfGenreModel('gru', opts, (input, o) => {
      const frames = new LayerNorm({ dims: 1, name: 'frame_norm' }).apply(input) as tf.SymbolicTensor;
      const steps = recurrentStack(frames, { cell: 'gru', bidirectional: o.params.bidirectional, name: 'gru' }, o);
      return poolOverTimeHead(steps, 'max', o);
    }),
};

export default gru;
