// The labels stage's output files, read by `train` and `metrics`: their names and types.
// Every file is JSON at the top of the labels output tree (outputs/labels/ on checkout).
import type { Hash, StoreAccess, TreeArtifact } from '../../src/stage-api.js';

export const SPLITS = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export const LABEL_FILES = {
  /** IdsFile: the labelled movie ids, sorted (the reference project's auxiliary id list). */
  ids: 'ids.json',
  /** LabelsFile: id -> one-hot genres in genres.json order (the reference's id -> one-hot dict). */
  labels: 'labels.json',
  /** GenresFile: the vocabulary, in one-hot column order. */
  genres: 'genres.json',
  /** SplitFile: ids per split. */
  split: 'split.json',
  /** CountsFile: movies and positives per genre, per split and overall. */
  counts: 'counts.json',
  /** LabelsReport: what was left out and why. */
  report: 'report.json',
} as const;

export type IdsFile = string[];
export type LabelsFile = Record<string, number[]>;
export type GenresFile = string[];
export type SplitFile = Record<SplitName, string[]>;
export type CountsFile = Record<SplitName | 'all', { movies: number; genres: Record<string, number> }>;

export interface LabelsReport {
  /** Where genres came from ("generator", a meta folder, a labels file). */
  genreSource: string;
  /** "file" (the official split file, used as is) or "stratified" (seeded iterative stratification). */
  splitSource: 'file' | 'stratified';
  /** Movies with frames but no meta / no entry in the labels file: left out. */
  noMeta: string[];
  /** Movies whose genres are all outside the vocabulary (or empty): left out. */
  noKnownGenres: string[];
  /** Movies with genres that have no frames (no keyframe folder, video, or a failed frames item). */
  noFrames: string[];
  /** Movies whose meta could not be read (not JSON, no genres list): left out. */
  badMeta: string[];
  /** Genre names outside the vocabulary -> how many movies carry them. */
  unknownGenres: Record<string, number>;
  /** Split file only: ids it lists that are not among the labelled movies. */
  splitIdsNotInData: string[];
  /** Split file only: labelled movies that it does not list (in ids.json, in no split). */
  notInSplit: string[];
}

export interface LabelsData {
  ids: IdsFile;
  labels: LabelsFile;
  genres: GenresFile;
  split: SplitFile;
  counts: CountsFile;
}

/** Reads the labels stage's files from its artifact. */
export async function readLabelsFiles(store: StoreAccess, artifact: TreeArtifact): Promise<LabelsData> {
  const get = async <T>(name: string): Promise<T> => {
    const hash: Hash | undefined = artifact.tree[name];
    if (hash === undefined) throw new Error(`labels output has no ${name}`);
    return store.readJson<T>(hash);
  };
  const [ids, labels, genres, split, counts] = await Promise.all([
    get<IdsFile>(LABEL_FILES.ids),
    get<LabelsFile>(LABEL_FILES.labels),
    get<GenresFile>(LABEL_FILES.genres),
    get<SplitFile>(LABEL_FILES.split),
    get<CountsFile>(LABEL_FILES.counts),
  ]);
  return { ids, labels, genres, split, counts };
}
