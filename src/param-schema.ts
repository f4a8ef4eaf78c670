// Parameter schemas: what a stage kind reads from the conf, in one declaration per key: its type,
// range or choices, default, one-line doc, and whether it is speed only. From it come
//   - the values a kind reads (readSection / readParam: the conf's value or the default, checked),
//   - the check of every stage's declared params when pipeline.yaml and the conf load
//     (checkStageParams: every problem at once, located at conf/FILE:line:col or the -p),
//   - a kind's perfParams (perfKeys),
//   - conf/README.md's tables and the JSON Schema of conf/*.yaml (renderConfReadme, confJsonSchema;
//     scripts/gen-conf-docs.mjs writes them, a test fails when the committed files drift).
//
// The checks are written here rather than run through ajv: a message must name the key and the
// rule in the conf's terms ("train.lr must be a number > 0, got -1"), a kind checks its values at
// run time too (tests and `pipeline evaluate` call kinds directly), and compiling a JSON Schema on
// every `pipeline status` would cost more than the whole check. The JSON Schema generated from
// the same declarations is for editors; a test validates it with ajv against the same values.
//
// The core knows no kind: kinds declare their schemas (StageKind.params) and the composition root
// registers them by kind name (registerParamSchemas) so that loading a project can check them
// without importing any kind.
import { isMap, isScalar, isSeq } from 'yaml';
import { didYouMean, type Diagnostic, type Location } from './diagnostics.js';
import { UserError } from './errors.js';
import { keyLocation, nodeLocation, readYaml, valueLocation, type Params } from './params.js';
import type { JsonValue } from './stage-api.js';

// ---------------------------------------------------------------------------------------------
// Declarations

interface SpecBase {
  /** One line: what the key does (markdown; conf/README.md's meaning column, the JSON Schema's description). */
  readonly doc: string;
  /** Speed only: read by its stage but left out of the fingerprint (batch sizes, threads). */
  readonly perf?: true;
  /** conf/README.md's type column where the generated one says too little ("path", "1, 2 or 3"). */
  readonly typeDoc?: string;
  /** conf/README.md's default column where the value is too long to show. */
  readonly defaultDoc?: string;
  /** What a value must be, for messages, where the type and range say too little. */
  readonly says?: string;
  /** A further check of a value that passed the type and range: the problem ("lists 'a' twice"), or undefined. */
  readonly check?: (value: never) => string | undefined;
}

export interface IntSpec extends SpecBase {
  readonly type: 'int';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
}

export interface NumberSpec extends SpecBase {
  readonly type: 'number';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: number;
  readonly exclusiveMax?: number;
}

/** A non-empty string, one of `choices` when given. */
export interface StringSpec extends SpecBase {
  readonly type: 'string';
  readonly default: string;
  readonly choices?: readonly string[];
  /** Known values of an open set (e.g. plug-in names): shown in docs and offered by editors, not enforced. */
  readonly examples?: readonly string[];
}

export interface BooleanSpec extends SpecBase {
  readonly type: 'boolean';
  readonly default: boolean;
}

/** A list of non-empty strings or finite numbers (>= itemMin). */
export interface ListSpec extends SpecBase {
  readonly type: 'list';
  readonly default: readonly JsonValue[];
  readonly items: 'string' | 'number';
  readonly itemMin?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
}

export type ParamSpec = IntSpec | NumberSpec | StringSpec | BooleanSpec | ListSpec;

export type SectionParams = Readonly<Record<string, ParamSpec>>;

/** A conf section (`train:`) and every key it may hold. */
export interface ParamSection<P extends SectionParams = SectionParams> {
  readonly name: string;
  readonly params: P;
}

/** A kind's parameters. */
export interface ParamSchema {
  /** Sections the kind owns: every key they may hold is declared, any other key under them is an error. */
  readonly sections: readonly ParamSection[];
  /** Keys of sections owned by other kinds that this kind reads too (dotted key -> the owner's declaration). */
  readonly reads?: Readonly<Record<string, ParamSpec>>;
  /**
   * Keys left out of this kind's fingerprint although they are not speed only: where data lives
   * when its content hashes are in the fingerprint, or what cannot change this kind's output.
   */
  readonly unfingerprinted?: readonly string[];
}

/** A section declaration; `const` keeps literal types, so that readSection's values are typed. */
export function paramSection<const P extends SectionParams>(name: string, params: P): ParamSection<P> {
  for (const [key, spec] of Object.entries(params)) {
    const problem = checkValue(`${name}.${key}`, spec, spec.default);
    if (problem) throw new Error(`the default of ${problem}`);
  }
  return { name, params };
}

/** A kind's schema; refuses `unfingerprinted` keys it does not declare. */
export function paramSchema(s: ParamSchema): ParamSchema {
  for (const key of s.unfingerprinted ?? []) {
    if (specOf(s, key) === undefined) throw new Error(`unfingerprinted key ${key} is not declared by the schema`);
  }
  return s;
}

/** The declaration of a dotted key, if the schema has one. */
export function specOf(schema: ParamSchema, key: string): ParamSpec | undefined {
  const dot = key.indexOf('.');
  if (dot > 0) {
    const section = schema.sections.find((s) => s.name === key.slice(0, dot));
    const own = section && Object.prototype.hasOwnProperty.call(section.params, key.slice(dot + 1)) ? section.params[key.slice(dot + 1)] : undefined;
    if (own) return own;
  }
  return schema.reads && Object.prototype.hasOwnProperty.call(schema.reads, key) ? schema.reads[key] : undefined;
}

/** Every declared key (dotted) with its declaration: the owned sections' keys, then `reads`. */
export function declaredKeys(schema: ParamSchema): Array<[string, ParamSpec]> {
  const out: Array<[string, ParamSpec]> = [];
  for (const s of schema.sections) for (const [k, spec] of Object.entries(s.params)) out.push([`${s.name}.${k}`, spec]);
  for (const [k, spec] of Object.entries(schema.reads ?? {})) out.push([k, spec]);
  return out;
}

/** The keys left out of the kind's fingerprint: speed-only keys and `unfingerprinted` ones (a kind's perfParams). */
export function perfKeys(schema: ParamSchema): string[] {
  const keys = declaredKeys(schema)
    .filter(([, spec]) => spec.perf)
    .map(([k]) => k);
  for (const k of schema.unfingerprinted ?? []) if (!keys.includes(k)) keys.push(k);
  return keys;
}

/** The defaults of sections, nested as in a conf file. */
export function defaultsOf(sections: readonly ParamSection[]): Record<string, Record<string, JsonValue>> {
  const out: Record<string, Record<string, JsonValue>> = {};
  for (const s of sections) {
    out[s.name] = Object.fromEntries(Object.entries(s.params).map(([k, spec]) => [k, structuredClone(spec.default) as JsonValue]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checking one value

/** A value for messages: JSON, except numbers JSON cannot write (Infinity would read "null"). */
export function showValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (v === undefined) return 'nothing';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function range(spec: IntSpec | NumberSpec): string {
  const lo = spec.type === 'number' && spec.exclusiveMin !== undefined ? { v: spec.exclusiveMin, open: true } : spec.min !== undefined ? { v: spec.min, open: false } : undefined;
  const hi = spec.type === 'number' && spec.exclusiveMax !== undefined ? { v: spec.exclusiveMax, open: true } : spec.max !== undefined ? { v: spec.max, open: false } : undefined;
  if (lo && hi) {
    if (!lo.open && !hi.open) return ` from ${lo.v} to ${hi.v}`;
    return ` in ${lo.open ? '(' : '['}${lo.v}, ${hi.v}${hi.open ? ')' : ']'}`;
  }
  if (lo) return ` ${lo.open ? '>' : '>='} ${lo.v}`;
  if (hi) return ` ${hi.open ? '<' : '<='} ${hi.v}`;
  return '';
}

/** What a value must be: "an integer >= 1", "one of a, b", "true or false". */
export function describeSpec(spec: ParamSpec): string {
  if (spec.says) return spec.says;
  switch (spec.type) {
    case 'int':
      return `an integer${range(spec)}`;
    case 'number':
      return `a number${range(spec)}`;
    case 'string':
      return spec.choices ? `one of ${spec.choices.join(', ')}` : 'a non-empty string';
    case 'boolean':
      return 'true or false';
    case 'list': {
      const n = spec.minItems !== undefined && spec.minItems === spec.maxItems ? `${spec.minItems} ` : spec.minItems === 1 ? 'non-empty ' : '';
      const of = spec.items === 'string' ? 'non-empty strings' : `numbers${spec.itemMin !== undefined ? ` >= ${spec.itemMin}` : ''}`;
      return `a ${n}list of ${of}`;
    }
  }
}

function fits(spec: ParamSpec, v: unknown): boolean {
  switch (spec.type) {
    case 'int':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return false;
      if (spec.type === 'int' && !Number.isInteger(v)) return false;
      if (spec.min !== undefined && v < spec.min) return false;
      if (spec.max !== undefined && v > spec.max) return false;
      if (spec.type === 'number' && spec.exclusiveMin !== undefined && !(v > spec.exclusiveMin)) return false;
      if (spec.type === 'number' && spec.exclusiveMax !== undefined && !(v < spec.exclusiveMax)) return false;
      return true;
    }
    case 'string':
      return typeof v === 'string' && v !== '' && (spec.choices === undefined || spec.choices.includes(v));
    case 'boolean':
      return typeof v === 'boolean';
    case 'list':
      if (!Array.isArray(v)) return false;
      if (spec.minItems !== undefined && v.length < spec.minItems) return false;
      if (spec.maxItems !== undefined && v.length > spec.maxItems) return false;
      return v.every((x) =>
        spec.items === 'string'
          ? typeof x === 'string' && x.trim() !== ''
          : typeof x === 'number' && Number.isFinite(x) && (spec.itemMin === undefined || x >= spec.itemMin),
      );
  }
}

/** The problem with a value ("train.lr must be a number > 0, got -1"), or undefined when it fits. */
export function checkValue(key: string, spec: ParamSpec, value: unknown): string | undefined {
  if (!fits(spec, value)) {
    let hint = '';
    if (spec.type === 'string' && spec.choices && typeof value === 'string') {
      const near = didYouMean(value, spec.choices);
      if (near !== undefined && near !== value) hint = ` (did you mean '${near}'?)`;
    }
    return `${key} must be ${describeSpec(spec)}, got ${showValue(value)}${hint}`;
  }
  const problem = spec.check?.(value as never);
  return problem === undefined ? undefined : `${key} ${problem}`;
}

// ---------------------------------------------------------------------------------------------
// Reading values in a kind

/** What a kind reads params through: its StageContext, or a part of one. */
export interface ParamReader {
  paramOr<T>(key: string, fallback: T): T;
  /** When present, used to refuse a key the stage does not declare even when the conf lacks it. */
  param?<T>(key: string): T;
  /** When present (the declared values), a key of the section that the schema does not declare is refused. */
  readonly params?: Readonly<Record<string, unknown>>;
}

type ValueOf<S> = S extends { type: 'int' | 'number' }
  ? number
  : S extends { type: 'string'; choices: readonly (infer C extends string)[] }
    ? C
    : S extends { type: 'string' }
      ? string
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'list'; items: 'string' }
          ? string[]
          : S extends { type: 'list'; items: 'number' }
            ? number[]
            : never;

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** A section's values, keys in camelCase (`batch_size` -> `batchSize`). */
export type SectionValues<P> = { -readonly [K in keyof P & string as Camel<K>]: ValueOf<P[K]> };

export const camelCase = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const ABSENT = Symbol('absent');

/**
 * The conf's value of a key, or undefined when the conf does not set it. A key the stage does
 * not declare is refused whether the conf sets it (paramOr throws) or not (param throws; its
 * "is not set" error is the one that means "declared, but absent").
 */
function rawValue(ctx: ParamReader, key: string): unknown {
  const v = ctx.paramOr<unknown>(key, ABSENT);
  if (v !== ABSENT) return v;
  if (ctx.param) {
    try {
      ctx.param(key);
    } catch (e) {
      if (!(e instanceof UserError && / is not set in /.test(e.message))) throw e;
    }
  }
  return undefined;
}

const DEFAULT_HINT = 'fix it in the conf or with -p (conf/README.md documents each key)';

/** One key's checked value (the default when the conf does not set it); a bad value is a UserError. */
export function readParam<S extends ParamSpec>(ctx: ParamReader, key: string, spec: S, hint = DEFAULT_HINT): ValueOf<S> {
  const v = rawValue(ctx, key);
  if (v === undefined) return structuredClone(spec.default) as ValueOf<S>;
  const problem = checkValue(key, spec, v);
  if (problem) throw new UserError(problem, hint);
  return v as ValueOf<S>;
}

/**
 * Every key of a section, checked (the default where the conf sets none), camelCased; all
 * problems in one UserError, including keys under the section that it does not declare.
 */
export function readSection<P extends SectionParams>(ctx: ParamReader, section: ParamSection<P>, hint = DEFAULT_HINT): SectionValues<P> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const prefix = `${section.name}.`;
  for (const key of Object.keys(ctx.params ?? {})) {
    if (key.startsWith(prefix) && !Object.prototype.hasOwnProperty.call(section.params, key.slice(prefix.length).split('.')[0]!)) {
      problems.push(unknownKeyMessage(key, section));
    }
  }
  for (const [k, spec] of Object.entries(section.params)) {
    const key = prefix + k;
    const v = rawValue(ctx, key);
    if (v === undefined) {
      out[camelCase(k)] = structuredClone(spec.default);
      continue;
    }
    const problem = checkValue(key, spec, v);
    if (problem) problems.push(problem);
    else out[camelCase(k)] = v;
  }
  if (problems.length > 0) throw new UserError(problems.join('; '), hint);
  return out as SectionValues<P>;
}

/** A ParamReader over plain values nested as in a conf file (`{frames: {stride: 2}}`), for checks outside a stage. */
export function plainReader(conf: Readonly<Record<string, unknown>>): ParamReader {
  return {
    paramOr<T>(key: string, fallback: T): T {
      let cur: unknown = conf;
      for (const part of key.split('.')) {
        if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, part)) return fallback;
        cur = (cur as Record<string, unknown>)[part];
      }
      return cur === undefined ? fallback : (cur as T);
    },
  };
}

function unknownKeyMessage(key: string, section: ParamSection): string {
  const near = didYouMean(key, Object.keys(section.params).map((k) => `${section.name}.${k}`));
  return `unknown key ${key}${near ? ` (did you mean '${near}'?)` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Registration (the composition root registers each kind's schema by kind name)

const registered = new Map<string, ParamSchema>();

/** Makes kinds' schemas known to the project loader, by kind name (`uses:`). */
export function registerParamSchemas(schemas: Readonly<Record<string, ParamSchema | undefined>>): void {
  for (const [kind, schema] of Object.entries(schemas)) if (schema) registered.set(kind, schema);
}

export function paramSchemaOf(kind: string): ParamSchema | undefined {
  return registered.get(kind);
}

export function registeredParamSchemas(): ReadonlyMap<string, ParamSchema> {
  return registered;
}

// ---------------------------------------------------------------------------------------------
// Checking a project's params at load

export interface StageParamsInput {
  name: string;
  /** The kind (undefined: a cmd stage, unchecked). */
  uses?: string;
  /** Declared keys. */
  params: readonly string[];
  /** A matrix variant's own values (dotted key -> value), over the conf's. */
  set?: Readonly<Record<string, JsonValue>>;
}

export interface CheckParamsOptions {
  stages: Iterable<StageParamsInput>;
  params: Params;
  /** The files the params came from, to locate a problem: base conf, --conf layers (absolute), -p strings. */
  confFile: string;
  layers: readonly string[];
  overrides: readonly string[];
  /** pipeline.yaml, where matrix values are written. */
  specFile?: string;
  /** Schema by kind; default: the registered ones. */
  schemaOf?: (kind: string) => ParamSchema | undefined;
}

type Loaded = NonNullable<ReturnType<typeof readYaml>>;

/**
 * Checks every kind stage's declared params against its kind's schema: each value, and keys under
 * the kind's own sections that it does not declare. Every problem is located where the value was
 * written: a matrix value in pipeline.yaml, a -p (named), a --conf layer, or the base conf.
 */
export function checkStageParams(o: CheckParamsOptions): Diagnostic[] {
  const schemaOf = o.schemaOf ?? paramSchemaOf;
  const found: Found[] = [];
  for (const st of o.stages) {
    const schema = st.uses ? schemaOf(st.uses) : undefined;
    if (!schema) continue;
    const declares = (key: string): boolean => st.params.some((d) => key === d || key.startsWith(`${d}.`) || d.startsWith(`${key}.`));
    const valueOf = (key: string): JsonValue | undefined =>
      st.set && Object.prototype.hasOwnProperty.call(st.set, key) ? st.set[key] : o.params.get(key);
    for (const [key, spec] of declaredKeys(schema)) {
      if (!st.params.some((d) => key === d || key.startsWith(`${d}.`))) continue;
      const v = valueOf(key);
      if (v === undefined) continue;
      const problem = checkValue(key, spec, v);
      if (problem) {
        found.push({
          message: problem,
          key,
          value: v,
          fromSet: st.set !== undefined && Object.prototype.hasOwnProperty.call(st.set, key),
          unknown: false,
        });
      }
    }
    for (const section of schema.sections) {
      if (!declares(section.name)) continue;
      const raw = o.params.get(section.name);
      if (raw === undefined || raw === null) continue;
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        found.push({ message: `${section.name} must be a section of keys (e.g. ${section.name}.${Object.keys(section.params)[0]}: ...), got ${showValue(raw)}`, key: section.name, fromSet: false, unknown: false });
        continue;
      }
      for (const k of Object.keys(raw)) {
        const key = `${section.name}.${k}`;
        if (Object.prototype.hasOwnProperty.call(section.params, k) || !st.params.some((d) => key === d || key.startsWith(`${d}.`))) continue;
        found.push({ message: unknownKeyMessage(key, section), key, fromSet: false, unknown: true, choices: Object.keys(section.params) });
      }
    }
  }
  if (found.length === 0) return [];

  // Locating reads the files again: only when there is something to report.
  const yamls = new Map<string, Loaded | undefined>();
  const yamlOf = (file: string): Loaded | undefined => {
    if (!yamls.has(file)) yamls.set(file, readYaml(file, []));
    return yamls.get(file);
  };
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const f of found) {
    const d = locateProblem(f, o, yamlOf);
    const id = `${d.message}\u0000${d.location ? `${d.location.file}:${d.location.line}:${d.location.col}` : ''}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(d);
  }
  return out;
}

interface Found {
  message: string;
  key: string;
  value?: JsonValue;
  /** The value is a matrix variant's own. */
  fromSet: boolean;
  /** A key the schema does not declare (only the base conf can hold one: layers and -p must name existing keys). */
  unknown: boolean;
  choices?: readonly string[];
}

function locateProblem(
  f: Found,
  o: CheckParamsOptions,
  yamlOf: (file: string) => Loaded | undefined,
): Diagnostic {
  const path = f.key.split('.');
  const choices = f.choices ? { choices: f.choices } : {};
  if (f.fromSet && o.specFile) {
    const loc = matrixLocation(yamlOf(o.specFile), f.key, f.value);
    if (loc) return { message: f.message, location: loc, ...choices };
  }
  if (!f.unknown) {
    for (let i = o.overrides.length - 1; i >= 0; i--) {
      const ov = o.overrides[i]!;
      const eq = ov.indexOf('=');
      const k = eq > 0 ? ov.slice(0, eq).trim() : '';
      if (k !== '' && (f.key === k || f.key.startsWith(`${k}.`))) return { message: `-p ${ov}: ${f.message}`, ...choices };
    }
    for (let i = o.layers.length - 1; i >= 0; i--) {
      const y = yamlOf(o.layers[i]!);
      if (y && y.doc.hasIn(path)) return { message: f.message, ...located(valueLocation(y, path) ?? nodeLocation(y, y.doc.contents)), ...choices };
    }
  }
  const base = yamlOf(o.confFile);
  if (!base) return { message: f.message, ...choices };
  const loc = f.unknown ? keyLocation(base, path.slice(0, -1), path[path.length - 1]!) : valueLocation(base, path);
  return { message: f.message, ...located(loc ?? nodeLocation(base, base.doc.contents)), ...choices };
}

function located(loc: Location | undefined): { location?: Location } {
  return loc ? { location: loc } : {};
}

/** Where a matrix value is written in pipeline.yaml (in the first stage whose matrix names the key). */
function matrixLocation(y: Loaded | undefined, key: string, value: JsonValue | undefined): Location | undefined {
  const stages = y?.doc.get('stages', true);
  if (!y || !isMap(stages)) return undefined;
  for (const pair of stages.items) {
    if (!isScalar(pair.key)) continue;
    const path = ['stages', String(pair.key.value), 'matrix', key];
    const list = y.doc.getIn(path, true);
    if (!isSeq(list)) continue;
    const shown = JSON.stringify(value);
    const i = list.items.findIndex((item) => JSON.stringify((item as { toJSON?: () => unknown }).toJSON?.() ?? null) === shown);
    return valueLocation(y, i >= 0 ? [...path, i] : path);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Generated documents

/** Sections of several schemas, each once, in order of first appearance; one name must mean one declaration. */
export function allSections(schemas: Iterable<ParamSchema>): ParamSection[] {
  const out = new Map<string, ParamSection>();
  for (const s of schemas) {
    for (const section of s.sections) {
      const had = out.get(section.name);
      if (had && had !== section) throw new Error(`two declarations of the conf section '${section.name}'`);
      out.set(section.name, section);
    }
  }
  return [...out.values()];
}

function yamlFlow(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(yamlFlow).join(', ')}]`;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** conf/README.md's type column. */
export function typeColumn(spec: ParamSpec): string {
  if (spec.typeDoc) return cell(spec.typeDoc);
  if (spec.type === 'string' && spec.choices) return spec.choices.map((c) => `\`${c}\``).join(' \\| ');
  if (spec.type === 'string' && spec.examples) return spec.examples.map((c) => `\`${c}\``).join(' \\| ');
  if (spec.type === 'boolean') return 'boolean';
  return cell(describeSpec(spec).replace(/^an? /, ''));
}

/** One section's table: key, type, default, meaning. */
export function markdownTable(section: ParamSection): string {
  const rows = ['| key | type | default | meaning |', '|---|---|---|---|'];
  for (const [k, spec] of Object.entries(section.params)) {
    const def = spec.defaultDoc ? cell(spec.defaultDoc) : `\`${cell(yamlFlow(spec.default as JsonValue))}\``;
    const doc = spec.perf && !/speed only/i.test(spec.doc) ? `${spec.doc} *Speed only.*` : spec.doc;
    rows.push(`| \`${section.name}.${k}\` | ${typeColumn(spec)} | ${def} | ${cell(doc)} |`);
  }
  return rows.join('\n');
}

const BEGIN = (name: string): string => `<!-- params:${name} (generated from the kinds' parameter schemas by npm run gen:conf; edit those, not this table) -->`;
const END = (name: string): string => `<!-- /params:${name} -->`;

/**
 * A README with each section's table regenerated between its markers; the prose around them is
 * kept. A section without markers, or markers of no section, is an error.
 */
export function renderConfReadme(text: string, sections: readonly ParamSection[]): string {
  let out = text;
  for (const s of sections) {
    const begin = out.indexOf(`<!-- params:${s.name} `);
    const end = out.indexOf(END(s.name));
    if (begin < 0 || end < begin) throw new Error(`conf/README.md has no markers for section '${s.name}': add ${BEGIN(s.name)} and ${END(s.name)} where its table goes`);
    out = `${out.slice(0, begin)}${BEGIN(s.name)}\n${markdownTable(s)}\n${out.slice(end)}`;
  }
  const names = new Set(sections.map((s) => s.name));
  for (const m of out.matchAll(/<!-- params:([\w-]+) /g)) {
    if (!names.has(m[1]!)) throw new Error(`conf/README.md has markers for '${m[1]}', which no kind declares`);
  }
  return out;
}

function jsonSchemaOf(spec: ParamSpec): Record<string, JsonValue> {
  const doc = spec.perf && !/speed only/i.test(spec.doc) ? `${spec.doc} Speed only.` : spec.doc;
  const out: Record<string, JsonValue> = {};
  switch (spec.type) {
    case 'int':
    case 'number':
      out.type = spec.type === 'int' ? 'integer' : 'number';
      if (spec.min !== undefined) out.minimum = spec.min;
      if (spec.max !== undefined) out.maximum = spec.max;
      if (spec.type === 'number' && spec.exclusiveMin !== undefined) out.exclusiveMinimum = spec.exclusiveMin;
      if (spec.type === 'number' && spec.exclusiveMax !== undefined) out.exclusiveMaximum = spec.exclusiveMax;
      break;
    case 'string':
      out.type = 'string';
      if (spec.choices) out.enum = [...spec.choices];
      else out.minLength = 1;
      if (spec.examples) out.examples = [...spec.examples];
      break;
    case 'boolean':
      out.type = 'boolean';
      break;
    case 'list':
      out.type = 'array';
      out.items = spec.items === 'string' ? { type: 'string', minLength: 1 } : { type: 'number', ...(spec.itemMin !== undefined ? { minimum: spec.itemMin } : {}) };
      if (spec.minItems !== undefined) out.minItems = spec.minItems;
      if (spec.maxItems !== undefined) out.maxItems = spec.maxItems;
      break;
  }
  out.default = structuredClone(spec.default) as JsonValue;
  out.description = doc;
  return out;
}

/**
 * The JSON Schema (draft-07) of a parameter file: the declared sections with their keys, no key
 * required (a --conf layer names only what it changes), other sections allowed (cmd stages' own).
 */
export function confJsonSchema(sections: readonly ParamSection[], readers: ReadonlyMap<string, readonly string[]> = new Map()): Record<string, JsonValue> {
  const properties: Record<string, JsonValue> = {};
  for (const s of sections) {
    const by = readers.get(s.name);
    properties[s.name] = {
      type: 'object',
      ...(by && by.length > 0 ? { description: `Read by the ${by.length > 1 ? `${by.slice(0, -1).join(', ')} and ${by[by.length - 1]}` : by[0]} stage kind${by.length > 1 ? 's' : ''}.` } : {}),
      additionalProperties: false,
      properties: Object.fromEntries(Object.entries(s.params).map(([k, spec]) => [k, jsonSchemaOf(spec)])),
    };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'conf/*.yaml',
    description: 'A parameter file: conf/default.yaml, or a layer given with --conf. conf/README.md documents every key.',
    type: 'object',
    properties,
  };
}

/** Section name -> the kinds that own it, for the JSON Schema's descriptions. */
export function sectionReaders(schemas: ReadonlyMap<string, ParamSchema>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [kind, s] of schemas) for (const section of s.sections) out.set(section.name, [...(out.get(section.name) ?? []), kind]);
  return out;
}


/**
 * The generated documents of a set of kind schemas: the README with its tables regenerated, and
 * the JSON Schema of the conf files (as its file's text).
 */
export function confDocuments(readme: string, schemas: ReadonlyMap<string, ParamSchema>): { readme: string; jsonSchema: string } {
  const sections = allSections(schemas.values());
  return {
    readme: renderConfReadme(readme, sections),
    jsonSchema: `${JSON.stringify(confJsonSchema(sections, sectionReaders(schemas)), null, 2)}\n`,
  };
}
