// Parameter schemas: reading values in a kind. A kind reads its params through its schema
// (readSection / readParam): the conf's value, or the declaration's default where the conf sets
// none, checked (src/param-schema/value.ts); a bad value is a UserError.
import { UserError } from '../errors.js';
import type { ParamSection, ParamSpec, SectionParams } from './types.js';
import { checkValue, unknownKeyMessage } from './value.js';

/** What a kind reads params through: its StageContext, or a part of one. */
export interface ParamReader {
  /** The conf's value or the fallback; a stage's context refuses a key the stage does not declare. */
  paramOr<T>(key: string, fallback: T): T;
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

/** The conf's value of a key, or undefined when the conf does not set it (an undeclared key: paramOr throws). */
function rawValue(ctx: ParamReader, key: string): unknown {
  const v = ctx.paramOr<unknown>(key, ABSENT);
  return v === ABSENT ? undefined : v;
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
