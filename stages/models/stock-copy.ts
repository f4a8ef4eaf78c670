// The saved form of a genre model that stock @tensorflow/tfjs (and converters that read the
// tfjs layers format) can load without this project's code: the same network, with each of the
// project's own layers replaced by its stock tfjs-layers equivalent, and the same weight values.
//
//   FastRecurrent (cell lstm|gru)   -> LSTM | GRU (recurrent_activation sigmoid; GRU with
//                                      reset_after false), wrapped in Bidirectional (merge_mode
//                                      concat) when bidirectional. Weight layout is tfjs's own
//                                      in both (kernel [F,G*H], recurrent_kernel [H,G*H],
//                                      bias [G*H], forward direction first), so they copy as is.
//   PipelineLayerNorm (dims k)      -> LayerNormalization over the last k axes, same epsilon
//                                      (gamma and beta of the normalised shape, as ours).
//   PipelineOrthogonal initialiser  -> Zeros (see below)
//   PositionEmbedding               -> Reshape to [1, 1, T*D], DepthwiseConv2D 1x1 with kernel 1
//                                      and the table as its bias (x*1 + p: exact), Reshape back
//   TransformerEncoderBlock         -> LayerNormalization, per head Dense q/k/v (q's columns
//                                      scaled by 1/sqrt(dk)), Dot, Softmax, Dot, Concatenate,
//                                      Dense, Add, LayerNormalization, Dense relu, Dense, Add
//                                      (tfjs-layers has no MultiHeadAttention, and its Dot takes
//                                      3-D tensors only, hence one branch per head)
//
// Initialisers of the copy are Zeros for recurrent layers: a saved model's initialisers only
// run when a loader builds the network, before its trained weights replace them, and tfjs' own
// Orthogonal takes seconds per recurrent kernel (and warns) on the cpu backend that plain tfjs
// uses in Node.
//
// For the recurrent models and mean_mlp the copy has the project network's weights in the same
// order and shapes (the project's loader reads them back into its own layers); the transformer's
// copy splits and rescales some, so its model folder also keeps the project's own format
// (PROJECT_TOPOLOGY, PROJECT_WEIGHTS) for the project's loader. ONNX (onnx-export.ts) covers
// every model too.
import * as tf from '../nn/tf.js';
import type { ModelFiles } from './contract.js';
import { modelToFiles } from './io.js';

type Dict = tf.serialization.ConfigDict;
type Sym = tf.SymbolicTensor;

/** Layer class names this module converts to stock classes. */
const PROJECT_LAYERS = new Set(['FastRecurrent', 'PipelineLayerNorm', 'PositionEmbedding', 'TransformerEncoderBlock']);
/** Of those, the ones whose stock form has other weights than ours (split or rescaled). */
const RESHAPED_WEIGHTS = new Set(['PositionEmbedding', 'TransformerEncoderBlock']);

/** The project's own topology and weights, beside a copy whose weights differ (the transformer's). */
export const PROJECT_TOPOLOGY = 'pipeline-model.json';
export const PROJECT_WEIGHTS = 'pipeline-weights.bin';

/** Layer classes of the model that neither are stock nor have a stock equivalent here; empty when stockCopy can convert it. */
export function unconvertibleLayers(model: tf.LayersModel): string[] {
  const names = new Set<string>();
  for (const l of model.layers) {
    const cls = l.getClassName();
    if (!PROJECT_LAYERS.has(cls) && !STOCK_LAYER_CLASSES.has(cls)) names.add(cls);
  }
  return [...names].sort();
}

// The stock layer classes our models use, by their serialised names. A layer of any other
// class (a stock one no model uses yet included) makes the model unconvertible, so that a copy
// is never written from a layer this module has not been checked against.
const STOCK_LAYER_CLASSES = new Set([
  'InputLayer',
  'Dense',
  'Dropout',
  'Activation',
  'Reshape',
  'Flatten',
  'Cropping2D',
  'MaxPooling1D',
  'GlobalMaxPooling1D',
  'GlobalAveragePooling1D',
  'Concatenate',
  'LSTM',
  'GRU',
  'Bidirectional',
  'LayerNormalization',
]);

const apply = (l: tf.layers.Layer, x: Sym | Sym[]): Sym => l.apply(x) as Sym;

function weights(layer: tf.layers.Layer): tf.Tensor[] {
  return layer.getWeights();
}

function layerNorm(x: Sym, name: string, dims: number, epsilon: number, w: tf.Tensor[]): Sym {
  const rank = x.shape.length;
  const axis = dims === 1 ? -1 : Array.from({ length: dims }, (_, i) => rank - dims + i);
  const l = tf.layers.layerNormalization({ axis, epsilon, name });
  const y = apply(l, x);
  l.setWeights(w);
  return y;
}

/** setWeights with values computed for it (the temporaries are freed; the layer keeps copies of the data). */
function setComputed(l: tf.layers.Layer, make: () => tf.Tensor[]): void {
  tf.tidy(() => l.setWeights(make()));
}

function recurrent(x: Sym, layer: tf.layers.Layer): Sym {
  const c = layer.getConfig();
  const cell = c['cell'];
  if (cell !== 'lstm' && cell !== 'gru') throw new Error(`stock copy: FastRecurrent '${layer.name}' has cell ${String(cell)}`);
  const bidirectional = c['bidirectional'] === true;
  const args = {
    units: c['units'] as number,
    returnSequences: c['returnSequences'] === true,
    activation: 'tanh' as const,
    recurrentActivation: 'sigmoid' as const,
    kernelInitializer: 'zeros' as const,
    recurrentInitializer: 'zeros' as const,
    biasInitializer: 'zeros' as const,
    name: bidirectional ? `${layer.name}_layer` : layer.name,
  };
  const inner = cell === 'lstm' ? tf.layers.lstm({ ...args, unitForgetBias: c['unitForgetBias'] === true }) : tf.layers.gru(args); // tfjs's GRU is Keras' reset_after false
  const l = bidirectional ? tf.layers.bidirectional({ layer: inner, mergeMode: 'concat', name: layer.name }) : inner;
  const y = apply(l, x);
  l.setWeights(weights(layer));
  return y;
}

function positionEmbedding(x: Sym, layer: tf.layers.Layer): Sym {
  const [, T, D] = x.shape as [null, number, number];
  const [table] = weights(layer) as [tf.Tensor];
  const flat = apply(tf.layers.reshape({ targetShape: [1, 1, T * D], name: `${layer.name}_flat` }), x);
  const add = tf.layers.depthwiseConv2d({ kernelSize: 1, depthMultiplier: 1, useBias: true, name: layer.name });
  const y = apply(add, flat);
  setComputed(add, () => [tf.ones([1, 1, T * D, 1]), tf.reshape(table, [T * D])]);
  return apply(tf.layers.reshape({ targetShape: [T, D], name: `${layer.name}_steps` }), y);
}

function encoderBlock(x: Sym, layer: tf.layers.Layer): Sym {
  const n = layer.name;
  const c = layer.getConfig();
  const heads = c['heads'] as number;
  const [, , D] = x.shape as [null, number, number];
  const dk = D / heads;
  const w = new Map(layer.weights.map((v) => [v.originalName.slice(n.length + 1), v.read()]));
  const W = (k: string): tf.Tensor => {
    const t = w.get(k);
    if (t === undefined) throw new Error(`stock copy: block '${n}' has no weight ${k}`);
    return t;
  };
  const dense = (input: Sym, name: string, units: number, make: () => tf.Tensor[], activation?: 'relu'): Sym => {
    const l = tf.layers.dense({ units, name, ...(activation === undefined ? {} : { activation }) });
    const y = apply(l, input);
    setComputed(l, make);
    return y;
  };
  const cols = (t: tf.Tensor, h: number): tf.Tensor => (t.rank === 2 ? tf.slice(t, [0, h * dk], [-1, dk]) : tf.slice(t, [h * dk], [dk]));
  const scale = 1 / Math.sqrt(dk);
  const a = layerNorm(x, `${n}_ln1`, 1, 1e-5, [W('ln1/gamma'), W('ln1/beta')]);
  const ctx: Sym[] = [];
  for (let h = 0; h < heads; h++) {
    const q = dense(a, `${n}_query_${h + 1}`, dk, () => [tf.mul(cols(W('query/kernel'), h), scale), tf.mul(cols(W('query/bias'), h), scale)]);
    const k = dense(a, `${n}_key_${h + 1}`, dk, () => [cols(W('key/kernel'), h), cols(W('key/bias'), h)]);
    const v = dense(a, `${n}_value_${h + 1}`, dk, () => [cols(W('value/kernel'), h), cols(W('value/bias'), h)]);
    const scores = apply(tf.layers.dot({ axes: [2, 2], name: `${n}_scores_${h + 1}` }), [q, k]);
    const att = apply(tf.layers.softmax({ axis: -1, name: `${n}_attention_${h + 1}` }), scores);
    ctx.push(apply(tf.layers.dot({ axes: [2, 1], name: `${n}_context_${h + 1}` }), [att, v]));
  }
  const joined = ctx.length === 1 ? ctx[0]! : apply(tf.layers.concatenate({ axis: -1, name: `${n}_heads` }), ctx);
  const o = dense(joined, `${n}_output`, D, () => [W('output/kernel'), W('output/bias')]);
  const y = apply(tf.layers.add({ name: `${n}_residual_1` }), [x, o]);
  const f = layerNorm(y, `${n}_ln2`, 1, 1e-5, [W('ln2/gamma'), W('ln2/beta')]);
  const ff = W('ff1/kernel').shape[1]!;
  const f1 = dense(f, `${n}_ff1`, ff, () => [W('ff1/kernel'), W('ff1/bias')], 'relu');
  const f2 = dense(f1, `${n}_ff2`, D, () => [W('ff2/kernel'), W('ff2/bias')]);
  return apply(tf.layers.add({ name: `${n}_residual_2` }), [y, f2]);
}

/** A stock layer of the network, recreated from its config with its weights. */
function sameLayer(x: Sym | Sym[], layer: tf.layers.Layer): Sym {
  // fromConfig, not the constructor: a wrapper (Bidirectional) deserialises its inner layer there.
  type Cls = { fromConfig(cls: Cls, config: Dict): tf.layers.Layer };
  const cls = layer.constructor as unknown as Cls;
  const l = cls.fromConfig(cls, layer.getConfig());
  const y = apply(l, x);
  l.setWeights(weights(layer));
  return y;
}

/** The network rebuilt from stock tfjs-layers layers only, with the same weight values. */
export function stockNetwork(model: tf.LayersModel): tf.LayersModel {
  const bad = unconvertibleLayers(model);
  if (bad.length > 0) throw new Error(`stock copy of ${model.name}: no stock equivalent for ${bad.join(', ')}`);
  {
    const values = new Map<string, Sym>();
    let input: Sym | undefined;
    for (const layer of model.layers) {
      const cls = layer.getClassName();
      if (cls === 'InputLayer') {
        const shape = (layer.output as Sym).shape.slice(1) as number[];
        input = tf.input({ shape, name: layer.name });
        values.set(layer.name, input);
        continue;
      }
      const from = layer.input;
      const value = (t: Sym): Sym => {
        const v = values.get(t.sourceLayer.name);
        if (v === undefined) throw new Error(`stock copy: layer '${layer.name}' comes before its input`);
        return v;
      };
      // A merge layer (Concatenate, a stock class) is the only one with several inputs.
      if (Array.isArray(from)) {
        if (cls !== 'Concatenate') throw new Error(`stock copy: layer '${layer.name}' has several inputs`);
        values.set(layer.name, sameLayer(from.map(value), layer));
        continue;
      }
      const x = value(from);
      let y: Sym;
      if (cls === 'PipelineLayerNorm') {
        const c = layer.getConfig();
        y = layerNorm(x, layer.name, c['dims'] as number, c['epsilon'] as number, weights(layer));
      } else if (cls === 'FastRecurrent') y = recurrent(x, layer);
      else if (cls === 'PositionEmbedding') y = positionEmbedding(x, layer);
      else if (cls === 'TransformerEncoderBlock') y = encoderBlock(x, layer);
      else y = sameLayer(x, layer);
      values.set(layer.name, y);
    }
    const out = values.get(model.outputs[0]!.sourceLayer.name)!;
    return tf.model({ inputs: input!, outputs: out, name: model.name });
  }
}

/** Whether the stock copy's weights are the network's own, in order (else it needs PROJECT_TOPOLOGY beside it). */
export function sameWeights(model: tf.LayersModel): boolean {
  return !model.layers.some((l) => RESHAPED_WEIGHTS.has(l.getClassName()));
}

/**
 * Files of a stock-tfjs copy of the model with the same weight values: {"model.json",
 * "weights.bin"}, plus the project's own format under PROJECT_TOPOLOGY / PROJECT_WEIGHTS when
 * the copy's weights are not the network's own (sameWeights); null when a layer has no stock
 * equivalent (unconvertibleLayers names them).
 */
export async function stockCopy(model: tf.LayersModel): Promise<ModelFiles | null> {
  if (unconvertibleLayers(model).length > 0) return null;
  const stock = stockNetwork(model);
  try {
    const files = await modelToFiles(stock);
    if (sameWeights(model)) {
      const ours = model.weights;
      const theirs = stock.weights;
      if (ours.length !== theirs.length || ours.some((w, i) => w.shape.join(',') !== theirs[i]!.shape.join(','))) {
        throw new Error(`stock copy of ${model.name}: weights differ: [${ours.map((w) => `${w.originalName} ${w.shape}`).join('; ')}] against [${theirs.map((w) => `${w.originalName} ${w.shape}`).join('; ')}]`);
      }
      return files;
    }
    const own = await modelToFiles(model);
    const topology = JSON.parse(Buffer.from(own['model.json']!).toString('utf8')) as tf.io.ModelJSON;
    for (const g of topology.weightsManifest) g.paths = g.paths.map(() => PROJECT_WEIGHTS);
    return { ...files, [PROJECT_TOPOLOGY]: Buffer.from(JSON.stringify(topology)), [PROJECT_WEIGHTS]: own['weights.bin']! };
  } finally {
    stock.dispose();
  }
}
