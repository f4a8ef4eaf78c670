// What the CLI's `pipeline metrics` commands print, from metrics.json contents. The CLI owns
// argument parsing, finding the runs and the params diff; these functions only format.
import { UserError } from '../../src/errors.js';
import type { MetricsJson } from './metrics-json.js';
import { METRICS_FORMAT, pct, withoutPositivesNote } from './metrics-json.js';
import { bestWorst, scoresLine } from './markdown.js';
import { genreTable, renderText } from './table.js';

/** Checks that a parsed metrics.json is one this version reads; `where` names it in the error. */
export function asMetricsJson(value: unknown, where: string): MetricsJson {
  const v = value as Partial<MetricsJson> | null;
  if (v === null || typeof v !== 'object' || v.format !== METRICS_FORMAT || !Array.isArray(v.per_genre)) {
    throw new UserError(`${where} is not a metrics.json this version reads (expected format ${METRICS_FORMAT})`, 'rerun the metrics stage: pipeline run metrics');
  }
  return v as MetricsJson;
}

/** `pipeline metrics [RUN]`: the per-genre table beside the published figures, then the means. */
export function formatMetricsTable(m: MetricsJson): string {
  const lines = [
    `${m.model} on ${m.split}${m.split !== m.requested_split ? ` (no ${m.requested_split} movies)` : ''}: ${m.movies} movies, threshold ${m.threshold}; P / R / AP in %`,
    '',
    renderText(genreTable(m)),
    '',
    `${m.model}: ${scoresLine(m)}`,
    bestWorst(m),
  ];
  if (m.baseline !== null) lines.push(`baseline (${m.baseline.model}): ${scoresLine(m.baseline)}`);
  const np = withoutPositivesNote(m);
  if (np !== null) lines.push(np);
  return lines.join('\n');
}

function signed(x: number | null, digits = 2): string {
  if (x === null) return 'n/a';
  const v = (x * 100).toFixed(digits);
  // A delta that rounds to zero prints unsigned, so "-0.00" never suggests a change.
  if (Number(v) === 0) return (0).toFixed(digits);
  return x > 0 ? `+${v}` : v;
}

function delta(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined ? null : b - a;
}

/**
 * `pipeline metrics diff RUN_A RUN_B`: per-genre P/R/AP of A and B and B - A, then the deltas of
 * the means. Genres are matched by name; one present on one side only shows "—". The CLI adds
 * the lines of params that differ between the runs.
 */
export function diffMetrics(a: MetricsJson, b: MetricsJson, labels: { a: string; b: string } = { a: 'A', b: 'B' }): string {
  const out: string[] = [];
  out.push(`${labels.a}: ${a.model} on ${a.split} (${a.movies} movies)`);
  out.push(`${labels.b}: ${b.model} on ${b.split} (${b.movies} movies)`);
  if (a.split !== b.split || a.movies !== b.movies || a.threshold !== b.threshold) {
    out.push(
      `note: the runs were scored on different ${a.split !== b.split ? 'splits' : a.movies !== b.movies ? 'movie sets' : 'thresholds'}; deltas mix model and data changes`,
    );
  }
  out.push('');
  const names: string[] = [...a.per_genre.map((g) => g.genre)];
  for (const g of b.per_genre) if (!names.includes(g.genre)) names.push(g.genre);
  const ga = new Map(a.per_genre.map((g) => [g.genre, g]));
  const gb = new Map(b.per_genre.map((g) => [g.genre, g]));
  const header = ['genre', `AP ${labels.a}`, `AP ${labels.b}`, 'ΔAP', 'ΔP', 'ΔR', 'ΔF1'];
  const rows: string[][] = names.map((name) => {
    const x = ga.get(name);
    const y = gb.get(name);
    const cell = (v: number | null | undefined): string => (v === undefined ? '—' : pct(v));
    return [
      name,
      cell(x === undefined ? undefined : x.ap),
      cell(y === undefined ? undefined : y.ap),
      x === undefined || y === undefined ? '—' : signed(delta(x.ap, y.ap)),
      x === undefined || y === undefined ? '—' : signed(delta(x.precision, y.precision)),
      x === undefined || y === undefined ? '—' : signed(delta(x.recall, y.recall)),
      x === undefined || y === undefined ? '—' : signed(delta(x.f1, y.f1)),
    ];
  });
  const means: Array<[string, keyof Pick<MetricsJson, 'mAP' | 'micro_ap' | 'micro_f1' | 'macro_f1' | 'weighted_f1'>]> = [
    ['mAP', 'mAP'],
    ['micro AP', 'micro_ap'],
    ['micro F1', 'micro_f1'],
    ['macro F1', 'macro_f1'],
    ['weighted F1', 'weighted_f1'],
  ];
  const footer = means.map(([label, key]) => [label, pct(a[key]), pct(b[key]), signed(delta(a[key], b[key])), '', '', '']);
  const all = [header, ...rows, ...footer];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const fmt = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  out.push(fmt(header), rule, ...rows.map(fmt), rule, ...footer.map(fmt));
  const moved = names
    .map((name) => ({ name, d: delta(ga.get(name)?.ap, gb.get(name)?.ap) }))
    .filter((x): x is { name: string; d: number } => x.d !== null)
    .sort((p, q) => Math.abs(q.d) - Math.abs(p.d))
    .slice(0, 3);
  if (moved.length > 0) out.push('', `largest AP changes: ${moved.map((x) => `${x.name} ${signed(x.d)}`).join(', ')} (points)`);
  if (a.baseline !== null && b.baseline !== null) {
    out.push(`baseline mAP: ${pct(a.baseline.mAP)} -> ${pct(b.baseline.mAP)} (${signed(delta(a.baseline.mAP, b.baseline.mAP))})`);
  }
  return out.join('\n');
}
