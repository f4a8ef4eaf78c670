// What the runs table (src/experiments/table.ts, `pipeline runs --table`, the web UI's runs page)
// reads of a run's metrics: which stages hold a metrics.json, and its numbers as table columns
// (mAP, baseline_mAP, micro_ap, micro_f1, macro_f1, weighted_f1, then ap.<genre> per genre, the
// detail columns of `--genres`). The core reaches it through the registered ScoresReader
// (scores-reader.ts), so that it names no metric and no genre itself.
import type { RunRecord } from '../../src/runs.js';
import type { ScoreEntry } from '../../src/registry.js';

export const BASE_METRICS: ReadonlyArray<{ key: string; label: string }> = [
  { key: 'mAP', label: 'mAP' },
  { key: 'baseline_mAP', label: 'baseline mAP' },
  { key: 'micro_ap', label: 'micro AP' },
  { key: 'micro_f1', label: 'micro F1' },
  { key: 'macro_f1', label: 'macro F1' },
  { key: 'weighted_f1', label: 'weighted F1' },
];

interface MetricsFile {
  mAP?: number | null;
  micro_ap?: number | null;
  micro_f1?: number | null;
  macro_f1?: number | null;
  weighted_f1?: number | null;
  baseline?: { mAP?: number | null } | null;
  per_genre?: Array<{ genre: string; ap: number | null }>;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The metrics-kind stages of a record that produced a metrics.json, in record order. */
export function metricsStages(record: RunRecord): Array<{ name: string; hash: string }> {
  const out: Array<{ name: string; hash: string }> = [];
  for (const [name, s] of Object.entries(record.stages)) {
    if (s.uses !== 'metrics' || !s.ok || s.output?.type !== 'tree') continue;
    const h = s.output.tree['metrics.json'];
    if (h !== undefined) out.push({ name, hash: h });
  }
  return out;
}

/** A metrics.json's numbers as table columns, in display order; the per-genre APs are detail. */
export function scoreEntries(report: unknown): ScoreEntry[] {
  const m = (typeof report === 'object' && report !== null ? report : {}) as MetricsFile;
  const out: ScoreEntry[] = [
    { key: 'mAP', value: num(m.mAP) },
    { key: 'baseline_mAP', value: m.baseline ? num(m.baseline.mAP) : null },
    { key: 'micro_ap', value: num(m.micro_ap) },
    { key: 'micro_f1', value: num(m.micro_f1) },
    { key: 'macro_f1', value: num(m.macro_f1) },
    { key: 'weighted_f1', value: num(m.weighted_f1) },
  ];
  for (const g of m.per_genre ?? []) out.push({ key: `ap.${g.genre}`, value: num(g.ap), detail: true });
  return out;
}

/** A column header: the base metrics' labels, `AP <genre>` for a genre's AP, else the key. */
export function metricLabel(key: string): string {
  const base = BASE_METRICS.find((m) => m.key === key);
  if (base) return base.label;
  if (key.startsWith('ap.')) return `AP ${key.slice(3)}`;
  return key;
}
