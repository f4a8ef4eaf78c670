// The shape of outputs/metrics/metrics.json, and how it is built from the metric math.
// Key names follow the scikit-learn-derived fixture (per_genre, mAP, micro_ap, ...) so that a
// Python user reads the file with the same names the reference tooling uses.
import type { MultiLabelMetrics } from './metrics-math.js';

export const METRICS_FORMAT = 'pipeline-metrics/1';

export interface GenreRow {
  genre: string;
  /** Positive movies of this genre in the split. */
  support: number;
  precision: number;
  recall: number;
  f1: number;
  /** null: no positives in the split (n/a). */
  ap: number | null;
  tp: number;
  fp: number;
  fn: number;
}

export interface Scores {
  /** The model's name, as its genre-model.json gives it. */
  model: string;
  per_genre: GenreRow[];
  mAP: number | null;
  micro_ap: number | null;
  micro_f1: number;
  macro_f1: number;
  weighted_f1: number;
}

/** A point of a training history (history.json `epochs`). Fields beyond epoch may be absent. */
export interface HistoryEpoch {
  epoch: number;
  train_loss?: number | null;
  val_loss?: number | null;
  val_map?: number | null;
  val_weighted_f1?: number | null;
  lr?: number | null;
  seconds?: number | null;
}

/** history.json as the train stage writes it (values are null where there was no validation). */
export interface History {
  epochs: HistoryEpoch[];
  selected?: { epoch: number; metric: string; value: number | null };
  /** Why training stopped: early_stop, max_epochs, interrupted. */
  stopped?: unknown;
  note?: string;
}

export interface MetricsJson extends Scores {
  format: typeof METRICS_FORMAT;
  /** The split evaluated. */
  split: string;
  /** The split asked for (metrics.split); differs from `split` after a fallback. */
  requested_split: string;
  threshold: number;
  /** Movies scored (rows of predictions.npy). */
  movies: number;
  /** Column order of predictions.npy and targets.npy. */
  genres: string[];
  /** Genres without positives in the split: AP n/a, left out of mAP and micro AP. */
  genres_without_positives: string[];
  /** Movies of the split left out because they have no features (skipped upstream). */
  missing_movies: string[];
  /** The mean-pool baseline on the same movies, when it was trained. */
  baseline: Scores | null;
  /** The selected epoch and length of training, from history.json, when present. */
  training: { epochs: number; selected: History['selected'] | null; stopped: unknown } | null;
  /** Plain-language notes the reports repeat (fallbacks, n/a genres). */
  notes: string[];
}

export function toScores(model: string, genres: readonly string[], m: MultiLabelMetrics): Scores {
  if (m.perGenre.length !== genres.length) {
    throw new RangeError(`toScores: ${m.perGenre.length} genre columns but ${genres.length} genre names`);
  }
  return {
    model,
    per_genre: m.perGenre.map((g) => ({
      genre: genres[g.index]!,
      support: g.support,
      precision: g.precision,
      recall: g.recall,
      f1: g.f1,
      ap: g.ap,
      tp: g.tp,
      fp: g.fp,
      fn: g.fn,
    })),
    mAP: m.mAP,
    micro_ap: m.microAP,
    micro_f1: m.microF1,
    macro_f1: m.macroF1,
    weighted_f1: m.weightedF1,
  };
}

/** 0.80314 -> "80.31"; null -> "n/a". */
export function pct(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined ? 'n/a' : (x * 100).toFixed(digits);
}

/** 0.80314 -> "0.803"; null -> "n/a". */
export function frac(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined ? 'n/a' : x.toFixed(digits);
}

/** Genres with an AP, best first (ties by name for a stable order). */
export function rankByAp(rows: readonly GenreRow[]): GenreRow[] {
  return rows
    .filter((g) => g.ap !== null)
    .sort((a, b) => b.ap! - a.ap! || (a.genre < b.genre ? -1 : a.genre > b.genre ? 1 : 0));
}

/** The note every report repeats about genres without positives. */
export function withoutPositivesNote(m: Pick<MetricsJson, 'genres_without_positives' | 'split'>): string | null {
  const g = m.genres_without_positives;
  if (g.length === 0) return null;
  return `${g.join(', ')} ${g.length === 1 ? 'has' : 'have'} no positive movies in ${m.split}: AP n/a, left out of mAP and micro AP (${g.length === 1 ? 'its' : 'their'} F1 of 0 still counts in macro F1, as scikit-learn does).`;
}
