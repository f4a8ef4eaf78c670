// The genre-model contract: what the train stage trains, and what everything else (the metrics
// stage, `pipeline evaluate`) loads and scores with. Kept small and framework-free (plain
// Float32Arrays in and out), so that a model can run on tfjs or behind another runtime.
//
// For users of trained models (stable names):
// - `loadGenreModel(resolve, opts?)`: rebuilds a saved model from its files. `resolve` maps a
//   path relative to the model's root (e.g. "model/model.json", "model/weights.bin",
//   "model/genre-model.json") to a readable local file: through the store for a train tree
//   (`resolveInTree`), or in a plain folder for `pipeline evaluate --model DIR`
//   (`resolveInDirectory`). The baseline sits under "baseline/": pass {dir: 'baseline/model'}
//   or a resolver that prefixes it.
// - `predictProbabilities(model, x, n, L, F)`: probabilities [n, G] (row-major) for features
//   [n, L, F], in batches.
//
// For model authors: one file per model in this folder, default-exporting a `ModelFactory`,
// and one line in registry.ts. The factory builds a `TrainableGenreModel`; most models build a tfjs
// network and hand it to `tfGenreModel` (tf-model.ts), which provides the rest.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import type { Hash, StoreAccess, Tree } from '../../src/stage-api.js';
import type { GenreClassifier, GenreModelInfo, LoadedGenreModel } from './contract.js';

// The contract's types live in contract.ts, which the model modules import (so that nothing
// they import comes back here); this module adds the loaders and re-exports them.
export * from './contract.js';
/** `train.loss` choices (stages/nn/losses.ts implements them); here so that reading them costs no tfjs import. */
export { LOSS_CHOICES, type LossName } from '../nn/loss-spec.js';

export const MODEL_DIR = 'model';
export const MODEL_FILES = { topology: 'model.json', weights: 'weights.bin', info: 'genre-model.json' } as const;

/** A resolver over a plain folder (e.g. outputs/train/ or a copied model). */
export function resolveInDirectory(dir: string): (relPath: string) => string {
  return (rel) => join(dir, rel);
}

/** A resolver over a train tree in the store. */
export function resolveInTree(store: Pick<StoreAccess, 'path'>, tree: Tree, prefix = ''): (relPath: string) => string {
  return (rel) => {
    const hash: Hash | undefined = tree[`${prefix}${rel}`];
    if (hash === undefined) throw new UserError(`the trained model has no ${prefix}${rel}`, 'rerun the train stage');
    return store.path(hash);
  };
}

function readInfo(path: string): GenreModelInfo {
  let info: GenreModelInfo;
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as GenreModelInfo;
  } catch (e) {
    throw new UserError(`${path}: cannot read the model description: ${(e as Error).message}`, 'point at a model folder written by the train stage');
  }
  if (info?.format !== 'pipeline-genre-model' || typeof info.model !== 'string' || !Array.isArray(info.genres)) {
    throw new UserError(`${path}: not a genre-model.json written by the train stage`, 'point at a model folder written by the train stage');
  }
  return info;
}

/**
 * Rebuilds a saved model (any registered model) from its files; see the top of this file.
 * @param opts.dir folder of the model files, relative to the resolver's root (default "model")
 * @param opts.backend tfjs backend to score on (default "auto": native TensorFlow when installed, else wasm)
 */
export async function loadGenreModel(
  resolve: (relPath: string) => string,
  opts: { dir?: string; backend?: string } = {},
): Promise<LoadedGenreModel> {
  const dir = opts.dir ?? MODEL_DIR;
  const info = readInfo(resolve(`${dir}/${MODEL_FILES.info}`));
  // Imported here, not at the top: tfjs and the model modules are heavy, and a caller that only
  // reads the types or resolvers should not pay for them.
  const { activateBackend, resolveBackend } = await import('../nn/backend.js');
  await activateBackend(resolveBackend(opts.backend ?? 'auto'));
  const { loadTfGenreModel } = await import('./load.js');
  return loadTfGenreModel(info, (rel) => resolve(`${dir}/${rel}`));
}

/**
 * Probabilities [n, genres] for features x [n, L, F] (row-major float32), scored in batches of
 * `batchSize` movies so that memory stays bounded.
 */
export async function predictProbabilities(
  model: GenreClassifier,
  x: Float32Array,
  n: number,
  L: number,
  F: number,
  batchSize = 32,
): Promise<Float32Array> {
  const { length, width, genres } = model.shape;
  if (L !== length || F !== width) {
    throw new UserError(
      `the ${model.name} model takes [${length},${width}] features per movie, got [${L},${F}]`,
      `use features of the shape it was trained on (fixlen.length ${length}), or retrain it`,
    );
  }
  if (x.length !== n * L * F) throw new RangeError(`predictProbabilities: x holds ${x.length} values, expected ${n}x${L}x${F}`);
  const out = new Float32Array(n * genres);
  const step = L * F;
  for (let i = 0; i < n; i += batchSize) {
    const m = Math.min(batchSize, n - i);
    out.set(await model.predict(x.subarray(i * step, (i + m) * step), m), i * genres);
  }
  return out;
}
