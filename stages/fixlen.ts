// The `fixlen` stage kind: each movie's CLIP embeddings [N,D] -> a fixed-length [L,D] array,
// the input shape the sequence models need. A map kind over `embed`'s items: one movie's output
// depends only on that movie's embeddings and the `fixlen.*` params, so changing the method
// reruns fixlen (and what follows) but never embed.
import { perfKeys } from '../src/param-schema/types.js';
import { readSection, type ParamReader } from '../src/param-schema/readers.js';
import { encodeNpy } from '../src/npy.js';
import { runEach } from '../src/stage-api.js';
import type { ItemOutput, ItemTask, MapKind, StageContext } from '../src/stage-api.js';
import { featuresKey, readFeatures } from './data/features.js';
import { fixLength, windowRng } from './fixlen/methods.js';
import { FIXLEN, FIXLEN_PARAMS } from './fixlen/params.js';
import type { FixlenMethod } from './fixlen/methods.js';
import { KIND_OUTPUTS, KIND_PORTS } from './ports.js';

export interface FixlenParams {
  length: number;
  method: FixlenMethod;
  seed: number;
}

/** Reads and checks the `fixlen.*` params (declared in fixlen/params.ts); a bad value is a UserError naming the key and the choices. */
export function readFixlenParams(ctx: ParamReader): FixlenParams {
  return readSection(ctx, FIXLEN, 'set it in conf/default.yaml or with -p, e.g. -p fixlen.method=uniform');
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
  params: FIXLEN_PARAMS,
  perfParams: perfKeys(FIXLEN_PARAMS),
  async run(ctx, tasks, sink) {
    const p = readFixlenParams(ctx);
    await runEach(ctx, tasks, sink, (task) => fixlenItem(ctx, task, p));
  },
};

export default fixlen;
