// pipeline.lock: what the latest successful run computed, beside pipeline.yaml, for git.
// Readable YAML with every map's keys sorted, and nothing about time (no run id either: the
// run id hashes the record, whose trees name the timing files), so two runs with the same
// results write the same bytes and `git diff pipeline.lock` shows exactly what changed.
//
// Per stage: its definition (kind or cmd, deps, declared params, outs, on_error, a matrix
// variant's own values), its fingerprint parts (code version, param values, environment,
// external inputs, upstream roots) and hash, and its output root: for a per-item stage the
// manifest too, for a whole-output stage its files (volatile files, which hold timings, left
// out and named). A run of some stages only (`pipeline run embed`) replaces those stages and
// keeps the others that pipeline.yaml still has.
//
// `pipeline reproduce --lock [FILE]` re-executes from it (its params and stages, not today's
// pipeline.yaml and conf) and compares every root; `pipeline checkout --lock [FILE]` writes
// its outputs from the cache.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseDocument, stringify } from '../yaml.js';
import { ConfigError, type Diagnostic } from '../diagnostics.js';
import { UserError } from '../errors.js';
import type { StageFingerprint } from '../fingerprint.js';
import { Params, type Conf } from '../params.js';
import type { OutputRef, RunRecord, StageRecord } from '../runs.js';
import type { Project } from '../spec.js';
import { isVolatile, type JsonValue, type Tree } from '../stage-api.js';

export const LOCK_FILE = 'pipeline.lock';
export const LOCK_FORMAT = 1;

export interface LockStage {
  kind?: string;
  cmd?: string;
  deps: string[];
  /** Ports bound explicitly (pipeline.yaml `inputs:`), where several deps could feed them. */
  inputs_bound?: Record<string, string>;
  path_deps: string[];
  declared: string[];
  outs: string[];
  on_error: 'fail' | 'skip';
  set?: Record<string, JsonValue>;
  version: string;
  /** The hash of the kind's compiled code (src/code-identity.ts). */
  code?: string;
  params: Record<string, JsonValue>;
  env: Record<string, string>;
  inputs: Record<string, string>;
  upstream: Record<string, string>;
  fingerprint: string;
  output:
    | { type: 'collection'; root: string; manifest: string }
    | { type: 'tree'; root: string; files: Tree; volatile?: string[] };
}

export interface LockFile {
  format: number;
  versions: Record<string, string>;
  params: Conf;
  stages: Record<string, LockStage>;
}

function lockStage(s: StageRecord): LockStage | undefined {
  const out = s.output;
  if (!out || !s.ok) return undefined;
  let output: LockStage['output'];
  if (out.type === 'collection') output = { type: 'collection', root: out.root, manifest: out.manifest };
  else {
    const files: Tree = {};
    for (const [p, h] of Object.entries(out.tree)) if (!isVolatile(p, out.volatile)) files[p] = h;
    output = { type: 'tree', root: out.root, files, ...(out.volatile && out.volatile.length > 0 ? { volatile: out.volatile } : {}) };
  }
  return {
    ...(s.uses ? { kind: s.uses } : {}),
    ...(s.cmd ? { cmd: s.cmd } : {}),
    deps: s.deps,
    ...(s.explicitPorts && Object.keys(s.explicitPorts).length > 0 ? { inputs_bound: s.explicitPorts } : {}),
    path_deps: s.pathDeps,
    declared: s.params,
    outs: s.outs,
    on_error: s.onError,
    ...(s.set ? { set: s.set } : {}),
    version: s.fp.version,
    ...(s.fp.code ? { code: s.fp.code } : {}),
    params: s.fp.params,
    env: s.fp.env,
    inputs: s.fp.inputs,
    upstream: s.fp.deps,
    fingerprint: s.fpHash,
    output,
  };
}

/** The lock for a record, merged over the previous lock's stages that the project still has. */
export function lockFromRecord(record: RunRecord, previous: LockFile | undefined, project?: Pick<Project, 'stages'>): LockFile {
  const stages: Record<string, LockStage> = {};
  if (previous) {
    for (const [name, s] of Object.entries(previous.stages)) if (!project || project.stages.has(name)) stages[name] = s;
  }
  for (const [name, s] of Object.entries(record.stages)) {
    const l = lockStage(s);
    if (l) stages[name] = l;
  }
  return { format: LOCK_FORMAT, versions: record.versions, params: record.params, stages };
}

const HEADER = [
  '# pipeline.lock: what the latest successful `pipeline run` computed (written by it; keep it in git).',
  '# Per stage: definition, fingerprint parts, output root. `pipeline reproduce --lock` re-executes it;',
  '# `pipeline checkout --lock` restores its outputs from the cache.',
].join('\n');

/** Deterministic YAML: every map's keys sorted, long lines kept whole. */
export function renderLock(lock: LockFile): string {
  return `${HEADER}\n${stringify(lock, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** Writes pipeline.lock atomically (temp file, rename); unchanged content is not rewritten. */
export function writeLockFile(project: Pick<Project, 'root' | 'stages'>, record: RunRecord): string {
  const file = join(project.root, LOCK_FILE);
  let previous: LockFile | undefined;
  try {
    previous = existsSync(file) ? parseLock(readFileSync(file, 'utf8'), file) : undefined;
  } catch {
    previous = undefined; // an unreadable lock is replaced whole
  }
  const text = renderLock(lockFromRecord(record, previous, project));
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return file;
}

/** Parses and checks a lock file; a problem is a ConfigError naming the file and the stage. */
export function parseLock(text: string, file: string): LockFile {
  const doc = parseDocument(text);
  const problems: Diagnostic[] = doc.errors.map((e) => ({ message: `${file}: ${e.message.split('\n')[0]}` }));
  if (problems.length > 0) throw new ConfigError(problems);
  const raw = doc.toJS() as Partial<LockFile> | null;
  const fix = 'run `pipeline run` to write it again';
  if (!raw || typeof raw !== 'object') throw new UserError(`${file} is empty or not a mapping`, fix);
  if (raw.format !== LOCK_FORMAT) throw new UserError(`${file} has format ${String(raw.format)}; this pipeline reads format ${LOCK_FORMAT}`, fix);
  if (typeof raw.params !== 'object' || raw.params === null) throw new UserError(`${file} has no params section`, fix);
  if (typeof raw.stages !== 'object' || raw.stages === null) throw new UserError(`${file} has no stages section`, fix);
  for (const [name, s] of Object.entries(raw.stages)) {
    const bad = (what: string): UserError => new UserError(`${file}: stage ${name}: ${what}`, fix);
    if (typeof s !== 'object' || s === null) throw bad('not a mapping');
    if (!s.kind && !s.cmd) throw bad("needs 'kind' or 'cmd'");
    if (!Array.isArray(s.deps) || !Array.isArray(s.declared) || !Array.isArray(s.outs)) throw bad("'deps', 'declared' and 'outs' must be lists");
    if (typeof s.fingerprint !== 'string' || typeof s.version !== 'string') throw bad("needs 'fingerprint' and 'version'");
    if (!s.output || (s.output.type !== 'tree' && s.output.type !== 'collection') || typeof s.output.root !== 'string') throw bad("needs 'output' with a type and a root");
  }
  return { format: raw.format, versions: raw.versions ?? {}, params: raw.params, stages: raw.stages };
}

export function readLockFile(root: string, file?: string): { file: string; lock: LockFile } {
  const path = resolve(process.cwd(), file ?? join(root, LOCK_FILE));
  if (!existsSync(path)) {
    throw new UserError(`no lock file at ${relative(process.cwd(), path) || path}`, 'a successful `pipeline run` writes pipeline.lock beside pipeline.yaml');
  }
  return { file: path, lock: parseLock(readFileSync(path, 'utf8'), relative(process.cwd(), path) || path) };
}

/** The lock as a run record (trees hold only the non-volatile files), for reproduce and checkout. */
export function recordFromLock(lock: LockFile): RunRecord {
  const params = new Params(lock.params);
  const stages: Record<string, StageRecord> = {};
  for (const [name, s] of Object.entries(lock.stages)) {
    const fp: StageFingerprint = {
      kind: s.kind ?? 'cmd',
      version: s.version,
      ...(s.code ? { code: s.code } : {}),
      params: s.params,
      env: s.env ?? {},
      inputs: s.inputs ?? {},
      ...(s.inputs_bound ? { ports: s.inputs_bound } : {}),
      deps: s.upstream ?? {},
    };
    // A stage kept from an earlier run may have seen other values than the lock's params:
    // those become its own values, so that a reproduction gives it what it had.
    const set: Record<string, JsonValue> = { ...(s.set ?? {}) };
    for (const [k, v] of Object.entries(s.params)) {
      if (!(k in set) && JSON.stringify(params.get(k)) !== JSON.stringify(v)) set[k] = v;
    }
    const output: OutputRef =
      s.output.type === 'collection'
        ? { type: 'collection', root: s.output.root, manifest: s.output.manifest }
        : { type: 'tree', root: s.output.root, tree: s.output.files ?? {}, ...(s.output.volatile ? { volatile: s.output.volatile } : {}) };
    stages[name] = {
      ...(s.kind ? { uses: s.kind } : {}),
      ...(s.cmd ? { cmd: s.cmd } : {}),
      deps: s.deps,
      ...(s.inputs_bound ? { explicitPorts: s.inputs_bound } : {}),
      pathDeps: s.path_deps ?? [],
      params: s.declared,
      outs: s.outs,
      onError: s.on_error === 'skip' ? 'skip' : 'fail',
      ...(Object.keys(set).length > 0 ? { set } : {}),
      fp,
      fpHash: s.fingerprint,
      ok: true,
      output,
    };
  }
  return { format: 1, ok: true, targets: Object.keys(stages), params: lock.params, stages, versions: lock.versions };
}
