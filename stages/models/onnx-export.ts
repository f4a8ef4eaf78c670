// A genre model as an ONNX model (opset 17, graph built with the project's GraphBuilder,
// ../nn/rnn/onnx/graph.ts), so that ONNX Runtime, and any tool that reads ONNX, scores it without
// tfjs: input `features` float32 [batch, L, F], output `probabilities` float32 [batch, G].
//
// The graph is written layer by layer from the trained tfjs network, each layer as the standard
// operators that compute what its tfjs call() computes:
//
//   PipelineLayerNorm / LayerNormalization  LayerNormalization (axis -k, same epsilon)
//   FastRecurrent, LSTM, GRU, Bidirectional  LSTM / GRU per direction (gates reordered from
//                                            tfjs's i,f,c,o to ONNX's i,o,f,c; GRU z,r,h as is,
//                                            linear_before_reset 0 = Keras reset_after false;
//                                            the recurrence bias zero). The backward direction
//                                            runs a forward LSTM over the time-reversed input
//                                            and reverses its outputs back, as tfjs does.
//   Dense                                    MatMul + Add (+ its activation)
//   Reshape, Flatten, Cropping2D             Reshape, Flatten, Slice
//   MaxPooling1D                             MaxPool over a transposed [B, C, T]
//   GlobalMax/AveragePooling1D               ReduceMax / ReduceMean over time
//   Concatenate                              Concat (same axis)
//   Dropout                                  nothing (inference)
//   PositionEmbedding, TransformerEncoderBlock  Add; LayerNormalization, MatMul, Softmax, ...
//
// A layer of any other class is refused with its name: the export never guesses.
import type * as tf from '../nn/tf.js';
import { GraphBuilder } from '../nn/rnn/onnx/graph.js';

/** The ONNX opset of the exported model (docs/TRAINING.md names it). */
export const ONNX_OPSET = 17;
export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT = 'probabilities';
const BATCH = 'batch';

interface Weight {
  shape: number[];
  data: Float32Array;
}

type Layer = tf.layers.Layer;
type Config = tf.serialization.ConfigDict;

function weightList(layer: Layer): Weight[] {
  return layer.weights.map((w) => ({ shape: [...w.shape] as number[], data: w.read().dataSync() as Float32Array }));
}

/** The layer's weights by name relative to the layer ("forward/kernel", "query/kernel"). */
function weightMap(layer: Layer): Map<string, Weight> {
  const out = new Map<string, Weight>();
  for (const w of layer.weights) {
    const rel = w.originalName.startsWith(`${layer.name}/`) ? w.originalName.slice(layer.name.length + 1) : w.originalName;
    out.set(rel, { shape: [...w.shape] as number[], data: w.read().dataSync() as Float32Array });
  }
  return out;
}

function need(m: Map<string, Weight>, name: string, layer: Layer): Weight {
  const w = m.get(name);
  if (w === undefined) throw new Error(`ONNX export: layer '${layer.name}' has no weight ${name} (has ${[...m.keys()].join(', ')})`);
  return w;
}

class Exporter {
  readonly g = new GraphBuilder('genre_model');

  const(w: Weight): string {
    return this.g.float(w.data, w.shape);
  }

  dense(x: string, kernel: Weight, bias: Weight | undefined): string {
    const y = this.g.one('MatMul', [x, this.const(kernel)]);
    return bias === undefined ? y : this.g.one('Add', [y, this.const(bias)]);
  }

  activation(x: string, name: unknown, layer: Layer): string {
    switch (name ?? 'linear') {
      case 'linear':
        return x;
      case 'sigmoid':
        return this.g.one('Sigmoid', [x]);
      case 'relu':
        return this.g.one('Relu', [x]);
      case 'tanh':
        return this.g.one('Tanh', [x]);
      case 'softmax':
        return this.g.one('Softmax', [x], { axis: -1 });
      default:
        throw new Error(`ONNX export: layer '${layer.name}': activation ${String(name)} is not supported`);
    }
  }

  layerNorm(x: string, gamma: Weight, beta: Weight, dims: number, epsilon: number): string {
    return this.g.one('LayerNormalization', [x, this.const(gamma), this.const(beta)], { axis: -dims, epsilon: { float: epsilon } });
  }

  /** Reverses axis 0 (time, of a time-major [T, ...] value). */
  reverseTime(x: string, steps: number): string {
    return this.g.one('Slice', [x, this.g.int64([steps - 1]), this.g.int64([-steps - 1]), this.g.int64([0]), this.g.int64([-1])]);
  }

  /**
   * A (bidirectional) LSTM or GRU over x [B, T, F] with tfjs-layout weights per direction
   * ([kernel, recurrent kernel, bias]); [B, T, dirs*H] or, without sequences, [B, dirs*H].
   */
  recurrent(x: string, cell: 'lstm' | 'gru', units: number, steps: number, dirs: Weight[][], returnSequences: boolean): string {
    const gates = cell === 'lstm' ? 4 : 3;
    // ONNX gate order from tfjs's: LSTM i,o,f,c from i,f,c,o; GRU z,r,h from z,r,h.
    const order = cell === 'lstm' ? [0, 3, 1, 2] : [0, 1, 2];
    const H = units;
    const xt = this.g.one('Transpose', [x], { perm: [1, 0, 2] });
    const seqs: string[] = [];
    const lasts: string[] = [];
    dirs.forEach(([kernel, recurrentKernel, bias], d) => {
      const F = kernel!.shape[0]!;
      const toOnnx = (w: Weight, rows: number): Weight => {
        // tfjs [rows, gates*H] -> ONNX [1, gates*H, rows], gate blocks reordered.
        const out = new Float32Array(gates * H * rows);
        for (let gi = 0; gi < gates; gi++) {
          const tg = order[gi]!;
          for (let j = 0; j < H; j++) {
            for (let r = 0; r < rows; r++) out[(gi * H + j) * rows + r] = w.data[r * gates * H + tg * H + j]!;
          }
        }
        return { shape: [1, gates * H, rows], data: out };
      };
      const b = new Float32Array(2 * gates * H);
      for (let gi = 0; gi < gates; gi++) b.set(bias!.data.subarray(order[gi]! * H, (order[gi]! + 1) * H), gi * H);
      const input = d === 1 ? this.reverseTime(xt, steps) : xt;
      const [y, yh] = this.g.op(
        cell === 'lstm' ? 'LSTM' : 'GRU',
        [input, this.const(toOnnx(kernel!, F)), this.const(toOnnx(recurrentKernel!, H)), this.const({ shape: [1, 2 * gates * H], data: b })],
        { hidden_size: H },
        2,
      ) as [string, string];
      const seq = this.g.one('Squeeze', [y, this.g.int64([1])]); // [T, B, H]
      seqs.push(d === 1 ? this.reverseTime(seq, steps) : seq);
      lasts.push(this.g.one('Squeeze', [yh, this.g.int64([0])])); // [B, H]
    });
    if (!returnSequences) return lasts.length === 1 ? lasts[0]! : this.g.one('Concat', lasts, { axis: 1 });
    const seq = seqs.length === 1 ? seqs[0]! : this.g.one('Concat', seqs, { axis: 2 });
    return this.g.one('Transpose', [seq], { perm: [1, 0, 2] });
  }

  /** x + Dropout(MHSA(LN(x))), then y + Dropout(FFN(LN(y))), as TransformerEncoderBlock.call. */
  encoderBlock(x: string, layer: Layer, steps: number, width: number): string {
    const w = weightMap(layer);
    const c = layer.getConfig();
    const heads = c['heads'] as number;
    const dk = width / heads;
    const W = (n: string): Weight => need(w, n, layer);
    const g = this.g;
    const split = (t: string): string => g.one('Transpose', [g.one('Reshape', [t, g.int64([0, steps, heads, dk])])], { perm: [0, 2, 1, 3] });
    const a = this.layerNorm(x, W('ln1/gamma'), W('ln1/beta'), 1, 1e-5);
    const q = split(this.dense(a, W('query/kernel'), W('query/bias')));
    const k = g.one('Transpose', [g.one('Reshape', [this.dense(a, W('key/kernel'), W('key/bias')), g.int64([0, steps, heads, dk])])], { perm: [0, 2, 3, 1] });
    const v = split(this.dense(a, W('value/kernel'), W('value/bias')));
    const att = g.one('Softmax', [g.one('Mul', [g.one('MatMul', [q, k]), g.float([1 / Math.sqrt(dk)])])], { axis: -1 });
    const ctx = g.one('Reshape', [g.one('Transpose', [g.one('MatMul', [att, v])], { perm: [0, 2, 1, 3] }), g.int64([0, steps, width])]);
    const y = g.one('Add', [x, this.dense(ctx, W('output/kernel'), W('output/bias'))]);
    const f = this.layerNorm(y, W('ln2/gamma'), W('ln2/beta'), 1, 1e-5);
    const f1 = g.one('Relu', [this.dense(f, W('ff1/kernel'), W('ff1/bias'))]);
    return g.one('Add', [y, this.dense(f1, W('ff2/kernel'), W('ff2/bias'))]);
  }

  layer(layer: Layer, x: string): string {
    const cls = layer.getClassName();
    const c = layer.getConfig() as Config;
    const inShape = (layer.input as tf.SymbolicTensor).shape;
    const g = this.g;
    switch (cls) {
      case 'PipelineLayerNorm': {
        const [gamma, beta] = weightList(layer) as [Weight, Weight];
        return this.layerNorm(x, gamma, beta, c['dims'] as number, c['epsilon'] as number);
      }
      case 'LayerNormalization': {
        const [gamma, beta] = weightList(layer) as [Weight, Weight];
        const rank = inShape.length;
        const axes = (Array.isArray(c['axis']) ? (c['axis'] as number[]) : [c['axis'] as number]).map((a) => (a < 0 ? a + rank : a)).sort();
        const trailing = axes.every((a, i) => a === rank - axes.length + i);
        if (!trailing || c['center'] === false || c['scale'] === false) {
          throw new Error(`ONNX export: layer '${layer.name}': LayerNormalization over axes [${axes}] without the trailing-axes affine form is not supported`);
        }
        return this.layerNorm(x, gamma, beta, axes.length, c['epsilon'] as number);
      }
      case 'FastRecurrent': {
        const ws = weightList(layer);
        const dirs = c['bidirectional'] === true ? [ws.slice(0, 3), ws.slice(3, 6)] : [ws.slice(0, 3)];
        return this.recurrent(x, c['cell'] as 'lstm' | 'gru', c['units'] as number, inShape[1] as number, dirs, c['returnSequences'] === true);
      }
      case 'LSTM':
      case 'GRU':
      case 'Bidirectional': {
        const inner = (cls === 'Bidirectional' ? (c['layer'] as Config) : { className: cls, config: c }) as { className: string; config: Config };
        const ic = inner.config;
        if (cls === 'Bidirectional' && c['mergeMode'] !== 'concat') throw new Error(`ONNX export: layer '${layer.name}': merge_mode ${String(c['mergeMode'])} is not supported`);
        if (ic['recurrentActivation'] !== 'sigmoid' || ic['activation'] !== 'tanh' || ic['useBias'] === false || ic['resetAfter'] === true || ic['goBackwards'] === true) {
          throw new Error(`ONNX export: layer '${layer.name}': only sigmoid-gated, tanh, biased ${inner.className} layers are supported`);
        }
        const ws = weightList(layer);
        const dirs = cls === 'Bidirectional' ? [ws.slice(0, 3), ws.slice(3, 6)] : [ws.slice(0, 3)];
        const cell = inner.className === 'LSTM' ? 'lstm' : 'gru';
        return this.recurrent(x, cell, ic['units'] as number, inShape[1] as number, dirs, ic['returnSequences'] === true);
      }
      case 'Dense': {
        const [kernel, bias] = weightList(layer) as [Weight, Weight | undefined];
        return this.activation(this.dense(x, kernel, c['useBias'] === false ? undefined : bias), c['activation'], layer);
      }
      case 'Activation':
        return this.activation(x, c['activation'], layer);
      case 'Dropout':
        return x;
      case 'Reshape':
        return g.one('Reshape', [x, g.int64([0, ...(c['targetShape'] as number[])])]);
      case 'Flatten':
        return g.one('Flatten', [x], { axis: 1 });
      case 'Cropping2D': {
        if (c['dataFormat'] !== undefined && c['dataFormat'] !== 'channelsLast' && c['dataFormat'] !== 'channels_last') throw new Error(`ONNX export: layer '${layer.name}': channels_first is not supported`);
        const [[top, bottom], [left, right]] = c['cropping'] as [[number, number], [number, number]];
        const [, h, w] = inShape as [null, number, number, number];
        return g.one('Slice', [x, g.int64([top, left]), g.int64([h - bottom, w - right]), g.int64([1, 2])]);
      }
      case 'MaxPooling1D': {
        if (c['padding'] !== 'valid') throw new Error(`ONNX export: layer '${layer.name}': padding ${String(c['padding'])} is not supported`);
        const pool = c['poolSize'] as number[];
        const strides = (c['strides'] as number[] | null) ?? pool;
        const t = g.one('Transpose', [x], { perm: [0, 2, 1] });
        const p = g.one('MaxPool', [t], { kernel_shape: pool, strides });
        return g.one('Transpose', [p], { perm: [0, 2, 1] });
      }
      case 'GlobalMaxPooling1D':
        return g.one('ReduceMax', [x], { axes: [1], keepdims: 0 });
      case 'GlobalAveragePooling1D':
        return g.one('ReduceMean', [x], { axes: [1], keepdims: 0 });
      case 'PositionEmbedding': {
        const [table] = weightList(layer) as [Weight];
        return g.one('Add', [x, this.const(table)]);
      }
      case 'TransformerEncoderBlock':
        return this.encoderBlock(x, layer, inShape[1] as number, inShape[2] as number);
      default:
        throw new Error(`ONNX export: layer '${layer.name}' of class ${cls} has no ONNX form here`);
    }
  }
}

/**
 * The model (one input [batch, L, F], one output [batch, G], single-input layers but
 * Concatenate) as a serialised ONNX ModelProto; see the top of this file.
 */
export function exportOnnx(model: tf.LayersModel): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new Error(`ONNX export: ${model.name} needs one input and one output`);
  const ex = new Exporter();
  const inShape = model.inputs[0]!.shape;
  const values = new Map<string, string>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') {
      values.set(layer.name, ex.g.input(ONNX_INPUT, [BATCH, ...(inShape.slice(1) as number[])]));
      continue;
    }
    const input = layer.input;
    const value = (t: tf.SymbolicTensor): string => {
      const v = values.get(t.sourceLayer.name);
      if (v === undefined) throw new Error(`ONNX export: layer '${layer.name}' comes before its input '${t.sourceLayer.name}'`);
      return v;
    };
    if (Array.isArray(input)) {
      // A merge layer is the only kind with several inputs; Concatenate the only one handled.
      if (layer.getClassName() !== 'Concatenate') throw new Error(`ONNX export: layer '${layer.name}' has several inputs`);
      values.set(layer.name, ex.g.one('Concat', input.map(value), { axis: layer.getConfig()['axis'] as number }));
      continue;
    }
    values.set(layer.name, ex.layer(layer, value(input)));
  }
  const out = model.outputs[0]!;
  const last = values.get(out.sourceLayer.name)!;
  ex.g.output(last, ONNX_OUTPUT, [BATCH, ...(out.shape.slice(1) as number[])]);
  return ex.g.encode(model.name);
}
