// The `metrics` stage kind: scores the trained genre model (and the mean-pool baseline, when it
// was trained) on one split and writes outputs/metrics/: metrics.json, predictions.npy,
// targets.npy, ids.json, metrics.md and plots. A reduce kind over train, fixlen and labels.
//
// It assumes nothing about where the train tree came from: `pipeline evaluate` runs this kind
// with a train input built from another run's train tree or from a model folder, so the kind
// only needs model/... (and optionally history.json, baseline/...) in that tree.
import { UserError } from '../src/errors.js';
import { perfKeys } from '../src/param-schema/types.js';
import { readSection, type ParamReader } from '../src/param-schema/readers.js';
import type { CollectionArtifact, ReduceContext, ReduceKind, StageContext, TreeArtifact } from '../src/stage-api.js';
import { readFeatures } from './data/features.js';
import { readPorts } from './inputs.js';
import { KIND_OUTPUTS, KIND_PORTS } from './ports.js';
import { METRICS, METRICS_PARAMS } from './metrics/params.js';
import { SPLITS, readLabelsFiles } from './data/labels-files.js';
import type { LabelsData, SplitName } from './data/labels-files.js';
import type { History } from './report/metrics-json.js';
import { buildReport } from './report/report.js';
import { plotFontHash } from './report/render.js';
import { sharpVersions } from './clip/sharp-versions.js';
import type { ScoredModel } from './report/report.js';
import { MODEL_DIR, loadGenreModel, predictProbabilities, resolveInTree } from './models/api.js';
import type { LoadedGenreModel } from './models/api.js';
import { backendEnv, resolveBackend } from './nn/backend.js';

export interface MetricsParams {
  split: SplitName;
  threshold: number;
  /** Movies per prediction batch (speed and memory only). */
  batchSize: number;
}

/** Reads and checks the `metrics.*` params (declared in metrics/params.ts). */
export function readMetricsParams(ctx: ParamReader): MetricsParams {
  return readSection(ctx, METRICS, 'fix it in conf/default.yaml or with -p, e.g. -p metrics.split=val');
}

/** The split scored: the one asked for, or val when test is asked for and has no movies. */
export function chooseSplit(split: LabelsData['split'], requested: SplitName): SplitName {
  if (split[requested].length > 0) return requested;
  if (requested === 'test' && split.val.length > 0) return 'val';
  const sizes = SPLITS.map((s) => `${s} ${split[s].length}`).join(', ');
  throw new UserError(
    `metrics.split is ${requested} but that split has no movies${requested === 'test' ? ', and neither has val' : ''} (${sizes})`,
    'pick a split with movies (-p metrics.split=...) or change the labels split (labels.* params)',
  );
}

async function readHistory(ctx: ReduceContext, tree: TreeArtifact['tree'], path: string): Promise<History | null> {
  const hash = tree[path];
  if (hash === undefined) return null;
  try {
    const h = await ctx.store.readJson<History>(hash);
    if (!Array.isArray(h?.epochs)) throw new Error('no "epochs" list');
    return h;
  } catch (e) {
    // Training curves are a nicety: a bad history must not cost the user the metrics.
    ctx.log('warn', `${path} from the train stage is not readable (${(e as Error).message}); the report has no training curves`);
    return null;
  }
}

/** Scores the movies with one model, in batches of features read from the fixlen collection. */
async function predictAll(
  ctx: ReduceContext,
  model: LoadedGenreModel,
  fixlen: CollectionArtifact,
  ids: readonly string[],
  batchSize: number,
): Promise<Float32Array> {
  const G = model.shape.genres;
  const out = new Float32Array(ids.length * G);
  let shape: [number, number] | undefined;
  // Features are read batch by batch, so memory stays bounded on a large split.
  for (let b = 0; b < ids.length; b += batchSize) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
    const batchIds = ids.slice(b, b + batchSize);
    const arrays = await Promise.all(
      batchIds.map(async (id) => {
        const m = await readFeatures(ctx.store, id, fixlen.items.get(id), 'features', shape);
        shape ??= [m.rows, m.cols];
        return m.data;
      }),
    );
    const [L, D] = shape!;
    const x = new Float32Array(batchIds.length * L * D);
    arrays.forEach((a, i) => x.set(a, i * L * D));
    const p = await predictProbabilities(model, x, batchIds.length, L, D, batchSize);
    for (let i = 0; i < p.length; i++) {
      if (!Number.isFinite(p[i]!)) {
        throw new UserError(`the ${model.name} model returned a non-finite score (${p[i]}) for movie ${batchIds[Math.floor(i / G)]}`, 'the model diverged: retrain it, e.g. with a lower train.lr');
      }
    }
    out.set(p, b * G);
    ctx.progress({ done: Math.min(ids.length, b + batchSize), total: ids.length, message: `scoring ${model.name}` });
  }
  return out;
}

async function scoreModel(
  ctx: ReduceContext,
  train: TreeArtifact,
  prefix: string,
  labels: LabelsData,
  fixlen: CollectionArtifact,
  ids: readonly string[],
  batchSize: number,
): Promise<ScoredModel> {
  const model = await loadGenreModel(resolveInTree(ctx.store, train.tree), { dir: `${prefix}${MODEL_DIR}`, backend: 'auto' });
  try {
    if (model.genres.join('\u0000') !== labels.genres.join('\u0000')) {
      throw new UserError(
        `the ${model.name} model was trained on genres [${model.genres.join(', ')}] but the labels have [${labels.genres.join(', ')}]`,
        'retrain on these labels, or evaluate with the labels the model was trained on',
      );
    }
    const predictions = await predictAll(ctx, model, fixlen, ids, batchSize);
    return { model: model.name, predictions, history: await readHistory(ctx, train.tree, `${prefix}history.json`) };
  } finally {
    model.dispose();
  }
}

const metrics: ReduceKind = {
  name: 'metrics',
  type: 'reduce',
  version: 1,
  code: import.meta.url,
  ports: KIND_PORTS.metrics,
  outputContract: KIND_OUTPUTS.metrics,
  summary: 'per-genre precision/recall@threshold, AP, mAP, F1 on a split; metrics.md and plots against published figures',
  params: METRICS_PARAMS,
  perfParams: perfKeys(METRICS_PARAMS),
  // Scores come from tfjs: its version and backend (wasm, native TensorFlow) reach the fingerprint;
  // PNG plots from sharp's libvips with the bundled fonts (report/render.ts): theirs too.
  async env() {
    return { ...backendEnv(resolveBackend('auto')), ...(await sharpVersions()), plot_fonts: plotFontHash() };
  },
  async run(ctx) {
    const p = readMetricsParams(ctx);
    const { model: train, labels: labelsArt, features: fixlen } = readPorts(ctx, KIND_PORTS.metrics);
    const labels = await readLabelsFiles(ctx.store, labelsArt);
    const split = chooseSplit(labels.split, p.split);
    if (split !== p.split) ctx.log('warn', `no ${p.split} movies in the split: scoring ${split} instead`);
    const G = labels.genres.length;
    const ids: string[] = [];
    const missing: string[] = [];
    for (const id of labels.split[split]) {
      const onehot = labels.labels[id];
      if (onehot === undefined) {
        throw new UserError(`labels: movie ${id} is in split.json (${split}) but not in labels.json`, 'rerun labels with --force');
      }
      if (onehot.length !== G) throw new UserError(`labels: movie ${id} has ${onehot.length} one-hot columns but genres.json has ${G}`, 'rerun labels with --force');
      if (fixlen.items.has(id)) ids.push(id);
      else missing.push(id);
    }
    if (missing.length > 0) ctx.log('warn', `${missing.length} movies of ${split} have no features (skipped upstream) and are left out: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}`);
    if (ids.length === 0) {
      throw new UserError(`no movie of the ${split} split has features to score (${missing.length} missing)`, 'check the fixlen and embed stages for skipped movies (pipeline status)');
    }
    const targets = new Int8Array(ids.length * G);
    ids.forEach((id, i) => targets.set(labels.labels[id]!.map((v) => (v > 0 ? 1 : 0)), i * G));

    const ours = await scoreModel(ctx, train, '', labels, fixlen, ids, p.batchSize);
    const hasBaseline = train.tree[`baseline/${MODEL_DIR}/model.json`] !== undefined;
    const baseline = hasBaseline ? await scoreModel(ctx, train, 'baseline/', labels, fixlen, ids, p.batchSize) : null;

    const report = await buildReport({
      ...ours,
      genres: labels.genres,
      ids,
      targets,
      split,
      requestedSplit: p.split,
      threshold: p.threshold,
      missing,
      baseline,
      outDir: `outputs/${ctx.stage}`,
    });
    const tree: Record<string, string> = {};
    for (const [path, data] of report.files) tree[path] = await ctx.store.put(data);
    return { tree, meta: report.meta, ...(report.headline === undefined ? {} : { headline: report.headline }), summary: report.summary };
  },
};

export default metrics;
