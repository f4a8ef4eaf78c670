// Multi-label classification metrics, as scikit-learn defines them.
//
// Written by hand: no maintained npm package reproduces scikit-learn's average precision
// (step-wise, ties grouped into one threshold) and its zero_division conventions, and these
// numbers must match the reference project's to 1e-9 (test/fixtures/metrics/expected.json).
// All arithmetic is float64; scores may arrive as float32 and are compared exactly as stored.
// A NaN or infinite score is an error, as in scikit-learn ("Input contains NaN"): NaN has no
// place in a descending sort, so it would otherwise reorder the ranking silently.
import { UserError } from '../../src/errors.js';

/** Scores and 0/1 targets of M rows by G columns, row-major. */
export interface ScoreMatrix {
  scores: ArrayLike<number>;
  targets: ArrayLike<number>;
  rows: number;
  cols: number;
  /** Row names (movie ids) and column names (genres), for error messages. */
  rowNames?: readonly string[];
  colNames?: readonly string[];
}

/** A NaN or ±Infinity among the scores given to prCurve / averagePrecision (sklearn raises too). */
export class NonFiniteScoreError extends RangeError {
  readonly index: number;
  readonly value: number;
  constructor(index: number, value: number) {
    super(`Input contains ${Number.isNaN(value) ? 'NaN' : 'infinity'}: score ${index} is ${value}`);
    this.name = 'NonFiniteScoreError';
    this.index = index;
    this.value = value;
  }
}

function checkFinite(scores: ArrayLike<number>): void {
  for (let i = 0; i < scores.length; i++) if (!Number.isFinite(scores[i]!)) throw new NonFiniteScoreError(i, scores[i]!);
}

export interface PrCurve {
  /** One point per distinct score, from the highest score down (recall rises). */
  precision: number[];
  recall: number[];
  thresholds: number[];
}

/**
 * The precision-recall curve of one binary problem, as sklearn.metrics.precision_recall_curve
 * builds it: scores sorted descending, one point per distinct score (tied scores are one
 * threshold), tp/fp counted at each. Points are returned from the highest threshold down,
 * without sklearn's appended (recall 0, precision 1) end point. Returns null without positives.
 * Throws NonFiniteScoreError on a NaN or infinite score.
 */
export function prCurve(scores: ArrayLike<number>, targets: ArrayLike<number>): PrCurve | null {
  checkFinite(scores);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const precision: number[] = [];
  const recall: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) if (targets[i]! > 0) positives++;
  if (positives === 0) return null;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (targets[i]! > 0) tp++;
    const next = order[k + 1];
    // A threshold closes only after the last of a run of tied scores.
    if (next !== undefined && scores[next] === scores[i]) continue;
    const predicted = k + 1;
    precision.push(tp / predicted);
    recall.push(tp / positives);
    thresholds.push(scores[i]!);
    // sklearn stops once full recall is reached: later points add nothing to AP.
    if (tp === positives) break;
  }
  return { precision, recall, thresholds };
}

/**
 * Average precision as sklearn.metrics.average_precision_score: AP = sum_n (R_n - R_{n-1}) P_n
 * over the thresholds from the highest down, R_0 = 0; not interpolated. null without positives.
 */
export function averagePrecision(scores: ArrayLike<number>, targets: ArrayLike<number>): number | null {
  const c = prCurve(scores, targets);
  if (c === null) return null;
  let ap = 0;
  let prev = 0;
  for (let k = 0; k < c.recall.length; k++) {
    ap += (c.recall[k]! - prev) * c.precision[k]!;
    prev = c.recall[k]!;
  }
  return ap;
}

export interface GenreCounts {
  tp: number;
  fp: number;
  fn: number;
  /** Number of positive targets. */
  support: number;
}

/** Precision, recall and F1 from counts, with sklearn's zero_division=0 (0 where undefined). */
export function prf(c: Pick<GenreCounts, 'tp' | 'fp' | 'fn'>): { precision: number; recall: number; f1: number } {
  const { tp, fp, fn } = c;
  return {
    precision: tp + fp === 0 ? 0 : tp / (tp + fp),
    recall: tp + fn === 0 ? 0 : tp / (tp + fn),
    f1: 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn),
  };
}

export interface GenreMetrics {
  /** Column index. */
  index: number;
  support: number;
  precision: number;
  recall: number;
  f1: number;
  /** null where the genre has no positives in the split. */
  ap: number | null;
  tp: number;
  fp: number;
  fn: number;
}

export interface MultiLabelMetrics {
  threshold: number;
  perGenre: GenreMetrics[];
  /** Mean AP over the genres with positives; null when none has. */
  mAP: number | null;
  /** AP of all (row, genre) pairs flattened, over the genres with positives (sklearn average="micro"). */
  microAP: number | null;
  microF1: number;
  /** Unweighted mean of every genre's F1, genres without positives included (as sklearn). */
  macroF1: number;
  /** Mean F1 weighted by support. */
  weightedF1: number;
  /** Column indices of genres without positives: AP n/a, left out of mAP and micro AP. */
  withoutPositives: number[];
}

function column(m: ScoreMatrix, j: number, which: 'scores' | 'targets'): Float64Array {
  const src = m[which];
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) out[i] = src[i * m.cols + j]!;
  return out;
}

/** Every metric of the report, for one score matrix at one threshold (score >= threshold is positive). */
export function multiLabelMetrics(m: ScoreMatrix, threshold: number): MultiLabelMetrics {
  if (m.scores.length !== m.rows * m.cols || m.targets.length !== m.rows * m.cols) {
    throw new RangeError(`multiLabelMetrics: expected ${m.rows}x${m.cols} values, got ${m.scores.length} scores and ${m.targets.length} targets`);
  }
  for (let k = 0; k < m.scores.length; k++) {
    const v = m.scores[k]!;
    if (Number.isFinite(v)) continue;
    const i = Math.floor(k / m.cols);
    const j = k % m.cols;
    throw new UserError(
      `the score of movie ${m.rowNames?.[i] ?? `#${i}`} for genre ${m.colNames?.[j] ?? `#${j}`} is ${v}: average precision needs finite scores`,
      'the model produced it (diverged training?): retrain, e.g. with a lower train.lr, or check that movie\'s features',
    );
  }
  const perGenre: GenreMetrics[] = [];
  const withPos: number[] = [];
  for (let j = 0; j < m.cols; j++) {
    const s = column(m, j, 'scores');
    const t = column(m, j, 'targets');
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < m.rows; i++) {
      const pred = s[i]! >= threshold;
      const pos = t[i]! > 0;
      if (pred && pos) tp++;
      else if (pred) fp++;
      else if (pos) fn++;
    }
    const support = tp + fn;
    if (support > 0) withPos.push(j);
    perGenre.push({ index: j, support, ...prf({ tp, fp, fn }), ap: support > 0 ? averagePrecision(s, t) : null, tp, fp, fn });
  }
  const aps = perGenre.flatMap((g) => (g.ap === null ? [] : [g.ap]));
  const mAP = aps.length === 0 ? null : aps.reduce((a, b) => a + b, 0) / aps.length;

  let microAP: number | null = null;
  if (withPos.length > 0) {
    // Row-major flattening of the kept columns, as numpy's ravel() does for sklearn's micro average.
    const fs = new Float64Array(m.rows * withPos.length);
    const ft = new Float64Array(m.rows * withPos.length);
    let k = 0;
    for (let i = 0; i < m.rows; i++) {
      for (const j of withPos) {
        fs[k] = m.scores[i * m.cols + j]!;
        ft[k] = m.targets[i * m.cols + j]!;
        k++;
      }
    }
    microAP = averagePrecision(fs, ft);
  }

  const sum = perGenre.reduce((a, g) => ({ tp: a.tp + g.tp, fp: a.fp + g.fp, fn: a.fn + g.fn }), { tp: 0, fp: 0, fn: 0 });
  const microF1 = prf(sum).f1;
  const macroF1 = perGenre.length === 0 ? 0 : perGenre.reduce((a, g) => a + g.f1, 0) / perGenre.length;
  const totalSupport = perGenre.reduce((a, g) => a + g.support, 0);
  const weightedF1 = totalSupport === 0 ? 0 : perGenre.reduce((a, g) => a + g.f1 * g.support, 0) / totalSupport;

  return {
    threshold,
    perGenre,
    mAP,
    microAP,
    microF1,
    macroF1,
    weightedF1,
    withoutPositives: perGenre.filter((g) => g.support === 0).map((g) => g.index),
  };
}
