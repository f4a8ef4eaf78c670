// Stats many paths on two threads: the calling thread and one helper thread (src/stat-worker.ts)
// claim chunks of the paths from a shared counter and write [dev, ino, size, mtimeMs] per path
// into shared memory (written by hand: no library shares a stat loop across threads). A no-op
// `status` over a dataset is a stat per file and little else, so the second core takes half of
// its longest part. Node's asynchronous fs.stat is no substitute: its
// callbacks cost more than the stats (measured: 100,000 stats took 0.5 s synchronously, 0.9 s
// through 64 callbacks at a time, 2-3 s through promises).
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** ctl[CTL_NEXT]: the next path index to claim; ctl[CTL_STARTED]: 0 not begun, 1 the helper works on it, 2 the caller went on without it. */
export const CTL_NEXT = 0;
export const CTL_STARTED = 1;
const CHUNK = 64;
/** Fewer paths than this are statted on the calling thread alone. */
const MIN_PARALLEL = 2048;
/**
 * The helper thread starts once this many paths went through statMany: starting it costs about
 * what statting 10,000 files does on 2 cores, so a small workspace never pays for it.
 */
const START_AFTER = 12_000;
let seen = 0;

export interface StatJob {
  id: number;
  /** The paths joined by '\0' (which no path holds): one string crosses threads faster than many. */
  paths: string;
  out: SharedArrayBuffer;
  ctl: SharedArrayBuffer;
  /** One byte per chunk: 1 once done. */
  flags: SharedArrayBuffer;
}

/**
 * Claims chunks until none are left, writing each path's numbers (NaN first for a path that
 * could not be statted) and marking each chunk done in `doneFlags`.
 */
export function claimAndStat(paths: readonly string[], out: Float64Array, ctl: Int32Array, doneFlags: Uint8Array, stat: typeof statSync): void {
  for (;;) {
    const start = Atomics.add(ctl, CTL_NEXT, CHUNK);
    if (start >= paths.length) return;
    statRange(paths, out, start, Math.min(start + CHUNK, paths.length), stat);
    Atomics.store(doneFlags, start / CHUNK, 1);
  }
}

function statRange(paths: readonly string[], out: Float64Array, start: number, end: number, stat: typeof statSync): void {
  for (let i = start; i < end; i++) {
    const k = 4 * i;
    let s;
    try {
      s = stat(paths[i]!); // no options object: reading one costs a tenth of the stat
    } catch {
      s = undefined; // the caller stats it again for the error
    }
    if (s === undefined) {
      out[k] = Number.NaN;
      continue;
    }
    out[k] = s.dev;
    out[k + 1] = s.ino;
    out[k + 2] = s.size;
    out[k + 3] = s.mtimeMs;
  }
}

const chunkCount = (n: number): number => Math.ceil(n / CHUNK);

let helper: { worker: Worker; pending: Map<number, () => void> } | undefined;
let helperFailed = false;
let nextJob = 0;

function startHelper(): typeof helper {
  if (helperFailed) return undefined;
  try {
    const worker = new Worker(new URL('./stat-worker.js', import.meta.url));
    const h = { worker, pending: new Map<number, () => void>() };
    worker.unref();
    worker.on('message', (id: number) => {
      h.pending.get(id)?.();
      h.pending.delete(id);
    });
    const fail = (): void => {
      // The caller stats what the helper left (see statMany); later calls use one thread.
      helperFailed = true;
      if (helper === h) helper = undefined;
      for (const done of h.pending.values()) done();
      h.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    return h;
  } catch {
    helperFailed = true;
    return undefined;
  }
}

/**
 * [dev, ino, size, mtimeMs] of each path, 4 numbers per path in order; NaN first for a path that
 * could not be statted (statSync it for the error). `meanwhile` runs on this thread once the
 * helper has the job, before this thread joins the stats (other work for the same batch).
 */
export async function statMany(paths: readonly string[], meanwhile?: () => void): Promise<Float64Array> {
  const n = paths.length;
  seen += n;
  if (n < MIN_PARALLEL || seen <= START_AFTER || (helper === undefined && (helper = startHelper()) === undefined)) {
    meanwhile?.();
    const out = new Float64Array(4 * n);
    claimAndStat(paths, out, new Int32Array(2), new Uint8Array(chunkCount(n)), statSync);
    return out;
  }
  const h = helper;
  const out = new SharedArrayBuffer(8 * 4 * n);
  const ctl = new SharedArrayBuffer(8);
  const flags = new SharedArrayBuffer(chunkCount(n));
  const id = nextJob++;
  const done = new Promise<void>((resolve) => h.pending.set(id, resolve));
  h.worker.ref();
  try {
    h.worker.postMessage({ id, paths: paths.join('\0'), out, ctl, flags } satisfies StatJob);
    const c = new Int32Array(ctl);
    const nums = new Float64Array(out);
    const doneFlags = new Uint8Array(flags);
    meanwhile?.();
    claimAndStat(paths, nums, c, doneFlags, statSync);
    // Wait for the helper only when it has begun (it then finishes its last chunk soon); one
    // that has not begun never will (it sees 2 and skips the job).
    if (Atomics.compareExchange(c, CTL_STARTED, 0, 2) !== 0) await done;
    // A helper that died mid-job left chunks undone: stat them here.
    for (let j = 0; j < doneFlags.length; j++) {
      if (Atomics.load(doneFlags, j) !== 1) statRange(paths, nums, j * CHUNK, Math.min((j + 1) * CHUNK, n), statSync);
    }
    return nums;
  } finally {
    h.pending.delete(id);
    h.worker.unref();
  }
}
