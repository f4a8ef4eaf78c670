// The frames stage's per-movie output, read by `embed`: the contract between the two stages.
// Keep it small and stable; a change here that changes outputs bumps the frames kind version.
//
// An item's output tree is `{"<id>.json": <FrameList hash>}`, plus, where the frames stage
// wrote the frames itself (demo, videos), `{"<id>/shot_0000_img_0.jpg": <jpeg hash>, ...}` so
// that checkout shows them under outputs/frames/<id>/.
import { resolve } from 'node:path';
import type { Hash, ItemOutput, StageContext, StoreAccess } from '../../src/stage-api.js';
import { rootOf } from './params.js';

export interface FrameEntry {
  /** Keyframe file name, e.g. "shot_0002_img_1.jpg". */
  name: string;
  shot: number;
  /** Image index within the shot (MovieNet: 0..2). */
  img: number;
  /** XXH3-64 of the JPEG bytes. */
  hash: Hash;
  /**
   * Only for frames read in place (MovieNet): the file's path relative to `dataset.root`,
   * with '/' separators. Relative, so that moving the dataset folder changes no output and
   * invalidates nothing downstream (the hash pins the content). Frames without `path` are in
   * the store under `hash`.
   */
  path?: string;
  /** Videos only: the frame's time in the video, in seconds. */
  time?: number;
}

export interface FrameList {
  movie: string;
  source: 'demo' | 'movienet' | 'videos';
  /** In shot order, then image order: the order embed encodes them in. */
  frames: FrameEntry[];
}

/** Key of the frame list in an item's output tree. */
export function frameListKey(movie: string): string {
  return `${movie}.json`;
}

/** Reads a movie's frame list from its frames item output. */
export async function readFrameList(store: StoreAccess, movie: string, output: ItemOutput): Promise<FrameList> {
  const hash = output.tree[frameListKey(movie)];
  if (hash === undefined) throw new Error(`frames output of movie ${movie} has no ${frameListKey(movie)}`);
  return store.readJson<FrameList>(hash);
}

/**
 * Where to read a frame's bytes: in the dataset for in-place frames (needs the absolute dataset
 * root, see datasetRoot()), else the store object.
 */
export function framePath(frame: FrameEntry, store: StoreAccess, datasetRoot?: string): string {
  if (frame.path === undefined) return store.path(frame.hash);
  if (datasetRoot === undefined) {
    throw new Error(`frame ${frame.name} is read in place (${frame.path}): framePath needs the dataset root`);
  }
  return resolve(datasetRoot, frame.path);
}

export { resolveDatasetRoot } from './params.js';

/**
 * The absolute dataset root from a stage's params. The stage must declare `dataset.root`
 * (pipeline.yaml `params: [..., dataset.root]`), best as a perfParam: where the data lives
 * does not change results.
 */
export function datasetRoot(ctx: StageContext): string {
  return rootOf(ctx);
}
