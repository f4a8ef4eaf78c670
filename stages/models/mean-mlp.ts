// `mean_mlp`: the baseline every sequence model must beat. Mean over time -> LayerNorm ->
// Dense(train.hidden, relu) -> dropout -> Dense. It ignores frame order entirely. The mean
// runs over all L steps, zero padding included; the LayerNorm after it removes the scale that
// padding puts on it (a movie with few frames has a smaller mean), so it needs no mask.
import * as tf from '../nn/tf.js';
import type { ModelFactory } from './contract.js';
import { LayerNorm } from './layers/layer-norm.js';
import { tfGenreModel } from './tf-model.js';

const meanMlp: ModelFactory = {
  kind: 'genre-model',
  name: 'mean_mlp',
  summary: 'baseline: mean over time -> LayerNorm -> Dense(relu) -> dropout -> Dense',
  build: (opts) =>
    tfGenreModel('mean_mlp', opts, (input, { shape, params }) => {
      let h = tf.layers.globalAveragePooling1d({ name: 'mean_over_time' }).apply(input) as tf.SymbolicTensor;
      h = new LayerNorm({ dims: 1, name: 'norm' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.dense({ units: params.hidden, activation: 'relu', name: 'hidden' }).apply(h) as tf.SymbolicTensor;
      h = tf.layers.dropout({ rate: params.dropout, name: 'dropout' }).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: shape.genres, name: 'fc' }).apply(h) as tf.SymbolicTensor;
    }),
};

export default meanMlp;
