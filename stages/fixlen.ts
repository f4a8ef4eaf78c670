// The `fixlen` stage kind: each movie's CLIP embeddings [N,D] -> a fixed-length [L,D] array,
// the input shape the sequence models need. A map kind over `embed`'s items: one movie's output
// depends only on that movie's embeddings and the `fixlen.*` params, so changing the method
// reruns fixlen (and what follows) but never embed.
import { ItemError, UserError } from '../src/errors.js';
import { decodeNpy, encodeNpy } from '../src/npy.js';
import { runEach } from '../src/stage-api.js';
import type { ItemOutput, ItemTask, MapKind, StageContext } from '../src/stage-api.js';
import { describeNonFinite, firstNonFinite } from './data/finite.js';
import { FIXLEN_METHODS, fixLength, isFixlenMethod, windowRng } from './fixlen/methods.js';
import type { FixlenMethod } from './fixlen/methods.js';

export interface FixlenParams {
  length: number;
  method: FixlenMethod;
  seed: number;
}

export const FIXLEN_DEFAULTS: FixlenParams = { length: 256, method: 'window', seed: 0 };

/** Reads and checks the `fixlen.*` params; a bad value is a UserError naming the key and the choices. */
export function readFixlenParams(ctx: Pick<StageContext, 'paramOr'>): FixlenParams {
  const length = ctx.paramOr<unknown>('fixlen.length', FIXLEN_DEFAULTS.length);
  const method = ctx.paramOr<unknown>('fixlen.method', FIXLEN_DEFAULTS.method);
  const seed = ctx.paramOr<unknown>('fixlen.seed', FIXLEN_DEFAULTS.seed);
  const problems: string[] = [];
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 1) {
    problems.push(`fixlen.length must be a positive integer, got ${JSON.stringify(length)}`);
  }
  if (!isFixlenMethod(method)) {
    problems.push(`fixlen.method must be one of ${FIXLEN_METHODS.join(', ')}, got ${JSON.stringify(method)}`);
  }
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    problems.push(`fixlen.seed must be an integer, got ${JSON.stringify(seed)}`);
  }
  if (problems.length > 0) {
    throw new UserError(problems.join('; '), 'set it in conf/default.yaml or with -p, e.g. -p fixlen.method=uniform');
  }
  return { length: length as number, method: method as FixlenMethod, seed: seed as number };
}

/** The embeddings file of an upstream item: `<id>.npy`, or the only .npy file of its tree. */
function inputFile(task: ItemTask): { name: string; hash: string } {
  const tree = task.upstream?.tree ?? {};
  const own = tree[`${task.id}.npy`];
  if (own !== undefined) return { name: `${task.id}.npy`, hash: own };
  const npys = Object.keys(tree).filter((k) => k.endsWith('.npy'));
  if (npys.length === 1) return { name: npys[0]!, hash: tree[npys[0]!]! };
  throw new ItemError(task.id, `expected the embeddings file ${task.id}.npy from the upstream stage, found ${npys.length === 0 ? 'no .npy file' : npys.join(', ')}`, {
    hint: 'fixlen must depend on a stage that writes one [N,512] float32 .npy per movie (embed)',
  });
}

export async function fixlenItem(ctx: StageContext, task: ItemTask, p: FixlenParams): Promise<ItemOutput> {
  const { name, hash } = inputFile(task);
  let arr;
  try {
    arr = decodeNpy(await ctx.store.read(hash), name);
  } catch (e) {
    throw new ItemError(task.id, `cannot read the embeddings: ${(e as Error).message}`, {
      file: name,
      cause: e,
      hint: 'rerun embed for this movie with --force',
    });
  }
  if (arr.dtype !== '<f4' || arr.shape.length !== 2) {
    throw new ItemError(task.id, `expected float32 [N,D] embeddings, found ${arr.dtype} [${arr.shape.join(',')}]`, {
      file: name,
      hint: 'rerun embed for this movie with --force',
    });
  }
  const [n, d] = arr.shape as [number, number];
  if (n === 0) {
    throw new ItemError(task.id, 'the movie has no frames (embeddings of shape [0,' + d + '])', {
      file: name,
      hint: 'check that its frame folder holds images, or skip it with on_error: skip',
    });
  }
  const bad = firstNonFinite(arr.data as Float32Array);
  if (bad >= 0) {
    throw new ItemError(task.id, `the embeddings hold ${describeNonFinite(arr.data as Float32Array, bad, d, 'frame')}`, {
      file: name,
      hint: 'rerun embed for this movie with --force; if it comes back, the encoder is broken (verify embed.model, docs/EMBED.md)',
    });
  }
  const frames = { data: arr.data as Float32Array, n, d };
  const res = fixLength(frames, p.length, p.method, windowRng(p.seed, task.id));
  const out = await ctx.store.put(encodeNpy(res.data, [p.length, d]));
  return {
    tree: { [`${task.id}.npy`]: out },
    meta: { frames: n, length: p.length, ...(res.start === undefined ? {} : { start: res.start }) },
  };
}

const fixlen: MapKind = {
  name: 'fixlen',
  type: 'map',
  version: 1,
  summary: 'fixed-length [L,512] per movie from its [N,512] embeddings (window | uniform | interpolate | pool)',
  async run(ctx, tasks, sink) {
    const p = readFixlenParams(ctx);
    await runEach(ctx, tasks, sink, (task) => fixlenItem(ctx, task, p));
  },
};

export default fixlen;
