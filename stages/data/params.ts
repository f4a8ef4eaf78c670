// The `dataset.*` params shared by the frames and labels stages, read and validated in one place.
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import type { StageContext } from '../../src/stage-api.js';
import { DEFAULT_DATASET_ROOT, resolveDatasetRoot } from './frame-list.js';

export const SOURCES = ['demo', 'movienet', 'videos'] as const;
export type SourceKind = (typeof SOURCES)[number];

export function datasetSource(ctx: StageContext): SourceKind {
  const s = ctx.paramOr<unknown>('dataset.source', 'demo');
  if (typeof s !== 'string' || !(SOURCES as readonly string[]).includes(s)) {
    throw new UserError(`dataset.source must be one of ${SOURCES.join(', ')}, got ${JSON.stringify(s)}`, 'see conf/README.md');
  }
  return s as SourceKind;
}

function stringParam(ctx: StageContext, key: string, fallback: string): string {
  const v = ctx.paramOr<unknown>(key, fallback);
  if (typeof v !== 'string' || v === '') throw new UserError(`${key} must be a non-empty path, got ${JSON.stringify(v)}`);
  return v;
}

/** Absolute `dataset.root` (relative values are relative to the workspace). */
export function rootOf(ctx: StageContext): string {
  return resolveDatasetRoot(ctx.workspace, stringParam(ctx, 'dataset.root', DEFAULT_DATASET_ROOT));
}

export function keyframesDirOf(ctx: StageContext): string {
  return stringParam(ctx, 'dataset.keyframes_dir', '240P');
}

/** The meta folder of a MovieNet root. */
export function metaDirOf(ctx: StageContext): string {
  return join(rootOf(ctx), 'meta');
}

/** Absolute path of the official split file (it may not exist). */
export function splitFileOf(ctx: StageContext): string {
  return join(rootOf(ctx), stringParam(ctx, 'dataset.split_file', 'movie1K.split.v1.json'));
}

/** Absolute path of the videos source's labels file. */
export function labelsFileOf(ctx: StageContext): string {
  return join(rootOf(ctx), stringParam(ctx, 'dataset.labels_file', 'labels.csv'));
}

/** A problem found while listing, reported as an ItemError when the item runs. */
export type SourceProblem = { file: string; message: string; hint: string };
