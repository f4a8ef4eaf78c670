// A hand-built ReduceContext for calling the train kind's run() without the engine: a real
// LocalStore in a temp folder, a fixlen collection and a labels tree made from synthetic
// movies in which each genre plants its own direction in some frames (learnable on purpose).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import type { ItemError } from '../../src/errors.js';
import { hashJson } from '../../src/hash.js';
import { encodeNpy } from '../../src/npy.js';
import type { Artifact, CollectionArtifact, ItemOutput, ProgressUpdate, ReduceContext, Tree, TreeArtifact } from '../../src/stage-api.js';
import { LocalStore } from '../../src/store.js';

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
    ids,
    genres,
    features,
    labels,
    split: { train: ids.slice(0, nTrain), val: ids.slice(nTrain, nTrain + nVal), test: ids.slice(nTrain + nVal) },
  };
}

export interface TrainTestCtx extends ReduceContext {
  logs: string[];
  progressUpdates: ProgressUpdate[];
  itemErrors: ItemError[];
  abort: AbortController;
}

export class TrainRig {
  readonly dir: string;
  readonly store: LocalStore;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'pipeline-train-test-'));
    this.store = new LocalStore(join(this.dir, 'cache'));
  }

  /** Stores the synthetic movies as the fixlen and labels stages would. */
  async inputs(s: Synthetic, shape: { length: number; width: number }): Promise<{ fixlen: CollectionArtifact; labels: TreeArtifact }> {
    const items = new Map<string, ItemOutput>();
    for (const id of [...s.ids].sort()) {
      const hash = await this.store.put(encodeNpy(s.features.get(id)!, [shape.length, shape.width]));
      items.set(id, { tree: { [`${id}.npy`]: hash } });
    }
    const fixlen: CollectionArtifact = {
      type: 'collection',
      root: hashJson([...items.entries()].map(([k, v]) => [k, v.tree])),
      items,
    };
    const counts = { movies: s.ids.length, genres: Object.fromEntries(s.genres.map((g, j) => [g, s.ids.filter((id) => s.labels.get(id)![j] === 1).length])) };
    const files: Record<string, unknown> = {
      'ids.json': s.ids,
      'labels.json': Object.fromEntries(s.labels),
      'genres.json': s.genres,
      'split.json': s.split,
      'counts.json': { train: counts, val: counts, test: counts, all: counts },
    };
    const tree: Tree = {};
    for (const [name, v] of Object.entries(files)) tree[name] = await this.store.put(JSON.stringify(v));
    const labels: TreeArtifact = { type: 'tree', root: hashJson(tree), tree };
    return { fixlen, labels };
  }

  ctx(params: Record<string, unknown>, inputs: Record<string, Artifact>, opts: { onProgress?: (u: ProgressUpdate, c: TrainTestCtx) => void } = {}): TrainTestCtx {
    const abort = new AbortController();
    const logs: string[] = [];
    const progressUpdates: ProgressUpdate[] = [];
    const itemErrors: ItemError[] = [];
    const declared = (k: string): boolean => k === 'train' || k.startsWith('train.');
    const ctx: TrainTestCtx = {
      stage: 'train',
      workspace: this.dir,
      params,
      param<T>(key: string): T {
        if (!declared(key)) throw new Error(`param ${key} is not declared`);
        if (!(key in params)) throw new Error(`param ${key} is not set`);
        return params[key] as T;
      },
      paramOr<T>(key: string, fallback: T): T {
        if (!declared(key)) throw new Error(`param ${key} is not declared`);
        return key in params ? (params[key] as T) : fallback;
      },
      store: this.store,
      async hashFiles() {
        throw new Error('train does not hash source files');
      },
      signal: abort.signal,
      progress(u) {
        progressUpdates.push(u);
        opts.onProgress?.(u, ctx);
      },
      log(level, message) {
        logs.push(`${level}: ${message}`);
      },
      concurrency: 2,
      scratchDir: async () => {
        // Per parameter set, as the engine keys scratch folders by fingerprint.
        const d = join(this.dir, 'scratch', hashJson(params));
        mkdirSync(d, { recursive: true });
        return d;
      },
      inputs,
      itemError(e) {
        itemErrors.push(e);
      },
      logs,
      progressUpdates,
      itemErrors,
      abort,
    };
    return ctx;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
