// The `embed` stage kind: each movie's frames -> float32 [N,512] image embeddings, one .npy per
// movie (outputs/embed/<movie>.npy), rows in the frame order of the frames stage.
//
// A map kind over the items of `frames`: adding a movie embeds only that movie. `run` receives
// every stale movie at once and streams all their frames through one pipeline
// (stages/clip/batch-pipeline.ts) so that batches are full across movie boundaries and decoding
// overlaps inference; each movie is stored and reported the moment its last frame is embedded.
//
// Encoders: `onnx` runs CLIP ViT-B/32's image tower from an ONNX file (embed.model), with
// OpenAI CLIP's preprocessing, as the reference project did with PyTorch; `builtin` is a
// weight-free hand-made descriptor for the demo (a baseline, not CLIP). docs/EMBED.md.
import { isAbsolute, resolve } from 'node:path';
import { ItemError, UserError } from '../src/errors.js';
import { perfKeys } from '../src/param-schema/types.js';
import { readParam, readSection, type ParamReader } from '../src/param-schema/readers.js';
import { encodeNpy } from '../src/npy.js';
import type { ItemOutput, ItemTask, MapKind, StageContext } from '../src/stage-api.js';
// Only light modules at the top: `pipeline status` imports every kind. sharp, onnxruntime and
// the pipeline load in run().
import type { FrameRef, MovieSource } from './clip/batch-pipeline.js';
import type { FrameEncoder } from './clip/encoder.js';
import { checkModelFile, onnxRuntimeVersion } from './clip/onnx-model.js';
import type { Provider } from './clip/onnx-model.js';
import { sharpVersions } from './clip/sharp-versions.js';
import { datasetRoot, framePath, readFrameList } from './data/frame-list.js';
import type { FrameEntry, FrameList } from './data/frame-list.js';
import { EMBED, EMBED_PARAMS, type EncoderName } from './embed/params.js';
import { KIND_OUTPUTS, KIND_PORTS } from './ports.js';

export { ENCODERS, type EncoderName } from './embed/params.js';

export interface EmbedParams {
  encoder: EncoderName;
  /** embed.model as configured, and resolved against the workspace. */
  model: string;
  modelPath: string;
  provider: Provider;
  batchSize: number;
  threads: number;
  normalize: boolean;
}

/** Reads and checks the `embed.*` params (declared in embed/params.ts); every bad value is reported at once, naming the key and the choices. */
export function readEmbedParams(ctx: ParamReader & Pick<StageContext, 'workspace'>): EmbedParams {
  const p = readSection(ctx, EMBED, 'set it in conf/default.yaml or with -p, e.g. -p embed.encoder=onnx (conf/README.md lists the keys)');
  return { ...p, modelPath: isAbsolute(p.model) ? p.model : resolve(ctx.workspace, p.model) };
}

/** Opens the configured encoder (for onnx: a worker thread holding the session). */
export async function openEncoder(p: EmbedParams): Promise<FrameEncoder> {
  if (p.encoder === 'builtin') {
    const { BuiltinEncoder } = await import('./clip/builtin-descriptor.js');
    return new BuiltinEncoder(p.batchSize);
  }
  const { OnnxThreadEncoder } = await import('./clip/onnx-thread.js');
  return OnnxThreadEncoder.open({
    modelPath: p.modelPath,
    configured: p.model,
    provider: p.provider,
    threads: p.threads,
    batchSize: p.batchSize,
  });
}

function isFrameList(x: unknown): x is FrameList {
  if (typeof x !== 'object' || x === null || !Array.isArray((x as FrameList).frames)) return false;
  return (x as FrameList).frames.every(
    (f: FrameEntry) => typeof f === 'object' && f !== null && typeof f.name === 'string' && typeof f.hash === 'string' && (f.path === undefined || typeof f.path === 'string'),
  );
}

/** The frame files of one movie, from its frames item output. */
export async function movieFrames(ctx: StageContext, task: ItemTask, root: () => string): Promise<FrameRef[]> {
  if (task.upstream === undefined) throw new Error(`embed: task ${task.id} has no upstream output (embed maps the items of frames)`);
  let list: unknown;
  try {
    list = await readFrameList(ctx.store, task.id, task.upstream);
  } catch (e) {
    throw new ItemError(task.id, `cannot read the movie's frame list: ${(e as Error).message}`, {
      file: `${task.id}.json`,
      cause: e,
      hint: 'rerun the frames stage for this movie with --force',
    });
  }
  if (!isFrameList(list)) {
    throw new ItemError(task.id, 'the frame list is not of the expected shape {movie, frames: [{name, hash, path?}]}', {
      file: `${task.id}.json`,
      hint: 'rerun the frames stage for this movie with --force',
    });
  }
  return list.frames.map((f) => ({
    name: f.path ?? f.name,
    file: f.path === undefined ? framePath(f, ctx.store) : framePath(f, ctx.store, root()),
    hash: f.hash,
  }));
}

/** Checks one movie's embeddings, L2-normalises them if asked, and stores the .npy. */
export async function storeEmbeddings(
  ctx: Pick<StageContext, 'store'>,
  id: string,
  emb: Float32Array,
  n: number,
  dim: number,
  frames: readonly FrameRef[],
  normalize: boolean,
): Promise<ItemOutput> {
  for (let r = 0; r < n; r++) {
    for (let j = r * dim; j < (r + 1) * dim; j++) {
      if (!Number.isFinite(emb[j]!)) {
        throw new ItemError(id, `the encoder returned ${emb[j]} in the embedding of frame ${r} of ${n}`, {
          file: frames[r]?.name,
          hint: 'the model may be broken or overflow (an fp16 model?): verify embed.model (docs/EMBED.md), or try embed.provider: cpu',
        });
      }
    }
  }
  if (normalize) {
    for (let r = 0; r < n; r++) {
      const row = emb.subarray(r * dim, (r + 1) * dim);
      let ss = 0;
      for (const v of row) ss += v * v;
      // A zero row (a blank frame through the builtin encoder) stays zero rather than NaN.
      if (ss > 0) {
        const k = 1 / Math.sqrt(ss);
        for (let j = 0; j < dim; j++) row[j] = row[j]! * k;
      }
    }
  }
  const hash = await ctx.store.put(encodeNpy(emb, [n, dim]));
  return { tree: { [`${id}.npy`]: hash }, meta: { frames: n, dim } };
}

const embed: MapKind = {
  name: 'embed',
  type: 'map',
  version: 1,
  code: import.meta.url,
  ports: KIND_PORTS.embed,
  outputContract: KIND_OUTPUTS.embed,
  summary: 'image embeddings [N,512] per movie: CLIP ViT-B/32 in ONNX (embed.encoder: onnx) or the builtin descriptor',
  params: EMBED_PARAMS,
  // embed.batch_size and embed.threads (speed only), embed.model and dataset.root: embed/params.ts says why.
  perfParams: perfKeys(EMBED_PARAMS),

  async env(ctx) {
    const versions: Record<string, string> = { ...(await sharpVersions()) };
    if (readParam(ctx, 'embed.encoder', EMBED.params.encoder) === 'onnx') versions.onnxruntime = onnxRuntimeVersion();
    return versions;
  },

  async inputs(ctx): Promise<Record<string, string>> {
    const p = readEmbedParams(ctx);
    if (p.encoder !== 'onnx') return {};
    checkModelFile(p.modelPath, p.model);
    const [h] = await ctx.hashFiles([p.modelPath]);
    return { model: h!.hash };
  },

  async run(ctx, tasks, sink) {
    if (tasks.length === 0) return;
    const p = readEmbedParams(ctx);
    let root: string | undefined;
    const rootOf = (): string => {
      if (root !== undefined) return root;
      try {
        root = datasetRoot(ctx);
      } catch (e) {
        throw new UserError(
          `embed reads frames in place from the dataset but cannot read dataset.root: ${(e as Error).message}`,
          "declare it in pipeline.yaml: embed's params: [embed, dataset.root]",
        );
      }
      return root;
    };
    const total = tasks.reduce((a, t) => a + (typeof t.upstream?.meta?.frames === 'number' ? t.upstream.meta.frames : 0), 0);
    const { runEmbedPipeline } = await import('./clip/batch-pipeline.js');
    const encoder = await openEncoder(p);
    try {
      const framesOf = new Map<string, readonly FrameRef[]>();
      const sources: MovieSource[] = tasks.map((task) => ({
        id: task.id,
        frames: async () => {
          const refs = await movieFrames(ctx, task, rootOf);
          framesOf.set(task.id, refs);
          return refs;
        },
      }));
      const started = performance.now();
      await runEmbedPipeline(
        encoder,
        sources,
        {
          done: async (id, emb, n) => {
            const refs = framesOf.get(id) ?? [];
            framesOf.delete(id);
            let out: ItemOutput;
            try {
              out = await storeEmbeddings(ctx, id, emb, n, encoder.dim, refs, p.normalize);
            } catch (e) {
              await sink.fail(id, e);
              return;
            }
            await sink.done(id, out);
          },
          fail: async (id, error) => {
            framesOf.delete(id);
            await sink.fail(id, error);
          },
          progress: (k) => {
            const rate = k / ((performance.now() - started) / 1000);
            ctx.progress({ done: k, ...(total > 0 ? { total } : {}), message: `${rate.toFixed(rate < 10 ? 1 : 0)} frames/s` });
          },
        },
        { signal: ctx.signal },
      );
    } finally {
      await encoder.close();
    }
  },
};

export default embed;
