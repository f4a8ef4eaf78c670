// `matrix:` stages: one stage definition, several param values, one stage per value.
//
//   train:
//     uses: train
//     deps: [fixlen, labels]
//     params: [train]
//     matrix: {train.model: [reference, gru]}
//
// becomes `train@reference` and `train@gru`, each seeing its own train.model (StageSpec.set,
// which the engine's context honours, so the value reaches the fingerprint like any param).
// Every stage downstream of a matrix stage is expanded with it (`metrics@gru` depends on
// `train@gru`) and inherits its values; a stage downstream of two matrix stages gets one
// variant per combination. Several keys in one matrix give their grid (`train@gru-0.001`).
// Variant names use the values themselves when they are short names or numbers, else the
// value's position. Errors are located in pipeline.yaml like every other spec error.
import { keyLocation, valueLocation, type Params } from '../params.js';
import type { Diagnostic, Location } from '../diagnostics.js';
import { didYouMean } from '../diagnostics.js';
import type { JsonValue } from '../stage-api.js';
import type { StageSpec } from '../spec.js';
import { join } from 'node:path';

type Y = Parameters<typeof valueLocation>[0];

export interface MatrixAxis {
  key: string;
  values: JsonValue[];
}

/** One variant of a matrix stage: its name suffix and its values. */
interface Variant {
  suffix: string;
  values: Record<string, JsonValue>;
}

const kindOf = (v: JsonValue | undefined): string => (v === null || v === undefined ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'section' : typeof v);

/** Reads and checks a stage's `matrix:` (undefined when it has none or it is unusable). */
export function parseMatrix(
  y: Y,
  spec: StageSpec,
  raw: unknown,
  params: Params,
  diagnostics: Diagnostic[],
): MatrixAxis[] | undefined {
  if (raw === undefined) return undefined;
  const base = ['stages', spec.name, 'matrix'];
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined; // the schema reports it
  const axes: MatrixAxis[] = [];
  const before = diagnostics.length;
  if (spec.cmd !== undefined && !spec.uses) {
    diagnostics.push({
      message: `cmd stage '${spec.name}' cannot have a matrix: its outs are fixed paths that every variant would write`,
      location: keyLocation(y, ['stages', spec.name], 'matrix'),
    });
    return undefined;
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) {
    diagnostics.push({ message: `stage '${spec.name}': matrix has no keys (e.g. matrix: {train.model: [reference, gru]})`, location: valueLocation(y, base) });
    return undefined;
  }
  for (const [key, list] of entries) {
    const keyLoc = keyLocation(y, base, key);
    const current = params.get(key);
    if (current === undefined) {
      const hint = didYouMean(key, params.allNames());
      diagnostics.push({ message: `matrix key '${key}' is not a parameter${hint ? ` (did you mean '${hint}'?)` : ''}`, location: keyLoc });
      continue;
    }
    if (kindOf(current) === 'section') {
      diagnostics.push({ message: `matrix key '${key}' is a section; give one of its keys (e.g. ${key}.${Object.keys(current as object)[0] ?? 'key'})`, location: keyLoc });
      continue;
    }
    const declared = spec.params.some((d) => key === d || key.startsWith(`${d}.`));
    if (!declared) {
      diagnostics.push({
        message: `matrix key '${key}' is not among stage '${spec.name}''s params, so no variant would differ`,
        location: keyLoc,
        choices: [key.split('.')[0]!, key],
      });
      continue;
    }
    if (!Array.isArray(list) || list.length === 0) {
      diagnostics.push({ message: `matrix key '${key}' needs a list of at least one value`, location: valueLocation(y, [...base, key]) });
      continue;
    }
    const seen = new Set<string>();
    list.forEach((v, i) => {
      const loc = valueLocation(y, [...base, key, i]);
      const value = v as JsonValue;
      if (current !== null && value !== null && kindOf(value) !== kindOf(current)) {
        diagnostics.push({ message: `matrix value ${JSON.stringify(value)} for '${key}': expected a ${kindOf(current)} (default ${JSON.stringify(current)})`, location: loc });
      }
      const s = JSON.stringify(value);
      if (seen.has(s)) diagnostics.push({ message: `matrix value ${s} for '${key}' is listed twice`, location: loc });
      seen.add(s);
    });
    axes.push({ key, values: list as JsonValue[] });
  }
  return diagnostics.length === before ? axes : undefined;
}

/** A value as a name suffix: short names and numbers as themselves, else undefined. */
function nameOf(v: JsonValue): string | undefined {
  const s = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  return s !== undefined && /^[A-Za-z0-9_.+]{1,40}$/.test(s) ? s : undefined;
}

function variantsOf(axes: readonly MatrixAxis[]): Variant[] {
  let out: Variant[] = [{ suffix: '', values: {} }];
  for (const a of axes) {
    const named = a.values.map(nameOf);
    const useNames = named.every((n) => n !== undefined) && new Set(named).size === named.length;
    out = out.flatMap((v) =>
      a.values.map((value, i) => ({
        suffix: v.suffix === '' ? (useNames ? named[i]! : String(i)) : `${v.suffix}-${useNames ? named[i]! : String(i)}`,
        values: { ...v.values, [a.key]: value },
      })),
    );
  }
  return out;
}

/**
 * Expands matrix stages and everything downstream of them. `order` is the unexpanded
 * topological order; the result keeps it, each stage's variants in place of the stage.
 */
export function expandMatrices(
  y: Y,
  stages: ReadonlyMap<string, StageSpec>,
  order: readonly string[],
  matrices: ReadonlyMap<string, MatrixAxis[]>,
  diagnostics: Diagnostic[],
): { stages: Map<string, StageSpec>; order: string[] } {
  // Per stage: the matrix stages it descends from (itself included), in order.
  const origins = new Map<string, string[]>();
  for (const name of order) {
    const spec = stages.get(name)!;
    const set = new Set<string>();
    for (const d of spec.stageDeps) for (const o of origins.get(d) ?? []) set.add(o);
    if (matrices.has(name)) set.add(name);
    origins.set(name, order.filter((n) => set.has(n)));
  }
  const variants = new Map<string, Variant[]>();
  for (const [name, axes] of matrices) variants.set(name, variantsOf(axes));

  const out = new Map<string, StageSpec>();
  const outOrder: string[] = [];
  /** The variant name of `stage` under a choice of one variant per origin. */
  const variantName = (stage: string, choice: ReadonlyMap<string, Variant>): string => {
    const os = origins.get(stage) ?? [];
    if (os.length === 0) return stage;
    return `${stage}@${os.map((o) => choice.get(o)!.suffix).join('-')}`;
  };
  const outLoc = (name: string): Location | undefined => keyLocation(y, ['stages'], name);
  const writers = new Map<string, string>();

  for (const name of order) {
    const spec = stages.get(name)!;
    const os = origins.get(name)!;
    if (os.length === 0) {
      out.set(name, spec);
      outOrder.push(name);
      continue;
    }
    if (spec.cmd !== undefined && !spec.uses) {
      diagnostics.push({
        message: `cmd stage '${name}' depends on matrix stage${os.length > 1 ? 's' : ''} ${os.map((o) => `'${o}'`).join(', ')} and would run once per variant, but its outs are fixed paths that every variant would write`,
        location: outLoc(name),
      });
      continue;
    }
    // Every combination of one variant per origin.
    let choices: Array<Map<string, Variant>> = [new Map()];
    for (const o of os) choices = choices.flatMap((c) => variants.get(o)!.map((v) => new Map([...c, [o, v]])));
    for (const choice of choices) {
      const vname = variantName(name, choice);
      const set: Record<string, JsonValue> = {};
      const from: Record<string, string> = {};
      let clash = false;
      for (const o of os) {
        for (const [k, v] of Object.entries(choice.get(o)!.values)) {
          if (k in set && JSON.stringify(set[k]) !== JSON.stringify(v)) {
            diagnostics.push({ message: `stage '${name}' descends from matrix stages '${from[k]}' and '${o}', which both vary '${k}'`, location: outLoc(name) });
            clash = true;
          }
          set[k] = v;
          from[k] = o;
        }
      }
      if (clash) break;
      const own = matrices.has(name) ? choice.get(name)!.values : {};
      const suffix = vname.slice(name.length + 1);
      const defaultOut = join('outputs', name);
      const outs = spec.outs.map((o) => (o === defaultOut ? join('outputs', vname) : `${o}@${suffix}`));
      for (const o of outs) {
        const other = writers.get(o);
        if (other !== undefined) diagnostics.push({ message: `variants '${other}' and '${vname}' both write '${o}'`, location: outLoc(name) });
        writers.set(o, vname);
      }
      out.set(vname, {
        ...spec,
        name: vname,
        stageDeps: spec.stageDeps.map((d) => variantName(d, choice)),
        ports: Object.fromEntries(Object.entries(spec.ports).map(([p, d]) => [p, variantName(d, choice)])),
        ...(spec.explicitPorts ? { explicitPorts: Object.fromEntries(Object.entries(spec.explicitPorts).map(([p, d]) => [p, variantName(d, choice)])) } : {}),
        outs,
        set,
        matrix: { of: name, values: matrices.has(name) ? own : set },
      });
      outOrder.push(vname);
    }
  }
  return { stages: out, order: outOrder };
}
