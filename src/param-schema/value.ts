// Parameter schemas: checking one value against its declaration (src/param-schema/types.ts),
// with the message that names the key and the rule in the conf's terms
// ("train.lr must be a number > 0, got -1"), and the message of a key a section does not declare.
import { didYouMean } from '../diagnostics.js';
import type { IntSpec, NumberSpec, ParamSection, ParamSpec } from './types.js';

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

/** "unknown key train.epoch (did you mean 'train.epochs'?)". */
export function unknownKeyMessage(key: string, section: ParamSection): string {
  const near = didYouMean(key, Object.keys(section.params).map((k) => `${section.name}.${k}`));
  return `unknown key ${key}${near ? ` (did you mean '${near}'?)` : ''}`;
}
