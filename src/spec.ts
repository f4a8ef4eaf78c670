// Loads and validates pipeline.yaml: YAML syntax, the JSON Schema shipped in
// schema/pipeline.schema.json (src/spec-schema.ts), then what a schema cannot say: kinds, deps,
// outs and ports (src/spec-stages.ts), cycles, params (src/param-schema/validate.ts). Every
// problem is collected and reported at once with file:line:col. The shapes of a project are in
// src/spec-types.ts, re-exported here.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { kindInfo } from './registry.js';
import { ConfigError, type Diagnostic } from './diagnostics.js';
import type { Result } from './errors.js';
import { findCycle } from './graph.js';
import { keyLocation, loadParams, readYaml, valueLocation, Params } from './params.js';
import { checkStageParams } from './param-schema/validate.js';
import type { JsonValue } from './stage-api.js';
import { expandMatrices } from './experiments/matrix.js';
import { checkSpecSchema } from './spec-schema.js';
import { readStages } from './spec-stages.js';
import { DEFAULT_CONF, SPEC_FILE, type LoadOptions, type Project, type ProjectSettings, type StageSpec } from './spec-types.js';

export { DEFAULT_CONF, SPEC_FILE } from './spec-types.js';
export type { LoadOptions, OnError, Project, ProjectSettings, StageSpec } from './spec-types.js';
export { SCHEMA_PATH } from './spec-schema.js';

const stageParamsMemo = new WeakMap<Params, WeakMap<object, Params>>();
/** The params a stage sees: the conf with the stage's own values (`set`, from a matrix) over it. */
export function stageParams(params: Params, spec: Pick<StageSpec, 'set'>): Params {
  const set = spec.set;
  if (!set || Object.keys(set).length === 0) return params;
  let byStage = stageParamsMemo.get(params);
  if (!byStage) stageParamsMemo.set(params, (byStage = new WeakMap()));
  const hit = byStage.get(set);
  if (hit) return hit;
  const tree = structuredClone(params.tree);
  for (const [key, value] of Object.entries(set)) {
    const parts = key.split('.');
    let cur = tree as Record<string, JsonValue>;
    for (const p of parts.slice(0, -1)) {
      const next = cur[p];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[p] = {};
      cur = cur[p] as Record<string, JsonValue>;
    }
    cur[parts[parts.length - 1]!] = value;
  }
  const out = new Params(tree);
  byStage.set(set, out);
  return out;
}

export function findWorkspace(start = process.cwd()): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, SPEC_FILE))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Loads pipeline.yaml and the params; throws ConfigError listing every problem. */
export function loadProject(opts: LoadOptions = {}): Project {
  const r = readProject(opts);
  if (!r.ok) throw r.error;
  return r.value;
}

/** loadProject as a value: the project, or the ConfigError listing every problem (never thrown). */
export function readProject(opts: LoadOptions = {}): Result<Project, ConfigError> {
  const fail = (diagnostics: Diagnostic[], sources?: ReadonlyMap<string, string>): Result<Project, ConfigError> => ({ ok: false, error: new ConfigError(diagnostics, sources) });
  const root = opts.root ? resolve(opts.root) : findWorkspace();
  if (root === undefined) {
    return fail([{ message: `no ${SPEC_FILE} in this folder or any folder above it (run pipeline in a workspace, or pass -C DIR)` }]);
  }
  const specFile = join(root, SPEC_FILE);
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();
  const y = readYaml(specFile, diagnostics);
  if (!y) return fail(diagnostics, sources);
  sources.set(specFile, y.text);
  if (diagnostics.length > 0) return fail(diagnostics, sources);

  const raw = (y.doc.toJS() ?? {}) as unknown;
  checkSpecSchema(root, y, raw, opts.readOnly === true, diagnostics);

  const doc = (typeof raw === 'object' && raw !== null ? raw : {}) as {
    conf?: string;
    stages?: Record<string, Record<string, unknown>>;
    remote?: string;
    remote_pull?: boolean;
    executor?: 'local' | 'bullmq';
    redis?: string;
  };
  const settings: ProjectSettings = {
    ...(typeof doc.remote === 'string' ? { remote: doc.remote } : {}),
    ...(typeof doc.remote_pull === 'boolean' ? { remotePull: doc.remote_pull } : {}),
    ...(doc.executor === 'local' || doc.executor === 'bullmq' ? { executor: doc.executor } : {}),
    ...(typeof doc.redis === 'string' ? { redis: doc.redis } : {}),
  };
  const confRel = typeof doc.conf === 'string' ? doc.conf : DEFAULT_CONF;
  const confFile = resolve(root, confRel);
  const loaded = loadParams(
    {
      confFile,
      layers: (opts.confLayers ?? []).map((f) => resolve(f)),
      overrides: opts.overrides ?? [],
    },
    diagnostics,
  );
  for (const [f, t] of loaded.sources) sources.set(f, t);
  const params = loaded.params;

  const rawStages = typeof doc.stages === 'object' && doc.stages !== null && !Array.isArray(doc.stages) ? doc.stages : {};
  const names = Object.keys(rawStages);
  const { stages, matrices } = readStages({ root, y, rawStages, params, confFile }, diagnostics);

  const cycle = findCycle(names, (n) => stages.get(n)?.stageDeps ?? []);
  let order: string[] = [];
  if (cycle) {
    const [from, to] = [cycle[cycle.length - 2]!, cycle[cycle.length - 1]!];
    const idx = stages.get(from)?.stageDeps.indexOf(to) ?? -1;
    diagnostics.push({
      message: `dependency cycle: ${cycle.join(' -> ')} (each stage depends on the next)`,
      location: idx >= 0 ? valueLocation(y, ['stages', from, 'deps', idx]) : keyLocation(y, ['stages'], from),
    });
  } else {
    order = topoOrder(names, (n) => stages.get(n)?.stageDeps ?? []);
  }

  // Matrix stages and their downstream stages become one stage per variant.
  let expanded: ReadonlyMap<string, StageSpec> = stages;
  if (matrices.size > 0 && !cycle) ({ stages: expanded, order } = expandMatrices(y, stages, order, matrices, diagnostics));

  // Every kind stage's declared params against its kind's schema (KindInfo.params; src/param-schema/validate.ts).
  diagnostics.push(...checkStageParams({ stages: expanded.values(), params, confFile, layers: (opts.confLayers ?? []).map((f) => resolve(f)), overrides: opts.overrides ?? [], specFile, schemaOf: (kind) => kindInfo(kind)?.params }));

  if (diagnostics.length > 0) return fail(sortDiagnostics(diagnostics), sources);
  return { ok: true, value: { root, specFile, confFile, params, stages: expanded, order, settings } };
}

/** Located diagnostics in file order (by line and column), unlocated ones (command line) last. */
function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      const la = a.d.location;
      const lb = b.d.location;
      if (!la || !lb) return la ? -1 : lb ? 1 : a.i - b.i;
      if (la.file !== lb.file) return la.file < lb.file ? -1 : 1;
      return la.line - lb.line || la.col - lb.col || a.i - b.i;
    })
    .map((x) => x.d);
}

function topoOrder(names: readonly string[], deps: (n: string) => readonly string[]): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < names.length) {
    for (const n of names) {
      if (!done.has(n) && deps(n).every((d) => done.has(d))) {
        done.add(n);
        order.push(n);
      }
    }
  }
  return order;
}
