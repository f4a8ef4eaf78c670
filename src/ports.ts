// Typed ports, resolved when pipeline.yaml is loaded: which upstream stage feeds each named
// input of a kind (KindInfo.ports in src/registry.ts). `inputs: {features: fixlen}` binds a
// port explicitly; a port it leaves out is bound to the one dep whose kind writes the port's
// contract (KindInfo.outputContract), so a plain list of deps keeps working wherever it is
// unambiguous. Every problem is a located diagnostic naming the candidates and the fix.
import { isScalar, isSeq } from './yaml.js';
import { didYouMean, type Diagnostic } from './diagnostics.js';
import { keyLocation, valueLocation, type readYaml } from './params.js';
import { kindInfo } from './registry.js';
import type { PortSpec } from './stage-api.js';
import type { StageSpec } from './spec.js';

type Y = NonNullable<ReturnType<typeof readYaml>>;

const quoted = (names: readonly string[]): string => names.map((n) => `'${n}'`).join(', ');

/** A kind's declared ports ({} for a kind that declares none). */
export function portsOfKind(kind: string | undefined): Readonly<Record<string, PortSpec>> {
  return (kind === undefined ? undefined : kindInfo(kind)?.ports) ?? {};
}

/**
 * Reads a stage's `inputs:` (port -> stage). Returns the bindings that name a port of its kind
 * and another stage, and adds those stages to its deps (a port that a map kind maps the items
 * of goes first). Everything else is a diagnostic.
 */
export function readInputs(y: Y, spec: StageSpec, raw: unknown, stageNames: readonly string[], diagnostics: Diagnostic[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw)) return out; // the schema reports a wrong type
  const base = ['stages', spec.name, 'inputs'];
  if (spec.uses === undefined) {
    if (spec.cmd !== undefined) {
      diagnostics.push({
        message: `cmd stage '${spec.name}' has no input ports: list the stages and paths it reads under 'deps'`,
        location: keyLocation(y, ['stages', spec.name], 'inputs'),
      });
    }
    return out;
  }
  const ports = portsOfKind(spec.uses);
  const portNames = Object.keys(ports);
  const others = stageNames.filter((n) => n !== spec.name);
  for (const [port, target] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof target !== 'string') continue; // the schema reports it
    const at = valueLocation(y, [...base, port]);
    if (ports[port] === undefined) {
      const hint = didYouMean(port, portNames);
      diagnostics.push({
        message:
          portNames.length === 0
            ? `kind ${spec.uses} has no input ports; remove 'inputs' and list what stage '${spec.name}' reads under 'deps'`
            : `kind ${spec.uses} has no input '${port}'${hint ? ` (did you mean '${hint}'?)` : ''}`,
        location: keyLocation(y, base, port),
        ...(portNames.length > 0 ? { choices: portNames } : {}),
      });
    } else if (target === spec.name) {
      diagnostics.push({ message: `stage '${spec.name}' cannot feed its own input '${port}'`, location: at, choices: others });
    } else if (!stageNames.includes(target)) {
      const hint = didYouMean(target, others);
      diagnostics.push({
        message: `input '${port}' of stage '${spec.name}' names '${target}', which is not a stage${hint ? ` (did you mean '${hint}'?)` : ''}`,
        location: at,
        choices: others,
      });
    } else {
      out[port] = target;
      if (!spec.stageDeps.includes(target)) {
        if (ports[port]!.items === true) spec.stageDeps.unshift(target);
        else spec.stageDeps.push(target);
      }
    }
  }
  return out;
}

/**
 * Binds every port of every stage that uses a kind: the `inputs:` binding (checked against the
 * bound stage's contract), else the one dep that writes the port's contract. Sets spec.ports,
 * and spec.explicitPorts where `inputs:` chose among deps that alone do not decide. Stages in
 * `skip` (their deps are already reported) are left unbound.
 */
export function bindPorts(
  y: Y,
  stages: ReadonlyMap<string, StageSpec>,
  explicit: ReadonlyMap<string, Record<string, string>>,
  skip: ReadonlySet<string>,
  diagnostics: Diagnostic[],
): void {
  /** What a stage writes: its kind's contract, null for a cmd stage or a kind without one, undefined when unknown. */
  const contractOf = (name: string): string | null | undefined => {
    const s = stages.get(name);
    if (s === undefined) return undefined;
    if (s.uses !== undefined) return kindInfo(s.uses)?.outputContract ?? null;
    return s.cmd !== undefined ? null : undefined;
  };
  const writersOf = (contract: string, self: string): string[] =>
    [...stages.values()].filter((s) => s.name !== self && s.uses !== undefined && kindInfo(s.uses)?.outputContract === contract).map((s) => s.name);
  const writes = (name: string): string => {
    const s = stages.get(name);
    const c = contractOf(name);
    return s?.uses === undefined ? `'${name}' is a cmd stage (its outs carry no contract)` : `'${name}' (uses ${s.uses}) writes ${c ?? 'no declared contract'}`;
  };

  for (const spec of stages.values()) {
    if (spec.uses === undefined || spec.cmd !== undefined || skip.has(spec.name)) continue; // both: reported by the schema
    const ports = portsOfKind(spec.uses);
    if (Object.keys(ports).length === 0) continue;
    // A dep whose own definition is broken (no valid kind) was reported already.
    if (spec.stageDeps.some((d) => contractOf(d) === undefined)) continue;
    const base = ['stages', spec.name];
    const chosen = explicit.get(spec.name) ?? {};
    const bound: Record<string, string> = {};
    const decided: Record<string, string> = {};
    const depsAt = y.doc.getIn([...base, 'deps']) !== undefined ? valueLocation(y, [...base, 'deps']) : keyLocation(y, ['stages'], spec.name);
    const what = `stage '${spec.name}' (uses ${spec.uses})`;

    for (const [port, ps] of Object.entries(ports)) {
      const fromDeps = spec.stageDeps.filter((d) => contractOf(d) === ps.contract);
      const target = chosen[port];
      if (target !== undefined) {
        if (contractOf(target) !== ps.contract) {
          const writers = writersOf(ps.contract, spec.name);
          diagnostics.push({
            message:
              `input '${port}' of ${what} takes ${ps.contract} (${ps.doc}), but ${writes(target)}; ` +
              (writers.length > 0 ? `bind it to a stage that writes ${ps.contract}, e.g. inputs: {${port}: ${writers[0]}}` : `no stage writes ${ps.contract}: add one (a kind whose output is ${ps.contract})`),
            location: valueLocation(y, [...base, 'inputs', port]),
            ...(writers.length > 0 ? { choices: writers } : {}),
          });
          continue;
        }
        bound[port] = target;
        if (!(fromDeps.length === 1 && fromDeps[0] === target)) decided[port] = target;
        continue;
      }
      // Deps bound explicitly to another port of the same contract are taken.
      const taken = new Set(Object.entries(chosen).filter(([p]) => p !== port && ports[p]?.contract === ps.contract).map(([, s]) => s));
      const candidates = fromDeps.filter((d) => !taken.has(d));
      if (candidates.length === 1) {
        bound[port] = candidates[0]!;
      } else if (candidates.length === 0) {
        if (ps.optional === true) continue;
        const writers = writersOf(ps.contract, spec.name);
        const stageDeps = spec.stageDeps.filter((d) => stages.has(d));
        diagnostics.push({
          message:
            `${what} has nothing for its input '${port}' (${ps.doc}): no dep writes ${ps.contract}` +
            (stageDeps.length > 0 ? ` (${stageDeps.map(writes).join('; ')})` : '') +
            (writers.length > 0
              ? `; add ${writers.length === 1 ? `'${writers[0]}'` : `one of ${quoted(writers)}`} to deps, or bind it with inputs: {${port}: ${writers[0]}}`
              : `; no stage writes ${ps.contract}: add one (a kind whose output is ${ps.contract}) and list it under deps`),
          location: depsAt,
          ...(writers.length > 0 ? { choices: writers } : {}),
        });
      } else {
        diagnostics.push({
          message: `${what}: its input '${port}' (${ps.doc}) could be any of ${quoted(candidates)}, which all write ${ps.contract}; say which with inputs: {${port}: ${candidates[0]}}`,
          location: depsAt,
          choices: candidates,
        });
      }
    }

    // A map kind maps the items of its first dependency: the stage bound to its items port.
    const info = kindInfo(spec.uses);
    const itemsPort = Object.entries(ports).find(([, ps]) => ps.items === true)?.[0];
    if (info?.type === 'map' && !info.source && itemsPort !== undefined) {
      const t = bound[itemsPort];
      if (t !== undefined && spec.stageDeps[0] !== t) {
        const seq = y.doc.getIn([...base, 'deps']);
        const i = isSeq(seq) ? seq.items.findIndex((n) => isScalar(n) && n.value === t) : -1;
        diagnostics.push({
          message: `${what} maps the items of its input '${itemsPort}' ('${t}'), which must be its first dependency: list '${t}' first in deps`,
          location: i >= 0 ? valueLocation(y, [...base, 'deps', i]) : valueLocation(y, [...base, 'inputs', itemsPort]),
        });
      }
    }
    spec.ports = bound;
    if (Object.keys(decided).length > 0) spec.explicitPorts = decided;
  }
}

/**
 * For stages read back from a run record that predates ports (no `ports` in it): binds each
 * port to the one dep whose kind writes its contract, as loading that pipeline.yaml did.
 */
export function bindRecordPorts(stages: ReadonlyMap<string, StageSpec>): void {
  for (const spec of stages.values()) {
    if (spec.uses === undefined || Object.keys(spec.ports).length > 0) continue;
    for (const [port, ps] of Object.entries(portsOfKind(spec.uses))) {
      const from = spec.stageDeps.filter((d) => {
        const up = stages.get(d)?.uses;
        return up !== undefined && kindInfo(up)?.outputContract === ps.contract;
      });
      if (from.length === 1) spec.ports[port] = from[0]!;
    }
  }
}
