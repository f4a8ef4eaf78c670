// Stage kind `frames`: each movie's ordered keyframe list (the item = a movie).
//
// Sources (`dataset.source`): `demo` renders a synthetic dataset into the store, `movienet`
// indexes MovieNet's keyframes in place (hashed, never copied), `videos` extracts keyframes from
// trailers with ffmpeg into the store. Every item's output is `{"<id>.json": FrameList}` (see
// data/frame-list.ts, the contract with embed), plus the frames where this stage wrote them.
import { ItemError, UserError } from '../src/errors.js';
import { perfKeys } from '../src/param-schema/types.js';
import { readSection } from '../src/param-schema/readers.js';
import { runEach, type ItemOutput, type ItemTask, type MapContext, type MapKind, type StageContext } from '../src/stage-api.js';
import { DEMO_GENERATOR_VERSION } from './data/demo-genres.js';
import { listDemoItems, runDemoItem, type DemoSource } from './data/demo.js';
import type { Sampling } from './data/frame-names.js';
import { listMovienetItems, runMovienetItem, type MovienetSource } from './data/movienet.js';
import { datasetSource, demoParamsOf, keyframesDirOf, rootOf } from './data/params.js';
import { findFfmpeg, listVideoItems, runVideoItem, type Extraction, type VideoSource } from './data/videos.js';
import { FRAMES, FRAMES_PARAMS } from './frames/params.js';
import { KIND_OUTPUTS } from './ports.js';

type Source = DemoSource | MovienetSource | VideoSource;

const READ_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EIO', 'EISDIR', 'ENOTDIR', 'ELOOP']);

/** The `frames.*` params (frames/params.ts), checked. */
function framesParams(ctx: StageContext): { sampling: Sampling; extraction: Extraction } {
  const f = readSection(ctx, FRAMES);
  return { sampling: { imagesPerShot: f.imagesPerShot, stride: f.stride, maxFrames: f.maxFrames }, extraction: { sceneThreshold: f.sceneThreshold, fps: f.fps } };
}

async function runItem(ctx: MapContext, task: ItemTask, s: Sampling): Promise<ItemOutput> {
  const src = task.source as Source | undefined;
  switch (src?.source) {
    case 'demo':
      return runDemoItem(ctx.store, task.id, src);
    case 'movienet':
      return runMovienetItem(ctx, ctx.store, rootOf(ctx), task.id, src);
    case 'videos':
      return runVideoItem(ctx, ctx.store, rootOf(ctx), task.id, src, s);
    default:
      throw new ItemError(task.id, `frames: item source of unknown shape ${JSON.stringify(src)?.slice(0, 80)}`);
  }
}

const frames: MapKind = {
  name: 'frames',
  type: 'map',
  version: 1,
  code: import.meta.url,
  outputContract: KIND_OUTPUTS.frames,
  summary: 'each movie\'s keyframes in shot order (demo generator, MovieNet in place, or ffmpeg on videos)',
  params: FRAMES_PARAMS,
  // dataset.root, dataset.movies, dataset.split_file, dataset.labels_file: frames/params.ts says why.
  perfParams: perfKeys(FRAMES_PARAMS),

  env(ctx) {
    switch (datasetSource(ctx)) {
      case 'demo':
        // Loaded lazily: sharp is only needed to render the demo.
        return import('./data/demo-render.js').then((m) => ({ ...m.demoRenderEnv(), demo_generator: String(DEMO_GENERATOR_VERSION) }));
      case 'videos':
        // The ffmpeg build (system or packaged) changes decoded frames; video_probe names how a
        // video's duration and frame rate are read (ffmpeg's input dump, no ffprobe).
        return findFfmpeg().then((t) => ({ ffmpeg: t.version, video_probe: 'ffmpeg-input-dump' }));
      case 'movienet':
        return {};
    }
  },

  async listItems(ctx) {
    const source = datasetSource(ctx);
    const { sampling: s, extraction } = framesParams(ctx);
    switch (source) {
      case 'demo':
        return listDemoItems(demoParamsOf(ctx));
      case 'movienet':
        return listMovienetItems(ctx, { root: rootOf(ctx), keyframesDir: keyframesDirOf(ctx), sampling: s });
      case 'videos':
        return listVideoItems(ctx, { root: rootOf(ctx), extraction });
    }
  },

  async run(ctx, tasks, sink) {
    const s = framesParams(ctx).sampling;
    if (tasks.some((t) => (t.source as Source | undefined)?.source === 'videos')) {
      // Fail the stage once, before any item, when ffmpeg is missing: it is not a data problem.
      await findFfmpeg();
    }
    await runEach(ctx, tasks, sink, async (task) => {
      try {
        return await runItem(ctx, task, s);
      } catch (e) {
        if (e instanceof ItemError || e instanceof UserError || ctx.signal.aborted) throw e;
        // A dataset file that cannot be read is that movie's problem; anything else (a full
        // disk, a bug) stops the stage.
        const code = (e as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && READ_ERRORS.has(code)) {
          throw new ItemError(task.id, (e as Error).message, { cause: e, hint: 'check that the file exists and is readable' });
        }
        throw e;
      }
    });
  },
};

export default frames;
