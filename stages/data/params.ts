// The `dataset.*` params shared by the frames and labels stages: their declaration (conf/README.md's
// table and the conf's JSON Schema are generated from it) and the readers built on it.
import { isAbsolute, join, resolve } from 'node:path';
import { paramSection } from '../../src/param-schema/types.js';
import { readParam, type ParamReader } from '../../src/param-schema/readers.js';
import type { StageContext } from '../../src/stage-api.js';

/** The demo generator's most movies: ids tt9000001 to tt9999999 (demo-genres.ts). */
export const DEMO_MAX_MOVIES = 999_999;

export const SOURCES = ['demo', 'movienet', 'videos'] as const;
export type SourceKind = (typeof SOURCES)[number];

export const DATASET = paramSection('dataset', {
  source: { type: 'string', choices: SOURCES, default: 'demo', doc: 'Where movies, frames and genres come from. `demo`: a synthetic dataset in MovieNet\'s layout, generated offline (frames rendered into the store, genres from the generator). `movienet`: MovieNet\'s per-shot keyframes under `dataset.root`, read in place, genres from `meta/<id>.json`. `videos`: a folder of trailers (mp4, mkv, webm, mov), keyframes extracted with ffmpeg, genres from `dataset.labels_file`.' },
  seed: { type: 'int', default: 0, doc: '`demo`: seeds the generator. A movie\'s genres and frames depend only on this seed and the movie\'s number.' },
  movies: { type: 'int', min: 1, max: DEMO_MAX_MOVIES, default: 200, doc: '`demo`: number of movies, `tt9000001` upward. Not in the frames fingerprint: each movie\'s frames depend only on its own number, so raising it adds items and changes no existing one.' },
  root: { type: 'string', typeDoc: 'path', default: 'data/movienet', doc: '`movienet`, `videos`: the dataset folder, relative to the workspace or absolute. Not in any fingerprint: the data\'s content hashes are, so moving or renaming the folder invalidates nothing. Frame lists record paths relative to it.' },
  keyframes_dir: { type: 'string', typeDoc: 'folder name', default: '240P', doc: '`movienet`: the folder under `root` that holds one folder of keyframes per movie (`<imdb_id>/shot_XXXX_img_K.jpg`).' },
  split_file: { type: 'string', typeDoc: 'file name', default: 'movie1K.split.v1.json', doc: '`movienet`, `videos`: the official split (`{"train": [...], "val": [...], "test": [...]}`) under `root`. Used as is when the file exists (read by `labels`; its content hash is in the labels fingerprint); otherwise `labels` stratifies.' },
  labels_file: { type: 'string', typeDoc: 'file name', default: 'labels.csv', doc: '`videos`: the genres, under `root`: CSV lines `id,Genre1|Genre2` (RFC 4180 quoting; a header `id,genres` is optional, and with one other columns are ignored; docs/DATA.md) or JSON `{"<id>": ["Genre1", ...]}`; the id is the video\'s file name without extension. Read by `labels` (content hash in its fingerprint).' },
});

const D = DATASET.params;

export function datasetSource(ctx: ParamReader): SourceKind {
  return readParam(ctx, 'dataset.source', D.source);
}

/** Absolute path of a `dataset.root` value: relative values are relative to the workspace. */
export function resolveDatasetRoot(workspace: string, root: string): string {
  return isAbsolute(root) ? root : resolve(workspace, root);
}

/** Absolute `dataset.root` (relative values are relative to the workspace). */
export function rootOf(ctx: StageContext): string {
  return resolveDatasetRoot(ctx.workspace, readParam(ctx, 'dataset.root', D.root));
}

export function keyframesDirOf(ctx: StageContext): string {
  return readParam(ctx, 'dataset.keyframes_dir', D.keyframes_dir);
}

/** `dataset.movies` and `dataset.seed`, the demo generator's params. */
export function demoParamsOf(ctx: ParamReader): { movies: number; seed: number } {
  return { movies: readParam(ctx, 'dataset.movies', D.movies), seed: readParam(ctx, 'dataset.seed', D.seed) };
}

/** The meta folder of a MovieNet root. */
export function metaDirOf(ctx: StageContext): string {
  return join(rootOf(ctx), 'meta');
}

/** Absolute path of the official split file (it may not exist). */
export function splitFileOf(ctx: StageContext): string {
  return join(rootOf(ctx), readParam(ctx, 'dataset.split_file', D.split_file));
}

/** Absolute path of the videos source's labels file. */
export function labelsFileOf(ctx: StageContext): string {
  return join(rootOf(ctx), readParam(ctx, 'dataset.labels_file', D.labels_file));
}

/** A problem found while listing, reported as an ItemError when the item runs. */
export type SourceProblem = { file: string; message: string; hint: string };
