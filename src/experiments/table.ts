// The table of runs: one row per recorded run, one column per parameter that differs among the
// listed runs and one per metric. `pipeline runs --table` prints it; the web UI calls it too, so
// it depends on nothing of the command line.
//
//   buildRunsTable(source: TableSource, opts?: TableOptions): Promise<RunsTable>
//
//   source  { runs: RunIndex; store: { readJson(hash) } }: the workspace's run index and its
//           store (an Engine has both: `buildRunsTable(engine, {...})`). Only read, never written.
//   opts    runs     run ids / unique prefixes / "latest" (default: the newest `limit` runs)
//           limit    how many of the newest runs when `runs` is not given (default 20)
//           sort     a column key (`mAP`, `train.lr`, `run`, `time`, `ok`, ...); `-KEY` or
//                    `KEY:desc` sorts descending, `KEY:asc` ascending; the default direction is
//                    descending for metrics (higher is better for all of them), ascending
//                    otherwise; runs without a value go last. Without it: oldest run first.
//           detail   add the per-class columns the results report marks as detail (through
//                    the `runs --table` option the registered results reader names)
//   returns { columns: Column[], rows: TableRow[] }, exactly what `--json` prints:
//           rows: [{ run, time, ok, params, metrics, identical? }]
//           - params: the row's values of the param columns (the params that differ)
//           - metrics: metric key -> value (null: n/a for that run)
//           - identical: present when another listed run has the same non-volatile outputs
//             (the same output root for every stage); the id of the first such run listed, so
//             rows sharing it form a group.
//
// Metric keys and labels come from the registered results reader (src/registry.ts,
// ScoresReader): the stages of a record that hold a report, and each report's numbers. A run
// with several report stages (a `matrix:` stage, e.g. metrics@gru) has keys `<stage>/<metric>`
// for every report stage but the one named after its kind. A run without a report shows its
// headline.
//
// Cost: one query on the run index, then each run's record and report read once (local
// files read synchronously: far faster than as many concurrent async reads); a run's derived row is kept in memory by run id (a run id names its content, so the row
// never changes), so a long-lived caller (the UI) reads each run once.
import { readFileSync } from 'node:fs';
import { hashJson } from '../hash.js';
import type { RunIndex, RunRecord, RunRow } from '../runs.js';
import type { JsonValue } from '../stage-api.js';
import { UsageError, UserError } from '../errors.js';
import { didYouMean } from '../diagnostics.js';
import { loadScores, type ScoresReader } from '../registry.js';

export interface TableSource {
  runs: RunIndex;
  store: { path(hash: string): string; readJson<T = unknown>(hash: string): Promise<T> };
}

/**
 * Reads a JSON object: from its local file, synchronously (1,000 small files read one after
 * the other take a tenth of the time of 1,000 concurrent async reads), else through the
 * store's own read (which may fetch it); undefined when it cannot be had.
 */
async function readObject<T>(store: TableSource['store'], hash: string): Promise<T | undefined> {
  try {
    return JSON.parse(readFileSync(store.path(hash), 'utf8')) as T;
  } catch {
    return store.readJson<T>(hash).catch(() => undefined);
  }
}

export interface TableOptions {
  runs?: readonly string[];
  limit?: number;
  sort?: string;
  /** Add the report's detail (per-class) columns. */
  detail?: boolean;
}

export type ColumnKind = 'run' | 'time' | 'state' | 'param' | 'metric';

export interface Column {
  /** What `--sort` takes, and the key in the row's params / metrics. */
  key: string;
  kind: ColumnKind;
  /** Header text. */
  label: string;
}

export interface TableRow {
  run: string;
  /** ISO 8601. */
  time: string;
  ok: boolean;
  params: Record<string, JsonValue>;
  metrics: Record<string, number | null>;
  identical?: string;
}

export interface RunsTable {
  columns: Column[];
  rows: TableRow[];
}

/** What one run contributes, derived from its record and metrics files (immutable per run id). */
export interface DerivedRun {
  /** Every leaf param, dotted. Empty when the record is gone (gc). */
  params: Record<string, JsonValue>;
  metrics: Record<string, number | null>;
  /** Metric keys in display order. */
  metricOrder: string[];
  /** The keys among them that are detail (per-class) columns. */
  detail: Set<string>;
  /** Hash of every stage's output root; equal for runs with identical non-volatile outputs. */
  identity: string | undefined;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Every leaf of a conf tree, dotted (lists are leaves), as Params.allKeys sees it. */
export function flattenParams(tree: unknown, prefix = '', out: Record<string, JsonValue> = {}): Record<string, JsonValue> {
  if (typeof tree === 'object' && tree !== null && !Array.isArray(tree) && Object.keys(tree).length > 0) {
    for (const [k, v] of Object.entries(tree)) flattenParams(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = tree as JsonValue;
  }
  return out;
}

/** Identity of a run's results: its stages' output roots (roots leave volatile files out). */
export function resultIdentity(record: RunRecord): string | undefined {
  const roots: Record<string, string> = {};
  for (const [name, s] of Object.entries(record.stages)) if (s.output) roots[name] = s.output.root;
  return Object.keys(roots).length === 0 ? undefined : hashJson(roots);
}

const memo = new Map<string, DerivedRun>();
const MEMO_MAX = 20_000;

function metricsOf(prefix: string, report: unknown, reader: ScoresReader, into: DerivedRun): void {
  for (const e of reader.entries(report)) {
    into.metrics[prefix + e.key] = e.value;
    into.metricOrder.push(prefix + e.key);
    if (e.detail) into.detail.add(prefix + e.key);
  }
}

/** Reads what the table needs of many runs at once (records, then reports), deduplicated. */
export async function deriveRuns(source: TableSource, rows: readonly RunRow[]): Promise<Map<string, DerivedRun>> {
  const reader = await loadScores();
  const out = new Map<string, DerivedRun>();
  const todo = [...new Set(rows.map((r) => r.id))].filter((id) => {
    const m = memo.get(id);
    if (m) out.set(id, m);
    return m === undefined;
  });
  const records: Array<RunRecord | undefined> = [];
  for (const id of todo) records.push(await readObject<RunRecord>(source.store, id));
  const files = new Map<string, unknown>();
  const stagesOf = records.map((rec) => (rec && reader ? reader.reportStages(rec) : []));
  const metricFiles: unknown[][] = [];
  for (const ss of stagesOf) {
    const got: unknown[] = [];
    for (const s of ss) {
      if (!files.has(s.hash)) files.set(s.hash, await readObject<unknown>(source.store, s.hash));
      got.push(files.get(s.hash));
    }
    metricFiles.push(got);
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  todo.forEach((id, i) => {
    const rec = records[i];
    const d: DerivedRun = { params: rec ? flattenParams(rec.params) : {}, metrics: {}, metricOrder: [], detail: new Set(), identity: rec ? resultIdentity(rec) : undefined };
    const ss = stagesOf[i]!;
    ss.forEach((s, j) => {
      const m = metricFiles[i]![j];
      if (!m) return;
      // The stage named after its kind (`metrics` among metrics@gru, ...) keeps the bare keys.
      const prefix = s.name === rec?.stages[s.name]?.uses || ss.length === 1 ? '' : `${s.name}/`;
      metricsOf(prefix, m, reader!, d);
    });
    const h = byId.get(id)?.summary.headline;
    if (ss.length === 0 && h) {
      d.metrics[h.name] = num(h.value);
      d.metricOrder.push(h.name);
      if (h.baseline) {
        d.metrics[h.baseline.name] = num(h.baseline.value);
        d.metricOrder.push(h.baseline.name);
      }
    }
    // Only a run whose record was read is kept: a missing record may come back (pull).
    if (rec) {
      if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value as string);
      memo.set(id, d);
    }
    out.set(id, d);
  });
  return out;
}

function metricLabel(key: string, reader: ScoresReader | undefined): string {
  const slash = key.lastIndexOf('/');
  const stage = slash >= 0 ? `${key.slice(0, slash)} ` : '';
  const k = slash >= 0 ? key.slice(slash + 1) : key;
  return stage + (reader ? reader.label(k) : k);
}

/** Picks the runs: the given ids/prefixes (in the order given), or the newest `limit`. */
export function selectRuns(index: RunIndex, runs: readonly string[] | undefined, limit: number): RunRow[] {
  if (runs && runs.length > 0) return runs.map((r) => index.resolve(r));
  if (!(Number.isInteger(limit) && limit >= 1)) throw new UserError(`--limit takes a whole number >= 1, got ${String(limit)}`, 'e.g. -n 50');
  return index.list(limit);
}

interface SortSpec {
  key: string;
  desc: boolean;
}

function parseSort(sort: string, columns: readonly Column[]): SortSpec {
  let key = sort.trim();
  let dir: 'asc' | 'desc' | undefined;
  if (key.startsWith('-')) {
    dir = 'desc';
    key = key.slice(1);
  } else if (key.startsWith('+')) {
    dir = 'asc';
    key = key.slice(1);
  }
  const m = /^(.*):(asc|desc)$/.exec(key);
  if (m) {
    key = m[1]!;
    dir = m[2] as 'asc' | 'desc';
  }
  const col =
    columns.find((c) => c.key === key) ??
    columns.find((c) => c.key.toLowerCase() === key.toLowerCase()) ??
    columns.find((c) => c.label.toLowerCase() === key.toLowerCase()); // e.g. 'state', 'micro AP'
  if (!col) {
    const keys = columns.map((c) => c.key);
    const hint = didYouMean(key, keys);
    throw new UsageError(
      `cannot sort by '${key}': no such column in this table${hint ? ` (did you mean '${hint}'?)` : ''}`,
      `sort by one of: ${keys.join(', ')} (prefix '-' or suffix ':desc' for descending)`,
    );
  }
  return { key: col.key, desc: dir === undefined ? col.kind === 'metric' : dir === 'desc' };
}

function cellOf(row: TableRow, col: Column): JsonValue | undefined {
  switch (col.kind) {
    case 'run':
      return row.run;
    case 'time':
      return row.time;
    case 'state':
      return row.ok;
    case 'param':
      return row.params[col.key];
    case 'metric':
      return row.metrics[col.key];
  }
}

function compareValues(a: JsonValue | undefined, b: JsonValue | undefined): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Sorts rows by a column; missing values (undefined, null) always last; ties keep run order. */
export function sortRows(rows: readonly TableRow[], columns: readonly Column[], sort: string): TableRow[] {
  const s = parseSort(sort, columns);
  const col = columns.find((c) => c.key === s.key)!;
  return rows
    .map((r, i) => ({ r, i, v: cellOf(r, col) }))
    .sort((x, y) => {
      const mx = x.v === undefined || x.v === null;
      const my = y.v === undefined || y.v === null;
      if (mx || my) return mx && my ? x.i - y.i : mx ? 1 : -1;
      const c = compareValues(x.v, y.v);
      return (s.desc ? -c : c) || x.i - y.i;
    })
    .map((x) => x.r);
}

/** The table of runs (see the top of this file). */
export async function buildRunsTable(source: TableSource, opts: TableOptions = {}): Promise<RunsTable> {
  const picked = selectRuns(source.runs, opts.runs, opts.limit ?? 20);
  const derived = await deriveRuns(source, picked);
  const reader = await loadScores();

  // Params that differ among the listed runs (a key missing from some run differs too).
  const paramKeys: string[] = [];
  const seen = new Set<string>();
  for (const r of picked) for (const k of Object.keys(derived.get(r.id)!.params)) if (!seen.has(k)) (seen.add(k), paramKeys.push(k));
  const differing = paramKeys.filter((k) => {
    let first: string | undefined;
    let n = 0;
    for (const r of picked) {
      const v = derived.get(r.id)!.params[k];
      const s = v === undefined ? '\u0000missing' : JSON.stringify(v);
      if (n++ === 0) first = s;
      else if (s !== first) return true;
    }
    return false;
  });

  // Metrics in first-seen order; one that no listed run has a value for (the baseline's mAP
  // when no baseline was trained) is left out.
  const metricKeys: string[] = [];
  const seenMetric = new Set<string>();
  for (const r of picked) {
    for (const k of derived.get(r.id)!.metricOrder) {
      if (seenMetric.has(k) || (!opts.detail && derived.get(r.id)!.detail.has(k))) continue;
      seenMetric.add(k);
      if (picked.some((p) => typeof derived.get(p.id)!.metrics[k] === 'number')) metricKeys.push(k);
    }
  }

  const columns: Column[] = [
    { key: 'run', kind: 'run', label: 'run' },
    { key: 'time', kind: 'time', label: 'time' },
    { key: 'ok', kind: 'state', label: 'state' },
    ...differing.map((k) => ({ key: k, kind: 'param' as const, label: k })),
    ...metricKeys.map((k) => ({ key: k, kind: 'metric' as const, label: metricLabel(k, reader) })),
  ];

  // Runs with the same results: grouped under the first listed run of each identity.
  const groups = new Map<string, { first: string; count: number }>();
  for (const r of picked) {
    const id = derived.get(r.id)!.identity;
    if (id === undefined) continue;
    const g = groups.get(id);
    if (g) g.count++;
    else groups.set(id, { first: r.id, count: 1 });
  }

  let rows: TableRow[] = picked.map((r) => {
    const d = derived.get(r.id)!;
    const params: Record<string, JsonValue> = {};
    for (const k of differing) if (d.params[k] !== undefined) params[k] = d.params[k]!;
    const metrics: Record<string, number | null> = {};
    for (const k of metricKeys) if (k in d.metrics) metrics[k] = d.metrics[k]!;
    const g = d.identity === undefined ? undefined : groups.get(d.identity);
    return {
      run: r.id,
      time: new Date(r.time).toISOString(),
      ok: r.ok,
      params,
      metrics,
      ...(g && g.count > 1 ? { identical: g.first } : {}),
    };
  });
  if (opts.sort) rows = sortRows(rows, columns, opts.sort);
  return { columns, rows };
}
