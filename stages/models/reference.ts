// `reference`: the reference project's network, as it was (its Lstm.py):
//   LayerNorm over the whole [L, F] input (PyTorch LayerNorm([L, F]): statistics over all L*F
//   values of a movie, elementwise affine of shape [L, F], epsilon 1e-5)
//   -> LSTM (train.hidden units, train.layers stacked, bidirectional per train.bidirectional),
//      every time step returned
//   -> MaxPool1d(train.max_pooling) over the FEATURE axis ([B, L, H*dirs] -> [B, L, H*dirs/k])
//   -> the last time step -> Linear -> sigmoid.
// Its quirk is kept on purpose: at the last time step the backward direction has seen only
// the last frame (as PyTorch's out[:, -1, :] gives). Pooling after taking the last step is the
// same as pooling every step and then taking the last one, and cheaper.
import * as tf from '../nn/tf.js';
import { UserError } from '../../src/errors.js';
import type { ModelFactory } from './contract.js';
import { recurrentStack } from './layers/blocks.js';
import { LayerNorm } from './layers/layer-norm.js';
import { tfGenreModel } from './tf-model.js';

const reference: ModelFactory = {
  kind: 'genre-model',
  name: 'reference',
  summary: 'the reference project network: LayerNorm([L,F]) -> (bi)LSTM -> MaxPool1d over features -> last step -> Dense',
  validate(p) {
    const width = p.hidden * (p.bidirectional ? 2 : 1);
    if (!Number.isInteger(p.maxPooling) || p.maxPooling < 1 || p.maxPooling > width) {
      throw new UserError(
        `train.max_pooling must be an integer from 1 to the LSTM output width ${width}, got ${p.maxPooling}`,
        'the reference used max_pooling 4 with hidden 128 (bidirectional: 256 features)',
      );
    }
  },
  build: (opts) =>
    tfGenreModel('reference', opts, (input, o) => {
      const { shape, params } = o;
      const L = shape.length;
      let h = new LayerNorm({ dims: 2, epsilon: 1e-5, name: 'layer_norm' }).apply(input) as tf.SymbolicTensor;
      h = recurrentStack(h, { cell: 'lstm', bidirectional: params.bidirectional, name: 'lstm' }, o);
      const width = params.hidden * (params.bidirectional ? 2 : 1);
      // tfjs-layers has no Cropping1D: the last step is cut out as a 2-D crop of [L, width, 1].
      h = tf.layers.reshape({ targetShape: [L, width, 1], name: 'as_image' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.cropping2D({ cropping: [[L - 1, 0], [0, 0]], name: 'last_step' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.reshape({ targetShape: [width, 1], name: 'features_as_steps' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.maxPooling1d({ poolSize: params.maxPooling, strides: params.maxPooling, name: 'max_pool' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: shape.genres, name: 'fc' }).apply(h) as tf.SymbolicTensor;
    }),
};

export default reference;
