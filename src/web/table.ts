// The runs table as the page pages through it: the table itself is src/experiments/table.ts's
// (the same data as `pipeline runs --table`: a column for every param that differs and for each
// metric, identical results marked); here it gains each run's sequence number and duration from
// the run index, and the filtering, sorting and paging the page asks the server for.
import type { RunRow } from '../runs.js';
import type { RunsTable as ExperimentsTable } from '../experiments/table.js';

export interface TableColumn {
  /** `run`, `time`, `ok`, `seconds`, `param:<dotted key>` or `metric:<metric key>`. */
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
  /** The first listed run with the same results (every stage's output root equal). */
  identical?: string;
}

export interface RunsTable {
  columns: TableColumn[];
  rows: TableRow[];
}

/** The experiments table over every run of the index (`rows`, oldest first, as it lists them). */
export function webTable(t: ExperimentsTable, rows: readonly RunRow[]): RunsTable {
  const columns: TableColumn[] = [];
  for (const c of t.columns) {
    if (c.kind === 'param') columns.push({ key: `param:${c.key}`, label: c.label, group: 'param' });
    else if (c.kind === 'metric') columns.push({ key: `metric:${c.key}`, label: c.label, group: 'metric' });
    else {
      columns.push({ key: c.key, label: c.label, group: 'run' });
      if (c.kind === 'state') columns.push({ key: 'seconds', label: 'seconds', group: 'run' });
    }
  }
  if (t.rows.length !== rows.length) throw new Error(`internal: the runs table has ${t.rows.length} rows for ${rows.length} runs`);
  return {
    columns,
    rows: t.rows.map((r, i) => {
      const row = rows[i]!;
      if (row.id !== r.run) throw new Error(`internal: runs table row ${i} is ${r.run}, the index says ${row.id}`);
      return {
        run: r.run,
        seq: row.seq,
        time: row.time,
        ok: r.ok,
        seconds: row.seconds,
        params: r.params,
        metrics: r.metrics,
        ...(r.identical !== undefined && r.identical !== r.run ? { identical: r.identical } : {}),
      };
    }),
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
