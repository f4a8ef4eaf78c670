// Loads and validates pipeline.yaml: YAML syntax, the JSON Schema shipped in
// schema/pipeline.schema.json, then what a schema cannot say (kinds, deps, cycles, outs,
// params). Every problem is collected and reported at once with file:line:col.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hashParts } from './hash.js';
import { PACKAGE_ROOT } from './version.js';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { kindInfo, kindNames } from './registry.js';
import { ConfigError, didYouMean, type Diagnostic, type Location } from './diagnostics.js';
import type { Result } from './errors.js';
import { findCycle } from './graph.js';
import { bindPorts, readInputs } from './ports.js';
import { keyLocation, loadParams, readYaml, valueLocation, Params } from './params.js';
import { checkStageParams } from './param-schema.js';
import type { JsonValue } from './stage-api.js';
import { expandMatrices, parseMatrix, type MatrixAxis } from './experiments/matrix.js';

export type OnError = 'fail' | 'skip';

export interface StageSpec {
  name: string;
  /** A registered stage kind (src/registry.ts), or undefined for a cmd stage. */
  uses?: string;
  cmd?: string;
  description?: string;
  /** Upstream stage names, in declared order. */
  stageDeps: string[];
  /**
   * The kind's input ports -> the upstream stage bound to each (src/ports.ts): pipeline.yaml's
   * `inputs:`, else the one dep whose kind writes the port's contract. {} for cmd stages.
   */
  ports: Record<string, string>;
  /**
   * The bindings `inputs:` chose that deps alone do not decide (several deps write the port's
   * contract). Unlike the rest of `ports`, they change what the stage reads without changing its
   * deps' hashes, so they belong in its fingerprint; absent where deps decide every port.
   */
  explicitPorts?: Record<string, string>;
  /** Workspace-relative file or folder paths the stage reads. */
  pathDeps: string[];
  /** Declared param keys (dotted; a section declares all keys below it). */
  params: string[];
  /** Workspace-relative output paths. */
  outs: string[];
  onError: OnError;
  /**
   * Param values this stage sees instead of the conf's (dotted key -> value): a `matrix:`
   * variant's own values, which its downstream variants inherit. Only declared keys reach the
   * fingerprint, as always.
   */
  set?: Record<string, JsonValue>;
  /** A `matrix:` variant: the stage it was expanded from, and its values (for dag and reports). */
  matrix?: { of: string; values: Record<string, JsonValue> };
}

export interface Project {
  /** Absolute workspace folder. */
  root: string;
  specFile: string;
  confFile: string;
  params: Params;
  stages: ReadonlyMap<string, StageSpec>;
  /** Stage names in a topological order (stable: declaration order among ready stages). */
  order: string[];
  /** Top-level settings for sharing and distributing work (docs/DISTRIBUTED.md). */
  settings?: ProjectSettings;
}

export interface ProjectSettings {
  /** Remote cache URL (`s3://bucket/prefix`, a folder, or `file://...`); PIPELINE_REMOTE and --remote override it. */
  remote?: string;
  /** Fetch results found in the remote cache instead of computing them (`run --pull`). */
  remotePull?: boolean;
  /** Where map-stage items run: `local` (default) or `bullmq`. */
  executor?: 'local' | 'bullmq';
  /** Redis URL for the bullmq executor; PIPELINE_REDIS and --redis override it. */
  redis?: string;
}

export interface LoadOptions {
  /** Workspace folder; default: the nearest folder upward from cwd holding pipeline.yaml. */
  root?: string;
  confLayers?: readonly string[];
  overrides?: readonly string[];
  /** Read only (`status`, the web UI): remember nothing under cache/ (e.g. that the spec passed its schema). */
  readOnly?: boolean;
}

export const SPEC_FILE = 'pipeline.yaml';

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
export const DEFAULT_CONF = 'conf/default.yaml';

export function findWorkspace(start = process.cwd()): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, SPEC_FILE))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** The JSON Schema shipped at the package root. */
export const SCHEMA_PATH = resolve(PACKAGE_ROOT, 'schema', 'pipeline.schema.json');

let validator: { kinds: string; validate: ValidateFunction } | undefined;
/**
 * The schema's validator, its `uses` enum being the registered kinds (the shipped file has the
 * built-in ones, generated by scripts/gen-schema.mjs, for editors).
 */
function schemaValidator(): ValidateFunction {
  const kinds = kindNames();
  if (validator?.kinds !== kinds.join(',')) {
    const require = createRequire(import.meta.url);
    const Ajv = require('ajv') as typeof import('ajv').default;
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { definitions: { stage: { properties: { uses: { enum?: string[] } } } } };
    if (kinds.length > 0) schema.definitions.stage.properties.uses.enum = kinds;
    validator = { kinds: kinds.join(','), validate: ajv.compile(schema) };
  }
  return validator.validate;
}

function pointerPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Y = NonNullable<ReturnType<typeof readYaml>>;

function schemaDiagnostics(y: Y, errors: readonly ErrorObject[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // ajv reports a failed oneOf together with the branch errors; the branch errors of our only
  // oneOf (uses | cmd) are "required" errors that the oneOf message already covers.
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  for (const e of errors) {
    const path = pointerPath(e.instancePath);
    const where = path.length === 0 ? 'pipeline.yaml' : path.join('.');
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String((e.params as { additionalProperty: string }).additionalProperty);
        const allowed = Object.keys(
          (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {},
        );
        const hint = didYouMean(key, allowed);
        out.push({
          message: `unknown key '${key}' in ${where}${hint ? ` (did you mean '${hint}'?)` : ''}`,
          location: keyLocation(y, path, key),
          choices: allowed,
        });
        break;
      }
      case 'enum': {
        const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
        const value = y.doc.getIn(path) as unknown;
        const hint = typeof value === 'string' ? didYouMean(value, allowed) : undefined;
        const field = path[path.length - 1] ?? '';
        const what = field === 'uses' ? 'stage kind' : `value for ${field}`;
        out.push({
          message: `unknown ${what} ${JSON.stringify(value)}${hint ? ` (did you mean '${hint}'?)` : ''}`,
          location: valueLocation(y, path),
          choices: allowed,
        });
        break;
      }
      case 'oneOf': {
        const both = y.doc.getIn([...path, 'uses']) !== undefined && y.doc.getIn([...path, 'cmd']) !== undefined;
        out.push({
          message: both
            ? `stage '${path[path.length - 1]}' has both 'uses' and 'cmd'; keep one`
            : `stage '${path[path.length - 1]}' needs 'uses: <kind>' or 'cmd: <shell command>'`,
          location: keyLocation(y, path.slice(0, -1), String(path[path.length - 1])),
          choices: both ? undefined : kindNames(),
        });
        break;
      }
      case 'required': {
        if (oneOfPaths.has(e.instancePath)) break;
        const missing = (e.params as { missingProperty: string }).missingProperty;
        out.push({ message: `${where} needs '${missing}'`, location: valueLocation(y, path) });
        break;
      }
      case 'propertyNames':
        break; // reported through the pattern error below
      case 'pattern': {
        // ajv reports propertyNames violations with the property name as the last path item
        const name = (e.params as { propertyName?: string }).propertyName ?? path[path.length - 1] ?? '';
        const parent = (e.params as { propertyName?: string }).propertyName ? path : path.slice(0, -1);
        out.push({
          message: `invalid stage name '${name}': use letters, digits, '_' and '-', starting with a letter or '_'`,
          location: keyLocation(y, parent, name),
        });
        break;
      }
      case 'type': {
        const expected = (e.params as { type: string }).type;
        const actual = y.doc.getIn(path);
        const found = Array.isArray(actual) ? 'a list' : actual === null ? 'nothing' : `a ${typeof actual}`;
        out.push({ message: `${where} must be ${expected === 'array' ? 'a list' : `a ${expected}`}, found ${found}`, location: valueLocation(y, path) });
        break;
      }
      default:
        out.push({ message: `${where}: ${e.message ?? e.keyword}`, location: valueLocation(y, path) });
    }
  }
  return out;
}

function insideWorkspace(root: string, p: string): string | undefined {
  if (isAbsolute(p)) return undefined;
  const rel = normalize(p).replace(/[\\/]+$/, '');
  if (rel === '..' || rel.startsWith(`..${sep}`) || rel === '.' || rel === '') return undefined;
  const abs = resolve(root, rel);
  const back = relative(root, abs);
  return back.startsWith('..') ? undefined : back;
}

function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(b + sep) || b.startsWith(a + sep);
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
  // Compiling the schema costs more than the rest of a no-op `status`; a pipeline.yaml that
  // passed it before (same text, same schema) is not checked again.
  const schemaKey = hashParts([readFileSync(SCHEMA_PATH, 'utf8'), kindNames().join(','), y.text]);
  const schemaOk = join(root, 'cache', 'spec-valid');
  if (!(existsSync(schemaOk) && readFileSync(schemaOk, 'utf8') === schemaKey)) {
    const validate = schemaValidator();
    if (!validate(raw)) diagnostics.push(...schemaDiagnostics(y, validate.errors ?? []));
    else if (opts.readOnly !== true && existsSync(join(root, 'cache'))) writeFileSync(schemaOk, schemaKey);
  }

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

  const stages = new Map<string, StageSpec>();
  const rawStages = typeof doc.stages === 'object' && doc.stages !== null && !Array.isArray(doc.stages) ? doc.stages : {};
  const names = Object.keys(rawStages);
  const matrices = new Map<string, MatrixAxis[]>();
  const explicitInputs = new Map<string, Record<string, string>>();
  /** Stages whose deps or inputs are already reported: their ports are not bound. */
  const portSkip = new Set<string>();
  const outOwners: Array<{ out: string; stage: string; loc: Location | undefined }> = [];
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

  for (const name of names) {
    const s = rawStages[name];
    if (typeof s !== 'object' || s === null) continue;
    const base = ['stages', name];
    const uses = typeof s.uses === 'string' && kindInfo(s.uses) !== undefined ? s.uses : undefined;
    const spec: StageSpec = {
      name,
      ...(uses ? { uses } : {}),
      ...(typeof s.cmd === 'string' ? { cmd: s.cmd } : {}),
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
      stageDeps: [],
      ports: {},
      pathDeps: [],
      params: [],
      outs: [],
      onError: s.on_error === 'skip' ? 'skip' : 'fail',
    };
    const depProblems = diagnostics.length;

    strings(s.deps).forEach((dep, i) => {
      const loc = valueLocation(y, [...base, 'deps', i]);
      if (dep === name) {
        diagnostics.push({ message: `stage '${name}' depends on itself`, location: loc });
      } else if (Object.prototype.hasOwnProperty.call(rawStages, dep)) {
        if (spec.stageDeps.includes(dep)) diagnostics.push({ message: `dep '${dep}' is listed twice`, location: loc });
        else spec.stageDeps.push(dep);
      } else {
        const rel = insideWorkspace(root, dep);
        if (rel !== undefined && existsSync(join(root, rel))) {
          spec.pathDeps.push(rel);
        } else if (rel === undefined && !isAbsolute(dep) && !dep.startsWith('..')) {
          diagnostics.push({ message: `dep '${dep}' is not a stage or a path`, location: loc, choices: names.filter((n) => n !== name) });
        } else if (rel === undefined) {
          diagnostics.push({ message: `dep '${dep}' is outside the workspace; deps must be stages or paths inside ${SPEC_FILE}'s folder`, location: loc });
        } else {
          const hint = didYouMean(dep, names.filter((n) => n !== name));
          diagnostics.push({
            message: `dep '${dep}' is neither a stage nor an existing path in the workspace${hint ? ` (did you mean '${hint}'?)` : ''}`,
            location: loc,
            choices: names.filter((n) => n !== name),
          });
        }
      }
    });

    // `inputs:` (port -> stage) adds its stages to the deps; ports are bound once every stage is read.
    const chosen = readInputs(y, spec, s.inputs, names, diagnostics);
    if (Object.keys(chosen).length > 0) explicitInputs.set(name, chosen);
    if (diagnostics.length > depProblems) portSkip.add(name);

    strings(s.params).forEach((key, i) => {
      if (!params.has(key)) {
        const hint = didYouMean(key, params.allNames());
        diagnostics.push({
          message: `param '${key}' is not in ${relative(root, confFile) || confFile}${hint ? ` (did you mean '${hint}'?)` : ''}`,
          location: valueLocation(y, [...base, 'params', i]),
        });
      } else {
        spec.params.push(key);
      }
    });

    const matrix = parseMatrix(y, spec, s.matrix, params, diagnostics); // `matrix:` (src/experiments/matrix.ts)
    if (matrix) matrices.set(name, matrix);

    const outsRaw = strings(s.outs);
    if (outsRaw.length === 0 && uses) outOwners.push({ out: join('outputs', name), stage: name, loc: keyLocation(y, ['stages'], name) });
    if (outsRaw.length === 0 && !uses && typeof s.cmd === 'string') {
      diagnostics.push({ message: `cmd stage '${name}' must list the paths it writes under 'outs'`, location: keyLocation(y, ['stages'], name) });
    }
    outsRaw.forEach((out, i) => {
      const loc = valueLocation(y, [...base, 'outs', i]);
      const rel = insideWorkspace(root, out);
      if (rel === undefined) {
        diagnostics.push({ message: `out '${out}' is outside the workspace; outs must be relative paths inside it`, location: loc });
      } else if (rel === 'cache' || rel.startsWith(`cache${sep}`) || rel === SPEC_FILE || rel === 'conf' || rel.startsWith(`conf${sep}`)) {
        diagnostics.push({ message: `out '${out}' would overwrite the workspace's own files (cache/, conf/, ${SPEC_FILE})`, location: loc });
      } else {
        spec.outs.push(rel);
        outOwners.push({ out: rel, stage: name, loc });
      }
    });
    if (uses && spec.outs.length > 1) {
      diagnostics.push({ message: `stage '${name}' (uses ${uses}) writes one output folder; list at most one out`, location: valueLocation(y, [...base, 'outs']) });
    }
    if (uses && spec.outs.length === 0) spec.outs.push(join('outputs', name));

    // Shape of the kinds: a map kind that is not a source maps its first dependency.
    if (uses) {
      const info = kindInfo(uses)!;
      const first = spec.stageDeps[0];
      if (info.type === 'map' && !info.source) {
        if (first === undefined) {
          diagnostics.push({
            message: `stage '${name}' (uses ${uses}) works per item of its first dependency; add the stage it maps under 'deps'`,
            location: keyLocation(y, ['stages'], name),
          });
          portSkip.add(name);
        }
      }
    }
    stages.set(name, spec);
  }

  // A non-source map stage's first dependency must itself be per-item.
  for (const spec of stages.values()) {
    if (!spec.uses) continue;
    const info = kindInfo(spec.uses)!;
    const first = spec.stageDeps[0];
    if (info.type !== 'map' || info.source || first === undefined) continue;
    const up = stages.get(first);
    const upInfo = up?.uses ? kindInfo(up.uses) : undefined;
    if (!upInfo || upInfo.type !== 'map') {
      diagnostics.push({
        message: `stage '${spec.name}' (uses ${spec.uses}) maps the items of its first dependency, so '${first}' must be a per-item stage`,
        location: valueLocation(y, ['stages', spec.name, 'deps', 0]),
        choices: [...stages.values()].filter((s) => s.uses && kindInfo(s.uses)?.type === 'map' && s.name !== spec.name).map((s) => s.name),
      });
      portSkip.add(spec.name);
    }
  }

  // Each input port of a kind -> the stage that feeds it (src/ports.ts).
  bindPorts(y, stages, explicitInputs, portSkip, diagnostics);

  for (let i = 0; i < outOwners.length; i++) {
    for (let j = i + 1; j < outOwners.length; j++) {
      const a = outOwners[i]!;
      const b = outOwners[j]!;
      if (a.stage !== b.stage && overlaps(a.out, b.out)) {
        diagnostics.push({
          message: `stages '${a.stage}' and '${b.stage}' both write '${a.out === b.out ? a.out : `${a.out}' and '${b.out}`}'`,
          location: b.loc,
        });
      }
    }
  }

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

  // Every kind stage's declared params against its kind's schema (src/param-schema.ts).
  diagnostics.push(...checkStageParams({ stages: expanded.values(), params, confFile, layers: (opts.confLayers ?? []).map((f) => resolve(f)), overrides: opts.overrides ?? [], specFile }));

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
