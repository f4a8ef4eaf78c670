// `bilstm_meanmax`: two views of the movie, concatenated. The sequence view is bilstm_maxpool's
// (per-frame LayerNorm -> BiLSTM, train.hidden per direction, train.layers stacked -> max over
// time); the mean view is the baseline's (mean over time -> LayerNorm -> Dense(train.hidden,
// relu)). Then dropout -> Dense. The mean view keeps what the baseline sees; the LSTM adds what
// the order of frames and a cue in one frame add.
//
// Built for train.rnn onnx (OnnxModelTrainer): the part before the LSTM gets its weight
// gradients only through the LSTM's input gradient, so the mean view reads the raw input with a
// LayerNorm of its own (not the frame LayerNorm's output), and nothing random sits before the
// LSTM (the one dropout is after the concatenation).
import * as tf from '../nn/tf.js';
import type { ModelFactory } from './contract.js';
import { recurrentStack } from './layers/blocks.js';
import { LayerNorm } from './layers/layer-norm.js';
import { tfGenreModel } from './tf-model.js';

const bilstmMeanmax: ModelFactory = {
  kind: 'genre-model',
  name: 'bilstm_meanmax',
  summary: 'concat[BiLSTM max over time, mean over time -> LayerNorm -> Dense(relu)] -> dropout -> Dense',
  build: (opts) =>
    tfGenreModel('bilstm_meanmax', opts, (input, o) => {
      const { shape, params } = o;
      const frames = new LayerNorm({ dims: 1, name: 'frame_norm' }).apply(input) as tf.SymbolicTensor;
      const steps = recurrentStack(frames, { cell: 'lstm', bidirectional: true, name: 'bilstm' }, o);
      const seq = tf.layers.globalMaxPooling1d({ name: 'max_over_time' }).apply(steps) as tf.SymbolicTensor;
      // The mean over all L steps, padding included: the LayerNorm after it removes the scale
      // that padding puts on it, as in mean_mlp.
      let mean = tf.layers.globalAveragePooling1d({ name: 'mean_over_time' }).apply(input) as tf.SymbolicTensor;
      mean = new LayerNorm({ dims: 1, name: 'mean_norm' }).apply(mean) as tf.SymbolicTensor;
      mean = tf.layers.dense({ units: params.hidden, activation: 'relu', name: 'mean_hidden' }).apply(mean) as tf.SymbolicTensor;
      let h = tf.layers.concatenate({ axis: -1, name: 'concat' }).apply([seq, mean]) as tf.SymbolicTensor;
      h = tf.layers.dropout({ rate: params.dropout, name: 'dropout' }).apply(h) as tf.SymbolicTensor;
      return tf.layers.dense({ units: shape.genres, name: 'fc' }).apply(h) as tf.SymbolicTensor;
    }),
};

export default bilstmMeanmax;
