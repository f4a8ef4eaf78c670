// Run records. A record holds what a run resolved and produced (the pipeline, every param,
// each stage's fingerprint and output hashes, item failures, versions) and nothing about how
// long it took, so its hash — the run id — names a result: rerunning the same pipeline on the
// same data gives the same id. Timings and ran/cached counts live in the run index beside it.
import type { Headline } from './stage-api.js';
import type { Db } from './db.js';
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
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  add(id: string, ok: boolean, seconds: number, summary: RunRow['summary']): number {
    const info = this.#db
      .prepare('INSERT INTO runs(id, time, ok, seconds, summary) VALUES (?, ?, ?, ?, ?)')
      .run(id, Date.now(), ok ? 1 : 0, seconds, JSON.stringify(summary));
    return Number(info.lastInsertRowid);
  }

  /** Adds a run known elsewhere (pulled from a remote) with its original time, unless it is here already. */
  addIfMissing(row: Pick<RunRow, 'id' | 'time' | 'ok' | 'seconds' | 'summary'>): void {
    if (this.#db.prepare('SELECT 1 FROM runs WHERE id = ?').get(row.id) !== undefined) return;
    this.#db
      .prepare('INSERT INTO runs(id, time, ok, seconds, summary) VALUES (?, ?, ?, ?, ?)')
      .run(row.id, row.time, row.ok ? 1 : 0, row.seconds, JSON.stringify(row.summary));
  }

  latest(): RunRow | undefined {
    const r = this.#db.prepare('SELECT * FROM runs ORDER BY seq DESC LIMIT 1').get() as RawRow | undefined;
    return r ? parseRow(r) : undefined;
  }

  list(limit = 1000): RunRow[] {
    return (this.#db.prepare('SELECT * FROM runs ORDER BY seq DESC LIMIT ?').all(limit) as RawRow[]).map(parseRow).reverse();
  }

  /** Resolves a unique id prefix (like git); throws a message listing the candidates otherwise. */
  resolve(prefix: string): RunRow {
    const p = prefix.trim().toLowerCase();
    if (p === 'latest' || p === 'last' || p === 'HEAD'.toLowerCase()) {
      const l = this.latest();
      if (!l) throw new RunNotFound('no runs yet: run `pipeline run` first');
      return l;
    }
    if (!/^[0-9a-f]{1,16}$/.test(p)) throw new RunNotFound(`'${prefix}' is not a run id (16 hex digits, or a unique prefix; see \`pipeline runs\`)`);
    const rows = (this.#db.prepare("SELECT * FROM runs WHERE id LIKE ? || '%' ORDER BY seq DESC").all(p) as RawRow[]).map(parseRow);
    const ids = [...new Set(rows.map((r) => r.id))];
    if (ids.length === 0) throw new RunNotFound(`no run matches '${prefix}' (see \`pipeline runs\`)`);
    if (ids.length > 1) throw new RunNotFound(`'${prefix}' is ambiguous: ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', ...' : ''}`);
    return rows[0]!;
  }
}

export class RunNotFound extends Error {
  override name = 'RunNotFound';
}

interface RawRow {
  seq: number;
  id: string;
  time: number;
  ok: number;
  seconds: number;
  summary: string;
}

function parseRow(r: RawRow): RunRow {
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
