// The recurrent layers the genre models use, behind one factory so that the implementation
// (stock tfjs-layers today, a faster one for the wasm backend later) can change without
// touching the models.
import * as tf from '@tensorflow/tfjs';

export type RecurrentCell = 'lstm' | 'gru';

export interface RecurrentOptions {
  cell: RecurrentCell;
  /** Hidden size of one direction. */
  units: number;
  /** Runs a second layer over the reversed sequence; outputs are concatenated on the last axis. */
  bidirectional: boolean;
  /** true: [batch, T, units*(dirs)]; false: the last step only, [batch, units*(dirs)]. */
  returnSequences: boolean;
  name?: string;
}

/**
 * A recurrent layer usable in any tf.LayersModel. Weights use tfjs' own layout (LSTM: kernel
 * [F,4H], recurrentKernel [H,4H], bias [4H], gate order i,f,c,o), so they can be copied to and
 * from tf.layers.lstm / tf.layers.gru.
 */
export function recurrent(opts: RecurrentOptions): tf.layers.Layer {
  const base = { units: opts.units, returnSequences: opts.returnSequences };
  const make = (name?: string): tf.RNN =>
    opts.cell === 'lstm'
      ? tf.layers.lstm({ ...base, ...(name === undefined ? {} : { name }) })
      : tf.layers.gru({ ...base, ...(name === undefined ? {} : { name }) });
  if (!opts.bidirectional) return make(opts.name);
  return tf.layers.bidirectional({
    layer: make(),
    mergeMode: 'concat',
    ...(opts.name === undefined ? {} : { name: opts.name }),
  });
}
