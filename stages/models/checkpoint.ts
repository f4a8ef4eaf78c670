// Training checkpoints: everything needed to continue a training run exactly where it was
// (weights, optimizer slots, random generator states, history, best weights so far), in one
// file: a JSON header followed by the raw float32 arrays it indexes. Written to a temporary
// name and renamed, so a crash never leaves a half-written checkpoint behind.
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { JsonValue } from '../../src/stage-api.js';
import type { ModelState, NamedArray } from './contract.js';

const MAGIC = 'PIPELINE-CKPT-1\n';

/** The JSON part of a checkpoint; the arrays of `state` and `best` travel in binary. */
export interface CheckpointMeta {
  /** Identifies the training (params, inputs, backend): a checkpoint of another one is ignored. */
  key: string;
  /** Last completed epoch (1-based). */
  epoch: number;
  extra: JsonValue;
}

export interface Checkpoint extends CheckpointMeta {
  state: ModelState;
  /** Weights of the best epoch so far (absent before the first). */
  best?: NamedArray[];
}

interface ArrayRef {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export function writeCheckpoint(path: string, c: Checkpoint): void {
  const blobs: Float32Array[] = [];
  let offset = 0;
  const refs = (arrays: readonly NamedArray[]): ArrayRef[] =>
    arrays.map((a) => {
      const r = { name: a.name, shape: a.shape, offset, length: a.data.length };
      blobs.push(a.data);
      offset += a.data.length;
      return r;
    });
  const header = {
    key: c.key,
    epoch: c.epoch,
    extra: c.extra,
    weights: refs(c.state.weights),
    optimizer: c.state.optimizer === undefined ? null : refs(c.state.optimizer),
    rng: c.state.rng ?? null,
    best: c.best === undefined ? null : refs(c.best),
  };
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, MAGIC.length);
  // Pad so the float data starts 4-byte aligned in the file (it is copied on read anyway).
  const pad = Buffer.alloc((4 - ((head.length + json.length) % 4)) % 4);
  const body = blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const tmp = `${path}.${process.pid}.tmp`;
  // The parts written one after the other, not first joined into one buffer (the copy was a
  // third of a checkpoint's time; a training writes one per epoch).
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [head, json, pad, ...body]) {
      for (let done = 0; done < part.length; ) done += writeSync(fd, part, done);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The checkpoint at `path` when it exists, is readable and carries `key`; otherwise undefined. */
export function readCheckpoint(path: string, key: string): Checkpoint | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const buf = readFileSync(path);
    if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return undefined;
    const len = buf.readUInt32LE(MAGIC.length);
    const jsonStart = MAGIC.length + 4;
    const h = JSON.parse(buf.subarray(jsonStart, jsonStart + len).toString('utf8')) as {
      key: string;
      epoch: number;
      extra: JsonValue;
      weights: ArrayRef[];
      optimizer: ArrayRef[] | null;
      rng: JsonValue | null;
      best: ArrayRef[] | null;
    };
    if (h.key !== key) return undefined;
    let dataStart = jsonStart + len;
    dataStart += (4 - (dataStart % 4)) % 4;
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset + dataStart, buf.byteOffset + buf.length));
    const refs = [...h.weights, ...(h.optimizer ?? []), ...(h.best ?? [])];
    if (refs.some((r) => r.offset + r.length > all.length)) return undefined; // truncated
    const arrays = (refs: ArrayRef[]): NamedArray[] =>
      refs.map((r) => ({ name: r.name, shape: r.shape, data: all.slice(r.offset, r.offset + r.length) }));
    return {
      key: h.key,
      epoch: h.epoch,
      extra: h.extra,
      state: {
        weights: arrays(h.weights),
        ...(h.optimizer === null ? {} : { optimizer: arrays(h.optimizer) }),
        ...(h.rng === null ? {} : { rng: h.rng }),
      },
      ...(h.best === null ? {} : { best: arrays(h.best) }),
    };
  } catch {
    // A damaged checkpoint only costs the time it would have saved: start over.
    return undefined;
  }
}

export function removeCheckpoint(path: string): void {
  rmSync(path, { force: true });
}
