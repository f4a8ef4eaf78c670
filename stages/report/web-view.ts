// The web UI's view of a run's results (docs/UI.md documents each shape): metrics.json, the
// published figures beside it, each genre's precision-recall curve and the training history;
// and, for a comparison, each run's headline numbers and per-genre AP with deltas. The core's
// UI API (src/web/api.ts) splices these keys into its answers through the registered results
// reader (scores-reader.ts), so that it names no metric and no genre itself.
import { decodeNpy } from '../../src/npy.js';
import type { ObjectReader } from '../../src/registry.js';
import type { RunRecord } from '../../src/runs.js';
import type { History, MetricsJson } from './metrics-json.js';
import { prCurve } from './metrics-math.js';
import { PUBLISHED, publishedMeanAp } from './published.js';

export interface Curve {
  genre: string;
  ap: number | null;
  recall: number[];
  precision: number[];
}

const MAX_CURVE_POINTS = 400;

function stageUsing(record: RunRecord, kind: string): string | undefined {
  return Object.entries(record.stages).find(([, s]) => s.uses === kind && s.output)?.[0];
}

/** Keeps a long curve's shape with at most `max` points (every k-th point, and the last). */
function thin(xs: number[], ys: number[], max: number): { x: number[]; y: number[] } {
  if (xs.length <= max) return { x: xs, y: ys };
  const step = xs.length / max;
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < max; i++) {
    const k = Math.floor(i * step);
    x.push(xs[k]!);
    y.push(ys[k]!);
  }
  x.push(xs[xs.length - 1]!);
  y.push(ys[ys.length - 1]!);
  return { x, y };
}

async function metricsOf(record: RunRecord, store: ObjectReader): Promise<MetricsJson | undefined> {
  const stage = stageUsing(record, 'metrics');
  const out = stage ? record.stages[stage]?.output : undefined;
  const hash = out?.type === 'tree' ? out.tree['metrics.json'] : undefined;
  if (!hash) return undefined;
  try {
    const m = await store.readJson<MetricsJson>(hash);
    return Array.isArray(m.per_genre) ? m : undefined;
  } catch {
    return undefined;
  }
}

async function historyOf(record: RunRecord, store: ObjectReader): Promise<{ model: History | null; baseline: History | null }> {
  const stage = stageUsing(record, 'train');
  const out = stage ? record.stages[stage]?.output : undefined;
  if (out?.type !== 'tree') return { model: null, baseline: null };
  const read = async (p: string): Promise<History | null> => {
    const h = out.tree[p];
    if (!h) return null;
    try {
      return await store.readJson<History>(h);
    } catch {
      return null;
    }
  };
  return { model: await read('history.json'), baseline: await read('baseline/history.json') };
}

async function curvesOf(record: RunRecord, metrics: MetricsJson, store: ObjectReader): Promise<{ model: Curve[]; baseline: Curve[] | null } | null> {
  const stage = stageUsing(record, 'metrics');
  const out = stage ? record.stages[stage]?.output : undefined;
  if (out?.type !== 'tree' || !out.tree['predictions.npy'] || !out.tree['targets.npy']) return null;
  try {
    const t = decodeNpy(await store.read(out.tree['targets.npy']), 'targets.npy');
    const curves = (scores: ArrayLike<number>, rows: MetricsJson['per_genre']): Curve[] => {
      const [M, G] = t.shape as [number, number];
      return rows.map((g, j) => {
        const s = new Float64Array(M);
        const y = new Float64Array(M);
        for (let i = 0; i < M; i++) {
          s[i] = Number(scores[i * G + j]);
          y[i] = Number(t.data[i * G + j]);
        }
        const c = prCurve(s, y);
        if (!c) return { genre: g.genre, ap: g.ap, recall: [], precision: [] };
        const th = thin([0, ...c.recall], [c.precision[0] ?? 1, ...c.precision], MAX_CURVE_POINTS);
        return { genre: g.genre, ap: g.ap, recall: th.x, precision: th.y };
      });
    };
    const p = decodeNpy(await store.read(out.tree['predictions.npy']), 'predictions.npy');
    const bh = out.tree['baseline/predictions.npy'];
    const b = bh && metrics.baseline ? decodeNpy(await store.read(bh), 'baseline/predictions.npy') : undefined;
    return { model: curves(p.data as ArrayLike<number>, metrics.per_genre), baseline: b && metrics.baseline ? curves(b.data as ArrayLike<number>, metrics.baseline.per_genre) : null };
  } catch {
    return null;
  }
}

/** /api/runs/ID's results: metrics, published, curves, history (in that order, after params). */
export async function runView(record: RunRecord, store: ObjectReader): Promise<Record<string, unknown>> {
  const metrics = (await metricsOf(record, store)) ?? null;
  const genres = metrics?.per_genre.map((g) => g.genre) ?? [];
  return {
    metrics,
    published: PUBLISHED.map((p) => ({ key: p.key, label: p.label, short: p.short, rows: p.rows, meanAp: publishedMeanAp(p, genres).mean })),
    curves: metrics ? await curvesOf(record, metrics, store) : null,
    history: await historyOf(record, store),
  };
}

/** /api/compare's results: per run (oldest first) mAP, model, baseline_mAP, history; then `ap` per genre. */
export async function compareView(records: readonly RunRecord[], store: ObjectReader): Promise<{ runs: Array<Record<string, unknown>>; extra: Record<string, unknown> }> {
  const runs = await Promise.all(records.map(async (record) => ({ metrics: (await metricsOf(record, store)) ?? null, history: await historyOf(record, store) })));
  const genres = [...new Set(runs.flatMap((r) => r.metrics?.per_genre.map((g) => g.genre) ?? []))];
  const ap = genres.map((genre) => {
    const values = runs.map((r) => r.metrics?.per_genre.find((g) => g.genre === genre)?.ap ?? null);
    const first = values[0] ?? null;
    return { genre, values, deltas: values.map((v) => (v === null || first === null ? null : v - first)) };
  });
  return {
    runs: runs.map((r) => ({ mAP: r.metrics?.mAP ?? null, model: r.metrics?.model ?? null, baseline_mAP: r.metrics?.baseline?.mAP ?? null, history: r.history })),
    extra: { ap },
  };
}
