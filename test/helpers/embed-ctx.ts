// Test helpers for the embed stage: a small real content-addressed store on a temp folder, a
// hand-built MapContext over it, a sink that records what the kind reports, and movies of
// synthetic JPEG frames written the way the frames stage writes them.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { hashBytes, hashFile } from '../../src/hash.js';
import type { Hash, ItemOutput, ItemSink, ItemTask, MapContext, ProgressUpdate, StoreAccess } from '../../src/stage-api.js';
import type { FrameEntry, FrameList } from '../../stages/data/frame-list.js';

export function tempDir(prefix = 'embed-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Objects under <dir>/objects/<hash>, written to a temp name then renamed. */
export class TempStore implements StoreAccess {
  readonly #objects: string;
  readonly #tmp: string;
  #n = 0;
  puts = 0;
  constructor(dir: string) {
    this.#objects = join(dir, 'objects');
    this.#tmp = join(dir, 'tmp');
    mkdirSync(this.#objects, { recursive: true });
    mkdirSync(this.#tmp, { recursive: true });
  }
  path(hash: Hash): string {
    return join(this.#objects, hash);
  }
  read(hash: Hash): Promise<Buffer> {
    return readFile(this.path(hash));
  }
  async readJson<T = unknown>(hash: Hash): Promise<T> {
    return JSON.parse((await this.read(hash)).toString('utf8')) as T;
  }
  async put(data: Uint8Array | string): Promise<Hash> {
    const hash = hashBytes(data);
    const tmp = this.tempPath();
    writeFileSync(tmp, data);
    renameSync(tmp, this.path(hash));
    this.puts++;
    return hash;
  }
  async putFile(path: string): Promise<Hash> {
    const { hash } = await hashFile(path);
    renameSync(path, this.path(hash));
    return hash;
  }
  tempPath(suffix = ''): string {
    return join(this.#tmp, `t${this.#n++}${suffix}`);
  }
}

export interface TestCtx extends MapContext {
  progressUpdates: ProgressUpdate[];
  logs: Array<{ level: string; message: string }>;
  abort(): void;
}

/** A MapContext whose declared params are `params` (dotted keys); param() refuses others, as the engine does. */
export function makeCtx(opts: { workspace: string; store: StoreAccess; params?: Record<string, unknown>; declared?: string[] }): TestCtx {
  const params = opts.params ?? {};
  const declared = opts.declared ?? ['embed'];
  const isDeclared = (key: string): boolean => declared.some((d) => key === d || key.startsWith(`${d}.`));
  const controller = new AbortController();
  const progressUpdates: ProgressUpdate[] = [];
  const logs: Array<{ level: string; message: string }> = [];
  return {
    stage: 'embed',
    workspace: opts.workspace,
    params,
    store: opts.store,
    inputs: {},
    signal: controller.signal,
    concurrency: 2,
    progressUpdates,
    logs,
    abort: () => controller.abort(),
    param<T>(key: string): T {
      if (!isDeclared(key)) throw new Error(`param ${key} is not declared by stage embed`);
      if (!(key in params)) throw new Error(`param ${key} has no value`);
      return params[key] as T;
    },
    paramOr<T>(key: string, fallback: T): T {
      if (!isDeclared(key)) throw new Error(`param ${key} is not declared by stage embed`);
      return key in params ? (params[key] as T) : fallback;
    },
    async hashFiles(paths: readonly string[]) {
      return Promise.all(paths.map((p) => hashFile(p)));
    },
    progress(u: ProgressUpdate) {
      progressUpdates.push(u);
    },
    log(level: 'info' | 'warn', message: string) {
      logs.push({ level, message });
    },
    async scratchDir() {
      const d = join(opts.workspace, 'scratch');
      mkdirSync(d, { recursive: true });
      return d;
    },
  };
}

export class RecordingSink {
  readonly done = new Map<string, ItemOutput>();
  readonly failed = new Map<string, unknown>();
  readonly order: string[] = [];
  readonly doneItem = async (id: string, output: ItemOutput): Promise<void> => {
    this.done.set(id, output);
    this.order.push(id);
  };
  readonly failItem = async (id: string, error: unknown): Promise<void> => {
    this.failed.set(id, error);
    this.order.push(id);
  };
  sink(): ItemSink {
    return { done: this.doneItem, fail: this.failItem };
  }
}

/**
 * A synthetic 426 x 240 JPEG (MovieNet's 240P keyframe size): a colour gradient with a
 * seed-dependent palette and stripe pattern, so that frames differ from each other.
 */
export async function syntheticFrame(seed: number, width = 426, height = 240): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const a = (seed * 37) % 256;
  const b = (seed * 91 + 40) % 256;
  const period = 6 + (seed % 11);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const stripe = Math.floor((x + (seed % 2 === 0 ? y : -y)) / period) % 2;
      raw[i] = (a + (x * 255) / width) % 256;
      raw[i + 1] = (b + (y * 255) / height) % 256;
      raw[i + 2] = stripe ? 220 : 30 + ((seed * 13) % 100);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/**
 * Writes a movie's frames into the store as the frames stage does (frames without `path` live
 * in the store) and returns the embed task for it.
 */
export async function storeMovie(store: StoreAccess, id: string, frames: readonly Buffer[]): Promise<ItemTask> {
  const entries: FrameEntry[] = [];
  for (let k = 0; k < frames.length; k++) {
    const hash = await store.put(frames[k]!);
    entries.push({ name: `shot_${String(Math.floor(k / 3)).padStart(4, '0')}_img_${k % 3}.jpg`, shot: Math.floor(k / 3), img: k % 3, hash });
  }
  const list: FrameList = { movie: id, source: 'demo', frames: entries };
  const listHash = await store.put(JSON.stringify(list));
  const upstream: ItemOutput = { tree: { [`${id}.json`]: listHash }, meta: { frames: frames.length } };
  return { id, input: hashBytes(listHash), upstream };
}
