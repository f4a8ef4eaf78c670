// Parameter schemas: checking a project's params at load. Every kind stage's declared params
// against its kind's schema (the registered one, KindInfo.params), every problem at once, each
// located where the value was written: a matrix value in pipeline.yaml, a -p, a --conf layer, or
// the base conf (file:line:col).
import { isMap, isScalar, isSeq } from '../yaml.js';
import type { Diagnostic, Location } from '../diagnostics.js';
import { keyLocation, nodeLocation, readYaml, valueLocation, type Params } from '../params.js';
import type { JsonValue } from '../stage-api.js';
import { declaredKeys, type ParamSchema } from './types.js';
import { checkValue, showValue, unknownKeyMessage } from './value.js';

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
  /** Schema by kind (the loader's: the registered kinds' `params`). */
  schemaOf: (kind: string) => ParamSchema | undefined;
}

type Loaded = NonNullable<ReturnType<typeof readYaml>>;

/**
 * Checks every kind stage's declared params against its kind's schema: each value, and keys under
 * the kind's own sections that it does not declare. Every problem is located where the value was
 * written: a matrix value in pipeline.yaml, a -p (named), a --conf layer, or the base conf.
 */
export function checkStageParams(o: CheckParamsOptions): Diagnostic[] {
  const schemaOf = o.schemaOf;
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
