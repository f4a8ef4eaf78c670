// Side by side, after a run with `matrix:` variants of a metrics stage: a few lines at the end of
// `pipeline run` (each variant's mAP beside its baseline, best first) and
// outputs/metrics-matrix.md (the summary metrics and every genre's AP, one column per variant).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from '../../src/runs.js';
import type { Project } from '../../src/spec.js';
import { BASE_METRICS, metricsStages } from './run-metrics.js';

interface Scores {
  model?: string;
  split?: string;
  mAP?: number | null;
  micro_ap?: number | null;
  micro_f1?: number | null;
  macro_f1?: number | null;
  weighted_f1?: number | null;
  baseline?: { model?: string; mAP?: number | null } | null;
  per_genre?: Array<{ genre: string; ap: number | null }>;
}

export interface VariantScores {
  stage: string;
  /** The values that make this variant, e.g. "train.model=gru". */
  label: string;
  metrics: Scores;
}

const f3 = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : v.toFixed(3));

/** The metrics of every matrix variant of a metrics stage in the record, in pipeline order. */
export async function matrixScores(
  project: Pick<Project, 'stages' | 'order'>,
  record: RunRecord,
  store: { readJson<T>(hash: string): Promise<T> },
): Promise<VariantScores[]> {
  const byName = new Map(metricsStages(record).map((s) => [s.name, s.hash]));
  const out: VariantScores[] = [];
  for (const name of project.order) {
    const spec = project.stages.get(name);
    const hash = byName.get(name);
    if (!spec?.matrix || hash === undefined) continue;
    const label = Object.entries(spec.matrix.values)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    out.push({ stage: name, label, metrics: await store.readJson<Scores>(hash) });
  }
  return out;
}

/** Lines for the end of the run: each variant's mAP beside its baseline, best first. */
export function matrixLines(v: readonly VariantScores[]): string[] {
  if (v.length < 2) return [];
  const sorted = [...v].sort((a, b) => (b.metrics.mAP ?? -1) - (a.metrics.mAP ?? -1));
  const w = Math.max(...v.map((x) => x.stage.length));
  const lines = [`side by side (${v[0]!.metrics.split ?? 'test'} mAP, best first; outputs/metrics-matrix.md has every genre):`];
  for (const x of sorted) {
    const b = x.metrics.baseline;
    lines.push(`  ${x.stage.padEnd(w)}  mAP ${f3(x.metrics.mAP)}${b ? `  (baseline ${b.model ?? ''} ${f3(b.mAP)})` : ''}  weighted F1 ${f3(x.metrics.weighted_f1)}  [${x.label}]`);
  }
  return lines;
}

/** outputs/metrics-matrix.md: summary metrics and per-genre AP, one column per variant. */
export function matrixMarkdown(v: readonly VariantScores[]): string {
  const head = `| | ${v.map((x) => `${x.stage}<br>${x.label}`).join(' | ')} |`;
  const rule = `|:---|${v.map(() => '---:').join('|')}|`;
  const rows: string[] = [];
  const best = (vals: Array<number | null | undefined>): number => Math.max(...vals.map((x) => x ?? -Infinity));
  const row = (label: string, vals: Array<number | null | undefined>): void => {
    const top = best(vals);
    rows.push(`| ${label} | ${vals.map((x) => (x !== null && x !== undefined && x === top && vals.length > 1 ? `**${f3(x)}**` : f3(x))).join(' | ')} |`);
  };
  for (const m of BASE_METRICS) {
    row(m.label, v.map((x) => (m.key === 'baseline_mAP' ? (x.metrics.baseline?.mAP ?? null) : (x.metrics[m.key as keyof Scores] as number | null | undefined))));
  }
  const genres = v[0]?.metrics.per_genre?.map((g) => g.genre) ?? [];
  const genreRows: string[] = [];
  const saved = rows.length;
  for (const g of genres) row(`AP ${g}`, v.map((x) => x.metrics.per_genre?.find((p) => p.genre === g)?.ap ?? null));
  genreRows.push(...rows.splice(saved));
  return [
    '# Matrix variants side by side',
    '',
    `Each column is one variant of the pipeline's matrix stages, scored on ${v[0]?.metrics.split ?? 'the same split'}; the best value of each row is bold. Each variant's own report is in outputs/<stage>/metrics.md.`,
    '',
    head,
    rule,
    ...rows,
    '',
    '## Average precision per genre',
    '',
    head,
    rule,
    ...genreRows,
    '',
  ].join('\n');
}

/** Writes outputs/metrics-matrix.md (atomically) and returns the end-of-run lines; nothing without variants. */
export async function reportMatrix(project: Pick<Project, 'root' | 'stages' | 'order'>, record: RunRecord, store: { readJson<T>(hash: string): Promise<T> }): Promise<string[]> {
  const v = await matrixScores(project, record, store);
  if (v.length < 2) return [];
  const dir = join(project.root, 'outputs');
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, '.metrics-matrix.md.tmp');
  writeFileSync(tmp, matrixMarkdown(v));
  renameSync(tmp, join(dir, 'metrics-matrix.md'));
  return matrixLines(v);
}
