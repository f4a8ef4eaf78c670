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
//
// Initialisers of the copy are Zeros wherever ours were project classes: a saved model's
// initialisers only run when a loader builds the network, before its trained weights replace
// them, and tfjs' own Orthogonal takes seconds per recurrent kernel (and warns) on the cpu
// backend that plain tfjs uses in Node.
//
// The transformer's layers (PositionEmbedding, TransformerEncoderBlock) have no stock
// equivalent: `stockCopy` returns null for a network holding one, and the caller keeps the
// project's own format (ONNX, onnx-export.ts, covers every model).
import * as tf from '@tensorflow/tfjs';
import type { ModelFiles } from './api.js';
import { modelToFiles } from './io.js';

type Json = tf.serialization.ConfigDictValue;
type Dict = tf.serialization.ConfigDict;

/** Layer class names this module converts to stock classes. */
const PROJECT_LAYERS = new Set(['FastRecurrent', 'PipelineLayerNorm']);
/** Project initialiser classes, replaced by Zeros. */
const PROJECT_INITIALIZERS = new Set(['PipelineOrthogonal']);
const ZEROS: Dict = { class_name: 'Zeros', config: {} };

/**
 * Layer classes of the model that neither are stock nor have a stock equivalent here (the
 * transformer's); empty when stockCopy can convert the model.
 */
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
  'LSTM',
  'GRU',
  'Bidirectional',
  'LayerNormalization',
]);

function replaceInitializers(v: Json): Json {
  if (Array.isArray(v)) return v.map(replaceInitializers);
  if (v !== null && typeof v === 'object') {
    const d = v as Dict;
    if (typeof d['class_name'] === 'string' && PROJECT_INITIALIZERS.has(d['class_name'])) return ZEROS;
    return Object.fromEntries(Object.entries(d).map(([k, x]) => [k, replaceInitializers(x as Json)]));
  }
  return v;
}

function recurrentConfig(name: string, c: Dict): Dict {
  const cell = c['cell'];
  if (cell !== 'lstm' && cell !== 'gru') throw new Error(`stock copy: FastRecurrent '${name}' has cell ${String(cell)}`);
  const inner: Dict = {
    name: c['bidirectional'] === true ? `${name}_layer` : name,
    trainable: c['trainable'] ?? true,
    units: c['units'] as number,
    activation: 'tanh',
    recurrent_activation: 'sigmoid',
    use_bias: true,
    kernel_initializer: ZEROS,
    recurrent_initializer: ZEROS,
    bias_initializer: ZEROS,
    dropout: 0,
    recurrent_dropout: 0,
    return_sequences: c['return_sequences'] === true,
    return_state: false,
    go_backwards: false,
    stateful: false,
    unroll: false,
    ...(cell === 'lstm' ? { unit_forget_bias: c['unit_forget_bias'] === true } : { reset_after: false }),
  };
  const layer: Dict = { class_name: cell === 'lstm' ? 'LSTM' : 'GRU', config: inner };
  if (c['bidirectional'] !== true) return layer;
  return { class_name: 'Bidirectional', config: { name, trainable: c['trainable'] ?? true, merge_mode: 'concat', layer } };
}

function layerNormConfig(name: string, c: Dict, inputRank: number): Dict {
  const dims = c['dims'] as number;
  const axis = Array.from({ length: dims }, (_, i) => inputRank - dims + i);
  return {
    class_name: 'LayerNormalization',
    config: {
      name,
      trainable: c['trainable'] ?? true,
      axis: dims === 1 ? -1 : axis,
      epsilon: c['epsilon'] as number,
      center: true,
      scale: true,
      beta_initializer: { class_name: 'Zeros', config: {} },
      gamma_initializer: { class_name: 'Ones', config: {} },
    },
  };
}

/** The model's topology with every project class replaced by its stock equivalent. */
export function stockTopology(model: tf.LayersModel): Dict {
  const json = model.toJSON(null, false) as Dict;
  const config = json['config'] as Dict;
  const layers = (config['layers'] as Dict[]).map((entry) => {
    const cls = entry['class_name'] as string;
    const name = entry['name'] as string;
    const c = entry['config'] as Dict;
    if (cls === 'FastRecurrent') {
      const r = recurrentConfig(name, c);
      return { ...entry, class_name: r['class_name'], config: r['config'] };
    }
    if (cls === 'PipelineLayerNorm') {
      const input = model.getLayer(name).input as tf.SymbolicTensor;
      const r = layerNormConfig(name, c, input.shape.length);
      return { ...entry, class_name: r['class_name'], config: r['config'] };
    }
    return entry;
  });
  return replaceInitializers({ ...json, config: { ...config, layers } } as Dict) as Dict;
}

/**
 * Files ({"model.json", "weights.bin"}) of a stock-tfjs copy of the model, with the same weights;
 * null when the model holds a layer without a stock equivalent (unconvertibleLayers names them).
 */
export async function stockCopy(model: tf.LayersModel): Promise<ModelFiles | null> {
  if (unconvertibleLayers(model).length > 0) return null;
  const stock = await tf.models.modelFromJSON({ modelTopology: stockTopology(model) as unknown as tf.io.ModelJSON['modelTopology'] });
  try {
    const ours = model.weights;
    const theirs = stock.weights;
    if (ours.length !== theirs.length || ours.some((w, i) => w.shape.join(',') !== theirs[i]!.shape.join(','))) {
      throw new Error(
        `stock copy of ${model.name}: weights differ: [${ours.map((w) => `${w.originalName} ${w.shape}`).join('; ')}] against [${theirs.map((w) => `${w.originalName} ${w.shape}`).join('; ')}]`,
      );
    }
    stock.setWeights(ours.map((w) => w.read()));
    return await modelToFiles(stock);
  } finally {
    stock.dispose();
  }
}
