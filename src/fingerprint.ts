// Fingerprints: plain, sorted objects holding everything that changes a stage's results,
// hashed in one place and stored with every run so that a later command can diff them field
// by field and say *why* a stage is stale.
import { hashJson, hashParts, type Hash } from './hash.js';
import type { JsonValue } from './stage-api.js';

export interface StageFingerprint {
  /** Built-in kind name, or "cmd". */
  kind: string;
  /** The kind's code version; for a cmd stage, the hash of its command. */
  version: string;
  /** Declared params (dotted key -> value), speed-only params left out. */
  params: Record<string, JsonValue>;
  /** Versions of libraries and tools that change results. */
  env: Record<string, string>;
  /** External inputs: files the kind reads (e.g. the ONNX model) and path deps, name -> hash. */
  inputs: Record<string, Hash>;
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

function flatDiff(label: string, a: Record<string, unknown>, b: Record<string, unknown>, show: (k: string, x: unknown, y: unknown) => string): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    out.push(`${label}${show(k, x, y)}`);
  }
  return out;
}

const fmt = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v));

/** Why `after` differs from `before`, as short phrases ("param fixlen.length: 256 -> 128"). */
export function diffFingerprints(before: StageFingerprint, after: StageFingerprint): string[] {
  const reasons: string[] = [];
  if (before.kind !== after.kind) reasons.push(`stage kind changed: ${before.kind} -> ${after.kind}`);
  else if (before.version !== after.version) reasons.push(after.kind === 'cmd' ? 'command changed' : 'stage code changed');
  reasons.push(...flatDiff('param ', before.params, after.params, (k, x, y) => `${k}: ${fmt(x)} -> ${fmt(y)}`));
  reasons.push(...flatDiff('', before.env, after.env, (k, x, y) => `${k} ${x ?? '(none)'} -> ${y ?? '(none)'}`));
  reasons.push(
    ...flatDiff('', before.inputs, after.inputs, (k, x, y) =>
      x === undefined ? `input ${k} added` : y === undefined ? `input ${k} removed` : `input ${k} changed`,
    ),
  );
  reasons.push(
    ...flatDiff('', before.deps, after.deps, (k, x, y) =>
      x === undefined ? `now depends on ${k}` : y === undefined ? `no longer depends on ${k}` : `upstream ${k} changed`,
    ),
  );
  return reasons;
}
