// Run records. A record holds what a run resolved and produced (the pipeline, every param,
// each stage's fingerprint and output hashes, item failures, versions) and nothing about how
// long it took, so its hash — the run id — names a result: rerunning the same pipeline on the
// same data gives the same id. Timings and ran/cached counts live in the run index beside it.
import type { Headline } from './stage-api.js';
import { runNotFound, type RunLookup } from './run-lookup.js';
import type { RunRowRaw, StateStore } from './engine/state.js';
import type { StageFingerprint } from './fingerprint.js';
import { canonicalJson, type Hash } from './hash.js';
import type { Conf } from './params.js';
import type { ItemErrorJson } from './plan.js';
import type { StageSummary } from './events.js';
import type { JsonObject, Tree } from './stage-api.js';
import type { LocalStore } from './store.js';

export type OutputRef =
  | { type: 'collection'; root: Hash; manifest: Hash }
  | { type: 'tree'; root: Hash; tree: Tree; meta?: JsonObject; volatile?: string[] };

export interface StageRecord {
  uses?: string;
  cmd?: string;
  deps: string[];
  pathDeps: string[];
  params: string[];
  outs: string[];
  onError: 'fail' | 'skip';
  /** Per-stage param values (a matrix variant's), as in StageSpec.set. */
  set?: Record<string, import('./stage-api.js').JsonValue>;
  /** Input port -> upstream stage, as in StageSpec.ports (records without it: bound again from deps). */
  ports?: Record<string, string>;
  /** As StageSpec.explicitPorts. */
  explicitPorts?: Record<string, string>;
  fp: StageFingerprint;
  fpHash: Hash;
  ok: boolean;
  output?: OutputRef;
  failures?: ItemErrorJson[];
  headline?: Headline;
}

export interface RunRecord {
  format: 1;
  ok: boolean;
  targets: string[];
  params: Conf;
  stages: Record<string, StageRecord>;
  versions: Record<string, string>;
}

/** The collection manifest object: per item, its input hash and output (or remembered failure). */
export interface Manifest {
  items: Record<string, { in: Hash; tree: Tree; meta?: JsonObject }>;
  errors?: Record<string, { in: Hash; error: ItemErrorJson }>;
}

export interface RunRow {
  seq: number;
  id: string;
  time: number;
  ok: boolean;
  seconds: number;
  summary: { targets: string[]; stages: StageSummary[]; headline?: Headline };
}

/** The run id: the hash of the record's canonical JSON, which is also its object name in the store. */
export function saveRecord(store: LocalStore, record: RunRecord): Hash {
  return store.putSync(canonicalJson(record));
}

export class RunIndex {
  readonly #state: StateStore;
  constructor(state: StateStore) {
    this.#state = state;
  }

  add(id: string, ok: boolean, seconds: number, summary: RunRow['summary']): number {
    return this.#state.addRun(id, Date.now(), ok, seconds, JSON.stringify(summary));
  }

  /** Adds a run known elsewhere (pulled from a remote) with its original time, unless it is here already. */
  addIfMissing(row: Pick<RunRow, 'id' | 'time' | 'ok' | 'seconds' | 'summary'>): void {
    if (this.#state.hasRun(row.id)) return;
    this.#state.addRun(row.id, row.time, row.ok, row.seconds, JSON.stringify(row.summary));
  }

  latest(): RunRow | undefined {
    const r = this.#state.latestRun();
    return r ? parseRow(r) : undefined;
  }

  list(limit = 1000): RunRow[] {
    return this.#state.recentRuns(limit).map(parseRow).reverse();
  }

  /** Finds a run by a unique id prefix (like git) or "latest"; otherwise says why not (src/run-lookup.ts). */
  find(prefix: string): RunLookup<RunRow> {
    const p = prefix.trim().toLowerCase();
    if (p === 'latest' || p === 'last' || p === 'HEAD'.toLowerCase()) {
      const l = this.latest();
      return l ? { ok: true, value: l } : { ok: false, error: { kind: 'no-runs' } };
    }
    if (!/^[0-9a-f]{1,16}$/.test(p)) return { ok: false, error: { kind: 'not-a-run-id', input: prefix } };
    const rows = this.#state.runsByPrefix(p).map(parseRow);
    const ids = [...new Set(rows.map((r) => r.id))];
    if (ids.length === 0) return { ok: false, error: { kind: 'no-match', input: prefix } };
    if (ids.length > 1) return { ok: false, error: { kind: 'ambiguous', input: prefix, candidates: ids.slice(0, 8), more: ids.length > 8 } };
    return { ok: true, value: rows[0]! };
  }

  /** find(), for callers that cannot go on without the run: throws RunNotFound (a usage error, exit 2). */
  resolve(prefix: string): RunRow {
    const r = this.find(prefix);
    if (!r.ok) throw runNotFound(r.error);
    return r.value;
  }
}

export { RunNotFound } from './run-lookup.js';

function parseRow(r: RunRowRaw): RunRow {
  return { seq: r.seq, id: r.id, time: r.time, ok: r.ok === 1, seconds: r.seconds, summary: JSON.parse(r.summary) as RunRow['summary'] };
}

export async function loadRecord(store: LocalStore, id: Hash): Promise<RunRecord> {
  return store.readJson<RunRecord>(id);
}

/** The stage definition a record holds, in the shape pipeline.yaml loads into. */
export function specFromRecord(name: string, s: StageRecord): import('./spec.js').StageSpec {
  return {
    name,
    ...(s.uses ? { uses: s.uses } : {}),
    ...(s.cmd ? { cmd: s.cmd } : {}),
    stageDeps: s.deps,
    ports: s.ports ?? {},
    ...(s.explicitPorts ? { explicitPorts: s.explicitPorts } : {}),
    pathDeps: s.pathDeps,
    params: s.params,
    outs: s.outs,
    onError: s.onError,
    ...(s.set ? { set: s.set } : {}),
  };
}
