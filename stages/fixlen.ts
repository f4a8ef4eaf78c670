// The `fixlen` stage kind: each movie's CLIP embeddings [N,D] -> a fixed-length [L,D] array,
// the input shape the sequence models need. A map kind over `embed`'s items: one movie's output
// depends only on that movie's embeddings and the `fixlen.*` params, so changing the method
// reruns fixlen (and what follows) but never embed.
import { UserError } from '../src/errors.js';
import { encodeNpy } from '../src/npy.js';
import { runEach } from '../src/stage-api.js';
import type { ItemOutput, ItemTask, MapKind, StageContext } from '../src/stage-api.js';
import { featuresKey, readFeatures } from './data/features.js';
import { FIXLEN_METHODS, fixLength, isFixlenMethod, windowRng } from './fixlen/methods.js';
import type { FixlenMethod } from './fixlen/methods.js';
import { KIND_OUTPUTS, KIND_PORTS } from './ports.js';

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

export async function fixlenItem(ctx: StageContext, task: ItemTask, p: FixlenParams): Promise<ItemOutput> {
  const { data, rows: n, cols: d } = await readFeatures(ctx.store, task.id, task.upstream, 'embeddings');
  const frames = { data, n, d };
  const res = fixLength(frames, p.length, p.method, windowRng(p.seed, task.id));
  const out = await ctx.store.put(encodeNpy(res.data, [p.length, d]));
  return {
    tree: { [featuresKey(task.id)]: out },
    meta: { frames: n, length: p.length, ...(res.start === undefined ? {} : { start: res.start }) },
  };
}

const fixlen: MapKind = {
  name: 'fixlen',
  type: 'map',
  version: 1,
  code: import.meta.url,
  ports: KIND_PORTS.fixlen,
  outputContract: KIND_OUTPUTS.fixlen,
  summary: 'fixed-length [L,512] per movie from its [N,512] embeddings (window | uniform | interpolate | pool)',
  async run(ctx, tasks, sink) {
    const p = readFixlenParams(ctx);
    await runEach(ctx, tasks, sink, (task) => fixlenItem(ctx, task, p));
  },
};

export default fixlen;
