// Train/val/test splits: the official split file when there is one, else a seeded iterative
// stratification.
//
// Iterative stratification (Sechidis, Tsoumakas & Vlahavas, "On the stratification of
// multi-label data", ECML PKDD 2011; Algorithm 1, as scikit-multilearn's
// IterativeStratification implements it) is written here by hand: no JS library implements it.
// Two additions, because the pipeline promises that every genre with at least `coverMin`
// positives appears in every split (a val or test split without a genre makes its AP
// undefined): while placing a genre's movies, a split still lacking that genre is preferred;
// and a final repair pass swaps movies to close any gap left by movies placed earlier for a
// rarer genre.
import seedrandom from 'seedrandom';
import { UserError } from '../../src/errors.js';
import { checkValue } from '../../src/param-schema/value.js';
import { LABELS } from '../labels/params.js';
import { SPLITS, type SplitFile, type SplitName } from './labels-files.js';

/** Validates `labels.split` against the labels kind's schema (labels/params.ts): three non-negative fractions (train, val, test) summing to 1. */
export function parseRatios(value: unknown, key = 'labels.split'): [number, number, number] {
  const problem = checkValue(key, LABELS.params.split, value);
  if (problem) throw new UserError(problem, `e.g. ${key}: [0.7, 0.1, 0.2]`);
  return value as [number, number, number];
}

export interface StratifyOptions {
  /** Fraction of the movies per fold. */
  ratios: readonly number[];
  seed: string | number;
  /** A label with at least this many positives gets a positive in every fold with ratio > 0. */
  coverMin?: number;
}

/**
 * Assigns each example (a row of 0/1 labels) to a fold. Deterministic for a given seed and
 * input order.
 */
export function iterativeStratification(rows: ReadonlyArray<ArrayLike<number>>, opts: StratifyOptions): number[] {
  const n = rows.length;
  const q = n === 0 ? 0 : rows[0]!.length;
  const coverMin = opts.coverMin ?? 3;
  const rng = seedrandom(`stratify:${opts.seed}`);
  const folds = opts.ratios.map((_, j) => j).filter((j) => opts.ratios[j]! > 0);

  const labelsOf: number[][] = rows.map((r) => {
    const ls: number[] = [];
    for (let l = 0; l < q; l++) if (r[l]! > 0) ls.push(l);
    return ls;
  });
  const total = new Array<number>(q).fill(0);
  for (const ls of labelsOf) for (const l of ls) total[l]!++;

  // Desired examples per fold, and desired positives per fold and label.
  const want = opts.ratios.map((r) => r * n);
  const wantL = opts.ratios.map((r) => total.map((t) => r * t));
  const have = opts.ratios.map(() => new Array<number>(q).fill(0));
  const fold = new Array<number>(n).fill(-1);

  // A seeded order, so that ties between equal examples are broken reproducibly but not by id.
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }

  const assign = (x: number, f: number): void => {
    fold[x] = f;
    want[f]!--;
    for (const l of labelsOf[x]!) {
      wantL[f]![l]!--;
      have[f]![l]!++;
    }
  };
  const pickBest = (cands: number[], score: (f: number) => number): number[] => {
    let best = -Infinity;
    let out: number[] = [];
    for (const f of cands) {
      const s = score(f);
      if (s > best + 1e-9) {
        best = s;
        out = [f];
      } else if (Math.abs(s - best) <= 1e-9) out.push(f);
    }
    return out;
  };
  const randomOf = (cands: number[]): number => cands[Math.floor(rng() * cands.length)]!;

  const remaining = total.slice();
  for (;;) {
    // The label with the fewest unassigned positives goes first (ties: at random).
    let fewest = Infinity;
    let ties: number[] = [];
    for (let l = 0; l < q; l++) {
      const r = remaining[l]!;
      if (r === 0) continue;
      if (r < fewest) {
        fewest = r;
        ties = [l];
      } else if (r === fewest) ties.push(l);
    }
    if (ties.length === 0) break;
    const l = randomOf(ties);
    for (const x of order) {
      if (fold[x] !== -1 || rows[x]![l]! <= 0) continue;
      let cands = folds;
      if (total[l]! >= coverMin) {
        const lacking = folds.filter((f) => have[f]![l] === 0);
        if (lacking.length > 0) cands = lacking;
      }
      cands = pickBest(cands, (f) => wantL[f]![l]!);
      if (cands.length > 1) cands = pickBest(cands, (f) => want[f]!);
      assign(x, randomOf(cands));
      for (const m of labelsOf[x]!) remaining[m]!--;
    }
  }
  // Examples without labels fill the folds furthest below their size.
  for (const x of order) if (fold[x] === -1) assign(x, randomOf(pickBest(folds, (f) => want[f]!)));

  repairCoverage(labelsOf, fold, have, total, folds, coverMin, order);
  return fold;
}

/**
 * Closes remaining gaps (a covered label with no positive in some fold) by moving a positive
 * from a fold that has two or more, and moving back a movie without that label so that fold
 * sizes stay as they were. A move never takes away another covered label's last positive.
 */
function repairCoverage(
  labelsOf: number[][],
  fold: number[],
  have: number[][],
  total: number[],
  folds: number[],
  coverMin: number,
  order: number[],
): void {
  const covered = (l: number): boolean => total[l]! >= coverMin;
  const move = (x: number, to: number): void => {
    const from = fold[x]!;
    for (const l of labelsOf[x]!) {
      have[from]![l]!--;
      have[to]![l]!++;
    }
    fold[x] = to;
  };
  // Can x leave its fold without leaving a covered label there with no positive?
  const canLeave = (x: number): boolean => labelsOf[x]!.every((l) => !covered(l) || have[fold[x]!]![l]! >= 2);
  const labels = total.map((_, l) => l).filter(covered).sort((a, b) => total[a]! - total[b]!);
  for (const l of labels) {
    for (const f of folds) {
      if (have[f]![l]! > 0) continue;
      const x = order.find((i) => fold[i] !== f && labelsOf[i]!.includes(l) && canLeave(i));
      if (x === undefined) continue;
      const from = fold[x]!;
      move(x, f);
      const y = order.find((i) => fold[i] === f && i !== x && !labelsOf[i]!.includes(l) && canLeave(i));
      if (y !== undefined) move(y, from);
    }
  }
}

/** Split lists from fold assignments (ids keep their input order). */
export function splitFromFolds(ids: readonly string[], folds: readonly number[]): SplitFile {
  const out: SplitFile = { train: [], val: [], test: [] };
  ids.forEach((id, i) => out[SPLITS[folds[i]!]!].push(id));
  return out;
}

/**
 * Uses an official split file (`{"train": [...], "val": [...], "test": [...]}`) as is, restricted
 * to the labelled movies. Ids it lists without data, and labelled movies it does not list, are
 * returned for the report.
 */
export function splitFromFile(
  content: unknown,
  file: string,
  ids: readonly string[],
): { split: SplitFile; notInData: string[]; notInSplit: string[] } {
  const obj = content as Record<string, unknown> | null;
  const bad = (why: string): UserError =>
    new UserError(`${file}: ${why}`, 'an official split file is {"train": [ids], "val": [ids], "test": [ids]}; delete it to split by stratification');
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw bad('not a JSON object');
  const known = new Set(ids);
  const seen = new Map<string, SplitName>();
  const split: SplitFile = { train: [], val: [], test: [] };
  const notInData: string[] = [];
  for (const s of SPLITS) {
    const list = obj[s];
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) throw bad(`"${s}" must be a list of movie ids`);
    for (const id of list as string[]) {
      const prev = seen.get(id);
      if (prev !== undefined) throw bad(`movie ${id} is in both "${prev}" and "${s}"`);
      seen.set(id, s);
      if (known.has(id)) split[s].push(id);
      else notInData.push(id);
    }
  }
  for (const s of SPLITS) split[s].sort();
  notInData.sort();
  const notInSplit = ids.filter((id) => !seen.has(id));
  return { split, notInData, notInSplit };
}
