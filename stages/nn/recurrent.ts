// The recurrent layers the genre models use, behind one factory so that models need not know
// which implementation runs. The default is FastRecurrent (stages/nn/rnn/layer.ts): same
// weights and maths as tfjs-layers' LSTM/GRU with sigmoid gates, several times faster to train
// on the wasm backend (see docs/RNN.md). `impl: 'stock'` builds the tfjs-layers equivalent.
import * as tf from './tf.js';
import { Orthogonal } from './orthogonal.js';
import { FastRecurrent, type RecurrentCell } from './rnn/layer.js';

export { FastRecurrent } from './rnn/layer.js';
export type { RecurrentCell } from './rnn/layer.js';

export interface RecurrentOptions {
  cell: RecurrentCell;
  /** Hidden size of one direction. */
  units: number;
  /** Runs a second layer over the reversed sequence; outputs are concatenated on the last axis. */
  bidirectional: boolean;
  /** true: [batch, T, units*(dirs)]; false: the last step only, [batch, units*(dirs)]. */
  returnSequences: boolean;
  name?: string;
  /** Seed of the weight initialisers; without it they draw from Math.random. */
  seed?: number;
  /** LSTM only: forget-gate bias initialised to 1 (Keras' unit_forget_bias). Default false. */
  unitForgetBias?: boolean;
  /**
   * 'fast' (default) or 'stock' (tf.layers.lstm/gru, for comparison). 'onnx' builds the same
   * FastRecurrent layer as 'fast': ONNX Runtime comes in only for training steps
   * (OnnxModelTrainer, rnn/onnx/model-step.ts), the layer itself is an ordinary tfjs layer.
   */
  impl?: 'fast' | 'stock' | 'onnx';
}

/**
 * A recurrent layer usable in any tf.LayersModel (sequential or functional), trainable with
 * fit / optimizer.minimize, saved and loaded with the model once this module is imported.
 * Weights use tfjs' own layout (LSTM: kernel [F,4H], recurrentKernel [H,4H], bias [4H], gate
 * order i,f,c,o; GRU: [F,3H], [H,3H], [3H], gates z,r,h; bidirectional: forward weights then
 * backward ones), so they can be copied to and from tf.layers.lstm / tf.layers.gru built with
 * recurrentActivation 'sigmoid'. Gates use the sigmoid, as PyTorch and Keras 2.3+ do
 * (tfjs-layers' own default is hardSigmoid).
 */
export function recurrent(opts: RecurrentOptions): tf.layers.Layer {
  const named = opts.name === undefined ? {} : { name: opts.name };
  if ((opts.impl ?? 'fast') !== 'stock') {
    return new FastRecurrent({
      cell: opts.cell,
      units: opts.units,
      bidirectional: opts.bidirectional,
      returnSequences: opts.returnSequences,
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      ...(opts.unitForgetBias === undefined ? {} : { unitForgetBias: opts.unitForgetBias }),
      ...named,
    });
  }
  return stockRecurrent(opts);
}

function stockRecurrent(opts: RecurrentOptions): tf.layers.Layer {
  const seedAt = (k: number): { seed?: number } => (opts.seed === undefined ? {} : { seed: opts.seed + k });
  const make = (d: number, name?: string): tf.RNN => {
    const args = {
      units: opts.units,
      returnSequences: opts.returnSequences,
      recurrentActivation: 'sigmoid' as const,
      kernelInitializer: tf.initializers.glorotNormal(seedAt(3 * d)),
      // The same initialiser as FastRecurrent's, so that one seed gives both the same weights.
      recurrentInitializer: new Orthogonal(seedAt(3 * d + 1)),
      ...(name === undefined ? {} : { name }),
    };
    return opts.cell === 'lstm'
      ? tf.layers.lstm({ ...args, unitForgetBias: opts.unitForgetBias ?? false })
      : tf.layers.gru(args);
  };
  if (!opts.bidirectional) return make(0, opts.name);
  return tf.layers.bidirectional({ layer: make(0), mergeMode: 'concat', ...(opts.name === undefined ? {} : { name: opts.name }) });
}
