// The runs table: one row per recorded run, a column for every param whose value differs
// between runs and for each headline metric; then sorting, filtering and paging for the page.
import type { RunRecord, RunRow } from '../runs.js';
import type { MetricsJson } from '../../stages/report/metrics-json.js';
import { flatParams } from './workspace.js';

export interface TableColumn {
  key: string;
  label: string;
  group: 'run' | 'param' | 'metric';
}

export interface TableRow {
  run: string;
  seq: number;
  time: number;
  ok: boolean;
  seconds: number;
  params: Record<string, unknown>;
  metrics: Record<string, number | null>;
  /** The id of an earlier row with the same run id: nothing changed, the same results. */
  identical?: number;
}

export interface RunsTable {
  columns: TableColumn[];
  rows: TableRow[];
}

export interface TableEntry {
  row: RunRow;
  record: RunRecord | undefined;
  metrics: MetricsJson | undefined;
}

export const METRIC_COLUMNS: Array<{ key: string; label: string; of: (m: MetricsJson) => number | null }> = [
  { key: 'mAP', label: 'mAP', of: (m) => m.mAP },
  { key: 'micro_ap', label: 'micro AP', of: (m) => m.micro_ap },
  { key: 'weighted_f1', label: 'weighted F1', of: (m) => m.weighted_f1 },
  { key: 'macro_f1', label: 'macro F1', of: (m) => m.macro_f1 },
  { key: 'baseline_mAP', label: 'baseline mAP', of: (m) => m.baseline?.mAP ?? null },
];

export function buildRunsTable(entries: readonly TableEntry[]): RunsTable {
  const flat = entries.map((e) => (e.record ? flatParams(e.record.params) : {}));
  const keys = new Set<string>();
  for (const f of flat) for (const k of Object.keys(f)) keys.add(k);
  const differing = [...keys].filter((k) => {
    const first = JSON.stringify(flat[0]?.[k]);
    return flat.some((f) => JSON.stringify(f[k]) !== first);
  });
  differing.sort();
  const seen = new Map<string, number>();
  const rows: TableRow[] = entries.map((e, i) => {
    const params: Record<string, unknown> = {};
    for (const k of differing) params[k] = flat[i]![k];
    const metrics: Record<string, number | null> = {};
    if (e.metrics) for (const c of METRIC_COLUMNS) metrics[c.key] = c.of(e.metrics);
    const earlier = seen.get(e.row.id);
    if (earlier === undefined) seen.set(e.row.id, e.row.seq);
    return {
      run: e.row.id,
      seq: e.row.seq,
      time: e.row.time,
      ok: e.row.ok,
      seconds: e.row.seconds,
      params,
      metrics,
      ...(earlier !== undefined ? { identical: earlier } : {}),
    };
  });
  const anyMetrics = entries.some((e) => e.metrics !== undefined);
  return {
    columns: [
      { key: 'run', label: 'run', group: 'run' },
      { key: 'time', label: 'time', group: 'run' },
      { key: 'ok', label: 'state', group: 'run' },
      { key: 'seconds', label: 'seconds', group: 'run' },
      ...differing.map((k) => ({ key: `param:${k}`, label: k, group: 'param' as const })),
      ...(anyMetrics ? METRIC_COLUMNS.map((c) => ({ key: `metric:${c.key}`, label: c.label, group: 'metric' as const })) : []),
    ],
    rows,
  };
}

export function cellValue(row: TableRow, key: string): unknown {
  if (key.startsWith('param:')) return row.params[key.slice(6)];
  if (key.startsWith('metric:')) return row.metrics[key.slice(7)];
  if (key === 'run') return row.run;
  if (key === 'time') return row.time;
  if (key === 'ok') return row.ok ? 'ok' : 'failed';
  if (key === 'seconds') return row.seconds;
  if (key === 'seq') return row.seq;
  return undefined;
}

function compare(a: unknown, b: unknown): number {
  // Missing values sort last whichever the direction (see sortRows).
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

/**
 * A filter is space-separated terms, all of which must hold: `key=value`, `key!=value`,
 * `key>n`, `key<n`, `key>=n`, `key<=n` on a param or metric (a key may be given by its end,
 * `lr` for `train.lr`), or plain text found in the run id, state or a param value.
 */
export function filterRows(table: RunsTable, q: string): TableRow[] {
  const terms = q.trim().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return table.rows;
  const keys = table.columns.filter((c) => c.group !== 'run').map((c) => c.key);
  const tests = terms.map((t) => {
    const m = /^([^<>=!]+)(!=|>=|<=|=|>|<)(.*)$/.exec(t);
    if (!m) {
      const needle = t.toLowerCase();
      return (r: TableRow) =>
        r.run.includes(needle) || (r.ok ? 'ok' : 'failed') === needle || Object.values(r.params).some((v) => String(v).toLowerCase().includes(needle));
    }
    const [, name, op, raw] = m as unknown as [string, string, string, string];
    const key =
      keys.find((k) => k === `param:${name}` || k === `metric:${name}`) ??
      keys.find((k) => k.endsWith(`.${name}`) || k.toLowerCase() === `metric:${name.toLowerCase()}`) ??
      (['run', 'ok', 'seconds'].includes(name) ? name : undefined);
    if (key === undefined) return () => false;
    const want = Number(raw);
    return (r: TableRow) => {
      const v = cellValue(r, key);
      if (v === undefined || v === null) return op === '!=';
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      const numeric = typeof v === 'number' && Number.isFinite(want);
      switch (op) {
        case '=':
          return numeric ? v === want : s === raw || String(v) === raw;
        case '!=':
          return numeric ? v !== want : s !== raw && String(v) !== raw;
        case '>':
          return numeric && v > want;
        case '<':
          return numeric && v < want;
        case '>=':
          return numeric && v >= want;
        default:
          return numeric && v <= want;
      }
    };
  });
  return table.rows.filter((r) => tests.every((t) => t(r)));
}

export function sortRows(rows: readonly TableRow[], key: string, desc: boolean): TableRow[] {
  const out = [...rows];
  out.sort((a, b) => {
    const x = cellValue(a, key);
    const y = cellValue(b, key);
    const xm = x === undefined || x === null;
    const ym = y === undefined || y === null;
    if (xm || ym) return xm === ym ? a.seq - b.seq : xm ? 1 : -1;
    const c = compare(x, y);
    return (desc ? -c : c) || a.seq - b.seq;
  });
  return out;
}
