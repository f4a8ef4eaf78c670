// Synthetic movies for the train tests, in which each genre plants its own direction in some
// frames (learnable on purpose): as fitModel's data, or stored in a test workspace
// (fixtures-lib/stage-ctx.ts) as the fixlen and labels stages would store them, for the train kind's run()
// with the engine's own context.
import seedrandom from 'seedrandom';
import { hashJson } from '../../src/hash.js';
import { perfKeys } from '../../src/param-schema/types.js';
import { TRAIN_PARAMS } from '../../stages/train/params.js';
import { encodeNpy } from '../../src/npy.js';
import type { Conf } from '../../src/params.js';
import type { Artifact, CollectionArtifact, ItemOutput, Tree, TreeArtifact } from '../../src/stage-api.js';
import type { ModelParams } from '../../stages/models/api.js';
import type { FitData, FitHooks, FitOptions, Split } from '../../stages/models/fit.js';
import { collectionArtifact, testContext, treeArtifact, type ContextOptions, type TestContext, type TestWorkspace } from '../../fixtures-lib/stage-ctx.js';

export interface SyntheticOptions {
  movies: number;
  length: number;
  width: number;
  genres: number;
  /** Frames a movie has before left zero-padding to `length` (as fixlen pads short movies). */
  frames?: number;
  /** Strength of a genre's planted direction relative to unit noise. */
  signal?: number;
  seed?: number;
  /** Fractions of movies in train / val (the rest is test). */
  split?: [number, number];
}

export interface Synthetic {
  /** Features per movie: [length, width]. */
  length: number;
  width: number;
  ids: string[];
  genres: string[];
  features: Map<string, Float32Array>;
  labels: Map<string, number[]>;
  split: { train: string[]; val: string[]; test: string[] };
}

/** Mean AP of a scorer that knows nothing: each genre's prevalence among the movies. */
export function chanceMap(s: Synthetic, ids: readonly string[]): number {
  const prev = s.genres.map((_, g) => ids.filter((id) => s.labels.get(id)![g] === 1).length / ids.length);
  return prev.reduce((a, b) => a + b, 0) / prev.length;
}

/** Movies whose genres are readable from their frames: genre g adds signal * dir_g to a third of the frames. */
export function syntheticMovies(o: SyntheticOptions): Synthetic {
  const rng = seedrandom.alea(String(o.seed ?? 1));
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const frames = Math.min(o.frames ?? o.length, o.length);
  const signal = o.signal ?? 1.5;
  const dirs = Array.from({ length: o.genres }, () => {
    const d = Array.from({ length: o.width }, normal);
    const norm = Math.hypot(...d);
    return d.map((v) => v / norm);
  });
  const genres = Array.from({ length: o.genres }, (_, g) => `Genre${g}`);
  const ids: string[] = [];
  const features = new Map<string, Float32Array>();
  const labels = new Map<string, number[]>();
  for (let m = 0; m < o.movies; m++) {
    const id = `tt${String(1000000 + m)}`;
    ids.push(id);
    const y: number[] = genres.map((_, g) => (rng() < 0.25 + 0.1 * (g % 3) ? 1 : 0));
    if (!y.includes(1)) y[m % o.genres] = 1;
    labels.set(id, y);
    const x = new Float32Array(o.length * o.width);
    for (let t = o.length - frames; t < o.length; t++) {
      for (let f = 0; f < o.width; f++) x[t * o.width + f] = normal();
      y.forEach((on, g) => {
        if (on === 1 && rng() < 0.34) for (let f = 0; f < o.width; f++) x[t * o.width + f]! += signal * Math.sqrt(o.width) * dirs[g]![f]!;
      });
    }
    features.set(id, x);
  }
  const [a, b] = o.split ?? [0.7, 0.3];
  const nTrain = Math.round(o.movies * a);
  const nVal = Math.round(o.movies * b);
  return {
    length: o.length,
    width: o.width,
    ids,
    genres,
    features,
    labels,
    split: { train: ids.slice(0, nTrain), val: ids.slice(nTrain, nTrain + nVal), test: ids.slice(nTrain + nVal) },
  };
}

/** Stores the synthetic movies in the workspace's store as the fixlen and labels stages would. */
export async function storeSynthetic(ws: TestWorkspace, s: Synthetic): Promise<{ fixlen: CollectionArtifact; labels: TreeArtifact }> {
  const items = new Map<string, ItemOutput>();
  for (const id of s.ids) items.set(id, { tree: { [`${id}.npy`]: await ws.store.put(encodeNpy(s.features.get(id)!, [s.length, s.width])) } });
  const counts = { movies: s.ids.length, genres: Object.fromEntries(s.genres.map((g, j) => [g, s.ids.filter((id) => s.labels.get(id)![j] === 1).length])) };
  const files: Record<string, unknown> = {
    'ids.json': s.ids,
    'labels.json': Object.fromEntries(s.labels),
    'genres.json': s.genres,
    'split.json': s.split,
    'counts.json': { train: counts, val: counts, test: counts, all: counts },
  };
  const tree: Tree = {};
  for (const [name, v] of Object.entries(files)) tree[name] = await ws.store.put(JSON.stringify(v));
  return { fixlen: collectionArtifact(items), labels: treeArtifact(tree) };
}

/**
 * The train kind's context over `ws` (the engine's, through stage-ctx), for a conf nested as in
 * conf/default.yaml ({train: {...}}). Its scratch folder is keyed, as the engine keys it by the
 * stage fingerprint, by a hash of the conf and the inputs' roots: one folder per parameter set.
 */
export function trainContext(
  ws: TestWorkspace,
  conf: Conf,
  inputs: Record<string, Artifact>,
  opts: Omit<ContextOptions, 'stage' | 'params' | 'inputs' | 'fpHash'> = {},
): TestContext {
  const roots = Object.fromEntries(Object.entries(inputs).map(([name, a]) => [name, a.root]));
  // The default pipeline's binding: features <- fixlen, labels <- labels.
  const ports = Object.fromEntries(Object.entries({ features: inputs['fixlen'], labels: inputs['labels'] }).filter((e): e is [string, Artifact] => e[1] !== undefined));
  // As the engine's fingerprint: without the speed-only keys, so that they share the scratch folder.
  const section = { ...((conf['train'] ?? {}) as Record<string, unknown>) };
  for (const k of perfKeys(TRAIN_PARAMS)) delete section[k.replace(/^train\./, '')];
  return testContext(ws, { ...opts, stage: 'train', params: conf, inputs, ports, fpHash: hashJson({ conf: { ...conf, train: section }, roots }) });
}

/** The train and val splits as fitModel takes them. */
export function fitData(s: Synthetic): FitData {
  const split = (ids: string[]): Split => {
    const step = s.length * s.width;
    const x = new Float32Array(ids.length * step);
    const y = new Float32Array(ids.length * s.genres.length);
    ids.forEach((id, i) => {
      x.set(s.features.get(id)!, i * step);
      y.set(s.labels.get(id)!, i * s.genres.length);
    });
    return { ids, x, y, n: ids.length };
  };
  return { shape: { length: s.length, width: s.width, genres: s.genres.length }, genres: s.genres, train: split(s.split.train), val: split(s.split.val) };
}

/** fitModel's options for a short test training of `model` (plain BCE, constant lr, no early stop). */
export function fitOptions(model: string, params: ModelParams, over: Partial<FitOptions> = {}): FitOptions {
  return {
    model,
    params,
    loss: 'bce',
    focalGamma: 2,
    focalAlpha: 0.5,
    epochs: 8,
    batchSize: 16,
    lr: 0.01,
    lrDecayEvery: 100,
    lrDecay: 1,
    patience: 100,
    seed: 0,
    backend: 'wasm',
    label: model,
    configYaml: 'train: {}\n',
    checkpointKey: 'test',
    ...over,
  };
}

/** fitModel's hooks for a training nobody watches. */
export const quietHooks: FitHooks = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
