// Recorded runs made synthetically, through the real store and run index: a record with a
// train and a metrics stage whose metrics.json the table reads. For table tests and the
// runs-table bench (1,000 runs without training anything).
import { hashJson } from '../src/hash.js';
import { StateStore } from '../src/engine/state.js';
import { RunIndex, saveRecord, type RunRecord } from '../src/runs.js';
import { LocalStore } from '../src/store.js';
import type { StageFingerprint } from '../src/fingerprint.js';

export const GENRES = ['Drama', 'Comedy', 'Thriller', 'Action', 'Romance'];

export interface FakeRun {
  lr: number;
  length: number;
  model?: string;
  mAP: number | null;
  /** Same value: same train output root (identical results). Default: derived from the params. */
  result?: string;
  ok?: boolean;
  /** Several metrics stages: stage name -> mAP. */
  variants?: Record<string, number>;
}

export interface FakeWorkspace {
  state: StateStore;
  store: LocalStore;
  runs: RunIndex;
  close(): void;
}

export function openFake(cacheDir: string): FakeWorkspace {
  const state = new StateStore(cacheDir);
  return { state, store: new LocalStore(cacheDir), runs: new RunIndex(state), close: () => state.close() };
}

function fp(params: Record<string, unknown>, deps: Record<string, string>): StageFingerprint {
  return { kind: 'x', version: '1', params, env: {}, inputs: {}, deps } as unknown as StageFingerprint;
}

function metricsJson(mAP: number | null, seed: number): object {
  return {
    format: 'pipeline-metrics/1',
    model: 'reference',
    mAP,
    micro_ap: mAP === null ? null : mAP + 0.01,
    micro_f1: 0.3 + (seed % 7) / 100,
    macro_f1: 0.2 + (seed % 5) / 100,
    weighted_f1: 0.25 + (seed % 3) / 100,
    per_genre: GENRES.map((g, i) => ({ genre: g, support: 3, precision: 0.5, recall: 0.5, f1: 0.5, ap: mAP === null ? null : Math.min(1, mAP + i / 100), tp: 1, fp: 1, fn: 1 })),
    baseline: { model: 'mean_mlp', mAP: 0.4 },
  };
}

/** Records one run; returns its id. `time` sets the index time (default now). */
export function addFakeRun(ws: FakeWorkspace, r: FakeRun, seq: number): string {
  const params = {
    fixlen: { length: r.length, method: 'window' },
    train: { lr: r.lr, model: r.model ?? 'reference', epochs: 3 },
    metrics: { split: 'test' },
  };
  const result = r.result ?? `${r.lr}-${r.length}-${r.model ?? 'reference'}`;
  const weights = ws.store.putSync(`weights ${result}`);
  // history.json is volatile (timings): a different object each run, outside the root.
  const history = ws.store.putSync(`history ${seq}`);
  const trainRoot = hashJson({ 'model/weights.bin': weights });
  const stages: RunRecord['stages'] = {
    train: {
      uses: 'train', deps: [], pathDeps: [], params: ['train'], outs: ['outputs/train'], onError: 'fail',
      fp: fp({ 'train.lr': r.lr }, {}), fpHash: hashJson(['train', r.lr]), ok: true,
      output: { type: 'tree', root: trainRoot, tree: { 'model/weights.bin': weights, 'history.json': history }, volatile: ['history.json'] },
    },
  };
  const variants = r.variants ?? { metrics: r.mAP ?? NaN };
  for (const [name, mAP] of Object.entries(variants)) {
    const m = ws.store.putSync(JSON.stringify(metricsJson(Number.isNaN(mAP) ? null : mAP, [...result].reduce((a, c) => a + c.charCodeAt(0), 0))));
    stages[name] = {
      uses: 'metrics', deps: ['train'], pathDeps: [], params: ['metrics'], outs: [`outputs/${name}`], onError: 'fail',
      fp: fp({}, { train: trainRoot }), fpHash: hashJson([name, trainRoot]), ok: true,
      output: { type: 'tree', root: hashJson({ 'metrics.json': m, name }), tree: { 'metrics.json': m } },
      ...(r.mAP === null ? {} : { headline: { name: 'mAP', value: r.mAP } }),
    };
  }
  const record: RunRecord = { format: 1, ok: r.ok ?? true, targets: Object.keys(stages), params, stages, versions: { pipeline: '0', node: 'v20', seq: String(seq) } };
  const id = saveRecord(ws.store, record);
  ws.runs.add(id, r.ok ?? true, 1 + seq / 1000, {
    targets: Object.keys(stages),
    stages: Object.keys(stages).map((name) => ({ name, state: 'ran' as const, seconds: 0.1 })),
    ...(r.mAP === null ? {} : { headline: { name: 'mAP', value: r.mAP } }),
  });
  return id;
}

/** A conf layer that makes the demo tiny (10 movies, a few frames, 2 epochs of a small model): a full run in seconds. */
export const TINY_DEMO_CONF = [
  'dataset: {movies: 10}',
  'frames: {images_per_shot: 1, max_frames: 6}',
  'fixlen: {length: 8}',
  'train: {epochs: 2, hidden: 8, batch_size: 8, baseline: false}',
  '',
].join('\n');
