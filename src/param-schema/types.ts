// Parameter schemas, the declarations: what a stage kind reads from the conf, in one declaration
// per key: its type, range or choices, default, one-line doc, and whether it is speed only; a
// kind's schema (the sections it owns, the keys of others it reads, the keys its fingerprint
// leaves out), and what follows from it alone: a key's declaration, the declared keys, a kind's
// perfParams (perfKeys) and the defaults of sections.
//
// The rest of the schemas' code, by concept:
//   value.ts     checking one value ("train.lr must be a number > 0, got -1")
//   readers.ts   reading values in a kind (readSection / readParam: the conf's value or the default, checked)
//   validate.ts  checking every stage's declared params when pipeline.yaml and the conf load
//                (checkStageParams: every problem at once, located at conf/FILE:line:col or the -p)
//   generate.ts  conf/README.md's tables and the JSON Schema of conf/*.yaml (renderConfReadme,
//                confJsonSchema; scripts/gen-conf-docs.mjs writes them, a test fails when the
//                committed files drift)
//
// The checks are written here rather than run through ajv: a message must name the key and the
// rule in the conf's terms ("train.lr must be a number > 0, got -1"), a kind checks its values at
// run time too (tests and `pipeline evaluate` call kinds directly), and compiling a JSON Schema on
// every `pipeline status` would cost more than the whole check. The JSON Schema generated from
// the same declarations is for editors; a test validates it with ajv against the same values.
//
// The core knows no kind: kinds declare their schemas (StageKind.params) and the composition root
// registers each with its kind (KindInfo.params, src/registry.ts), so that loading a project can
// check them without importing any kind.
import type { JsonValue } from '../stage-api.js';
import { checkValue } from './value.js';

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
