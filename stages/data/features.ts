// Per-movie float32 matrices: the `embeddings` that embed writes ([N,D], N frames) and the
// `features` that fixlen writes ([L,F], the same L and F for every movie). Read by fixlen
// (embeddings), train and metrics (features): the contract between those stages, and the one
// place that says which file of an item holds its matrix and what a bad one is.
//
// An item's output tree is `{"<id>.npy": <hash>}` (numpy format, little-endian float32, C
// order, two dimensions). A tree without `<id>.npy` may hold exactly one other .npy file.
import { readFileSync } from 'node:fs';
import { ItemError } from '../../src/errors.js';
import { decodeNpy } from '../../src/npy.js';
import type { Hash, ItemOutput, StoreAccess } from '../../src/stage-api.js';
import { describeNonFinite, firstNonFinite } from './finite.js';

/** Which of the two matrices: the per-frame embeddings, or the fixed-length features. */
export type MatrixContract = 'embeddings' | 'features';

/** Key of a movie's matrix in its item output tree. */
export function featuresKey(movie: string): string {
  return `${movie}.npy`;
}

export type FeaturesProblem = 'missing' | 'unreadable' | 'dtype' | 'empty' | 'non-finite' | 'shape';

/**
 * The one error kind of this contract: a movie whose matrix is missing or bad. An ItemError,
 * so the reading stage's on_error applies (train leaves the movie out under skip).
 */
export class FeaturesError extends ItemError {
  readonly problem: FeaturesProblem;
  readonly contract: MatrixContract;
  constructor(item: string, contract: MatrixContract, problem: FeaturesProblem, message: string, opts: { file?: string; hint?: string; cause?: unknown } = {}) {
    super(item, message, opts);
    this.name = 'FeaturesError';
    this.problem = problem;
    this.contract = contract;
  }
}

const RERUN: Record<MatrixContract, string> = {
  embeddings: 'rerun embed for this movie with --force',
  features: 'rerun fixlen for this movie: pipeline run fixlen --force',
};

/** The matrix file of an item: `<id>.npy`, or the only .npy file of its tree. */
export function featuresFile(movie: string, output: ItemOutput | undefined, contract: MatrixContract): { name: string; hash: Hash } {
  const tree = output?.tree ?? {};
  const own = tree[featuresKey(movie)];
  if (own !== undefined) return { name: featuresKey(movie), hash: own };
  const npys = Object.keys(tree).filter((k) => k.endsWith('.npy'));
  if (npys.length === 1) return { name: npys[0]!, hash: tree[npys[0]!]! };
  const writer = contract === 'embeddings' ? 'embed' : 'fixlen';
  throw new FeaturesError(movie, contract, 'missing', `expected the ${contract} file ${featuresKey(movie)} from the upstream stage, found ${npys.length === 0 ? 'no .npy file' : npys.join(', ')}`, {
    hint: `bind a stage that writes one float32 ${contract === 'embeddings' ? '[N,D]' : '[L,F]'} .npy per movie (${writer}), or ${RERUN[contract]}`,
  });
}

export interface FeatureMatrix {
  /** The file it was read from, as the item tree names it. */
  file: string;
  data: Float32Array;
  rows: number;
  cols: number;
}

/**
 * Decodes and checks a movie's matrix: float32, two dimensions, finite; embeddings have at least
 * one frame; features have the shape `sameAs` (another movie's) when given.
 */
export function checkFeatures(movie: string, file: string, bytes: Buffer, contract: MatrixContract, sameAs?: readonly [number, number]): FeatureMatrix {
  let arr;
  try {
    arr = decodeNpy(bytes, file);
  } catch (e) {
    throw new FeaturesError(movie, contract, 'unreadable', `cannot read the ${contract}: ${(e as Error).message}`, { file, cause: e, hint: RERUN[contract] });
  }
  const dims = contract === 'embeddings' ? '[N,D]' : '[L,F]';
  if (arr.dtype !== '<f4' || arr.shape.length !== 2) {
    throw new FeaturesError(movie, contract, 'dtype', `expected float32 ${dims} ${contract}, found ${arr.dtype} [${arr.shape.join(',')}]`, { file, hint: RERUN[contract] });
  }
  const data = arr.data as Float32Array;
  const [rows, cols] = arr.shape as [number, number];
  if (contract === 'embeddings' && rows === 0) {
    throw new FeaturesError(movie, contract, 'empty', `the movie has no frames (embeddings of shape [0,${cols}])`, {
      file,
      hint: 'check that its frame folder holds images, or skip it with on_error: skip',
    });
  }
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    throw new FeaturesError(movie, contract, 'non-finite', `the ${contract} hold ${describeNonFinite(data, bad, cols, contract === 'embeddings' ? 'frame' : 'row')}`, {
      file,
      hint:
        contract === 'embeddings'
          ? 'rerun embed for this movie with --force; if it comes back, the encoder is broken (verify embed.model, docs/EMBED.md)'
          : 'rerun fixlen and embed for this movie (pipeline run fixlen --force)',
    });
  }
  if (sameAs !== undefined && (rows !== sameAs[0] || cols !== sameAs[1])) {
    throw new FeaturesError(movie, contract, 'shape', `${contract} are [${rows},${cols}] but other movies have [${sameAs.join(',')}]`, {
      file,
      hint: 'every movie needs the same fixlen.length: rerun fixlen',
    });
  }
  return { file, data, rows, cols };
}

/** A movie's matrix from the store (hash-checked read). */
export async function readFeatures(store: StoreAccess, movie: string, output: ItemOutput | undefined, contract: MatrixContract, sameAs?: readonly [number, number]): Promise<FeatureMatrix> {
  const { name, hash } = featuresFile(movie, output, contract);
  let bytes: Buffer;
  try {
    bytes = await store.read(hash);
  } catch (e) {
    throw new FeaturesError(movie, contract, 'unreadable', `cannot read the ${contract}: ${(e as Error).message}`, { file: name, cause: e, hint: RERUN[contract] });
  }
  return checkFeatures(movie, name, bytes, contract, sameAs);
}

/** The same, read synchronously from the object's file (for loops that gather many movies). */
export function readFeaturesSync(store: StoreAccess, movie: string, output: ItemOutput | undefined, contract: MatrixContract, sameAs?: readonly [number, number]): FeatureMatrix {
  const { name, hash } = featuresFile(movie, output, contract);
  let bytes: Buffer;
  try {
    bytes = readFileSync(store.path(hash));
  } catch (e) {
    throw new FeaturesError(movie, contract, 'unreadable', `cannot read the ${contract}: ${(e as Error).message}`, { file: name, cause: e, hint: RERUN[contract] });
  }
  return checkFeatures(movie, name, bytes, contract, sameAs);
}
