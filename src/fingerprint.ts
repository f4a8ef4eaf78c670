// Fingerprints: plain, sorted objects holding everything that changes a stage's results,
// hashed in one place and stored with every run so that a later command can diff them field
// by field and say *why* a stage is stale.
import { hashJson, hashParts, type Hash } from './hash.js';
import type { Change, Reason } from './reasons.js';
import type { JsonValue } from './stage-api.js';

export interface StageFingerprint {
  /** Built-in kind name, or "cmd". */
  kind: string;
  /** The kind's code version; for a cmd stage, the hash of its command. */
  version: string;
  /**
   * Hash of the kind's compiled code (its module and what it imports inside the package, see
   * src/code-identity.ts), so that a change to a model file makes train stale without a bump.
   * Absent for cmd stages (their command is their version) and for kinds that do not say where
   * their code is.
   */
  code?: Hash;
  /** Declared params (dotted key -> value), speed-only params left out. */
  params: Record<string, JsonValue>;
  /** Versions of libraries and tools that change results. */
  env: Record<string, string>;
  /** External inputs: files the kind reads (e.g. the ONNX model) and path deps, name -> hash. */
  inputs: Record<string, Hash>;
  /**
   * Ports bound explicitly (pipeline.yaml `inputs:`) where several deps could feed them: which
   * dep a port reads changes results without changing the deps. Absent otherwise, so that no
   * existing fingerprint changes.
   */
  ports?: Record<string, string>;
  /** Upstream artifacts by stage (the item dependency of a per-item stage is per item instead). */
  deps: Record<string, Hash>;
}

export function fingerprintHash(fp: StageFingerprint): Hash {
  return hashJson(fp);
}

/** The cache key of one item of a per-item stage. */
export function itemKey(stageFpHash: Hash, id: string, input: Hash): Hash {
  return hashParts([stageFpHash, id, input]);
}

function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k);
  }
  return out;
}

const change = (x: unknown, y: unknown): Change => (x === undefined ? 'added' : y === undefined ? 'removed' : 'changed');

/** Why `after` differs from `before`, field by field (rendered by src/ui/reasons.ts). */
export function diffFingerprints(before: StageFingerprint, after: StageFingerprint): Reason[] {
  const reasons: Reason[] = [];
  if (before.kind !== after.kind) reasons.push({ type: 'kind', from: before.kind, to: after.kind });
  else if (before.version !== after.version || before.code !== after.code) {
    reasons.push(before.version === after.version && before.code === undefined ? { type: 'code', kind: after.kind, first: true } : { type: 'code', kind: after.kind });
  }
  for (const k of changedKeys(before.params, after.params)) {
    const r: Reason = { type: 'param', key: k };
    if (before.params[k] !== undefined) r.from = before.params[k];
    if (after.params[k] !== undefined) r.to = after.params[k];
    reasons.push(r);
  }
  for (const k of changedKeys(before.env, after.env)) {
    const r: Reason = { type: 'env', key: k };
    if (before.env[k] !== undefined) r.from = before.env[k];
    if (after.env[k] !== undefined) r.to = after.env[k];
    reasons.push(r);
  }
  for (const k of changedKeys(before.inputs, after.inputs)) reasons.push({ type: 'input', name: k, change: change(before.inputs[k], after.inputs[k]) });
  for (const k of changedKeys(before.ports ?? {}, after.ports ?? {})) reasons.push({ type: 'port', port: k, ...(before.ports?.[k] ? { from: before.ports[k] } : {}), ...(after.ports?.[k] ? { to: after.ports[k] } : {}) });
  for (const k of changedKeys(before.deps, after.deps)) reasons.push({ type: 'dep', stage: k, change: change(before.deps[k], after.deps[k]) });
  return reasons;
}
