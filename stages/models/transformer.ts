// `transformer`: a small temporal encoder. Per-frame LayerNorm -> Dense to train.hidden
// features -> learned position embedding -> train.layers pre-LN encoder blocks
// (train.heads heads, feed-forward 2x wide, train.dropout) -> mean over time -> dropout -> Dense.
// Attention lets any frame look at any other in one step, where an LSTM needs L steps.
import * as tf from '../nn/tf.js';
import { UserError } from '../../src/errors.js';
import type { ModelFactory } from './contract.js';
import { poolOverTimeHead } from './layers/blocks.js';
import { LayerNorm } from './layers/layer-norm.js';
import { PositionEmbedding, TransformerEncoderBlock } from './layers/transformer.js';
import { tfGenreModel } from './tf-model.js';

const transformer: ModelFactory = {
  kind: 'genre-model',
  name: 'transformer',
  summary: 'small temporal encoder: Dense -> position embedding -> pre-LN attention blocks -> mean over time -> Dense',
  validate(p) {
    if (!Number.isInteger(p.heads) || p.heads < 1 || p.hidden % p.heads !== 0) {
      throw new UserError(`train.heads (${p.heads}) must be a positive integer that divides train.hidden (${p.hidden})`, 'e.g. hidden 64 with heads 4');
    }
  },
  build: (opts) =>
    tfGenreModel('transformer', opts, (input, o) => {
      const { params } = o;
      let h = new LayerNorm({ dims: 1, name: 'frame_norm' }).apply(input) as tf.SymbolicTensor;
      h = tf.layers.dense({ units: params.hidden, name: 'project' }).apply(h) as tf.SymbolicTensor;
      h = new PositionEmbedding({ name: 'position' }).apply(h) as tf.SymbolicTensor;
      for (let l = 0; l < params.layers; l++) {
        h = new TransformerEncoderBlock({ heads: params.heads, dropout: params.dropout, name: `block_${l + 1}` }).apply(h) as tf.SymbolicTensor;
      }
      h = new LayerNorm({ dims: 1, name: 'final_norm' }).apply(h) as tf.SymbolicTensor;
      return poolOverTimeHead(h, 'mean', o);
    }),
};

export default transformer;
