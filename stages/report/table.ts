// The per-genre table, in the reference project's layout (precision@t / recall@t / AP, in %),
// beside the published figures. One builder; metrics.md renders it as Markdown and
// `pipeline metrics` as aligned text.
import type { MetricsJson } from './metrics-json.js';
import { pct } from './metrics-json.js';
import { PUBLISHED, publishedMeanAp } from './published.js';
import type { PublishedRow } from './published.js';

export interface Table {
  header: string[];
  rows: string[][];
  /** Rows after a rule (means). */
  footer: string[][];
  /** Columns to right-align. */
  right: boolean[];
}

function triple(p: number, r: number, ap: number | null): string {
  return `${pct(p)} / ${pct(r)} / ${pct(ap)}`;
}

function publishedTriple(row: PublishedRow | undefined): string {
  if (row === undefined) return '—';
  const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(2));
  return `${f(row.precision)} / ${f(row.recall)} / ${f(row.ap)}`;
}

export function genreTable(m: MetricsJson): Table {
  const t = String(m.threshold);
  const hasBaseline = m.baseline !== null;
  const header = [
    'genre',
    `ours (${m.model}) P@${t} / R@${t} / AP`,
    ...(hasBaseline ? ['baseline AP'] : []),
    ...PUBLISHED.map((s) => s.short),
    'F1',
    'support',
  ];
  const baseAp = new Map((m.baseline?.per_genre ?? []).map((g) => [g.genre, g.ap]));
  const rows = m.per_genre.map((g) => [
    g.genre,
    triple(g.precision, g.recall, g.ap),
    ...(hasBaseline ? [pct(baseAp.get(g.genre) ?? null)] : []),
    ...PUBLISHED.map((s) => publishedTriple(s.rows[g.genre])),
    pct(g.f1),
    String(g.support),
  ]);
  const withAp = m.per_genre.filter((g) => g.ap !== null).length;
  const pubMean = (i: number): string => {
    const src = PUBLISHED[i]!;
    const { mean, count } = publishedMeanAp(src);
    return mean === null ? 'n/a' : `AP ${mean.toFixed(2)} (${count})`;
  };
  const footer = [
    [
      'mean AP',
      `${pct(m.mAP)} (${withAp} genres)`,
      ...(hasBaseline ? [pct(m.baseline!.mAP)] : []),
      ...PUBLISHED.map((_, i) => pubMean(i)),
      `macro ${pct(m.macro_f1)}`,
      String(m.per_genre.reduce((a, g) => a + g.support, 0)),
    ],
  ];
  const right = header.map((_, i) => i > 0);
  return { header, rows, footer, right };
}

export function renderMarkdown(t: Table): string {
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const rule = `|${t.header.map((_, i) => (t.right[i] ? '---:' : ':---')).join('|')}|`;
  return [row(t.header), rule, ...t.rows.map(row), ...t.footer.map((r) => row(r.map((c) => `**${c}**`)))].join('\n');
}

export function renderText(t: Table): string {
  const all = [t.header, ...t.rows, ...t.footer];
  const widths = t.header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string =>
    r
      .map((c, i) => (t.right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  return [fmt(t.header), rule, ...t.rows.map(fmt), rule, ...t.footer.map(fmt)].join('\n');
}
