// The names and the saved form of the losses (`train.loss`), without tfjs: the train stage
// checks its params, and the model description (genre-model.json) records the loss, with no
// tfjs import. losses.ts implements them.

/** `train.loss` choices. */
export const LOSS_CHOICES = ['bce', 'bce_pos_count', 'bce_inv_freq', 'focal'] as const;
export type LossName = (typeof LOSS_CHOICES)[number];

/** A loss with its data-dependent weights resolved: plain JSON, saved with the model. */
export interface LossSpec {
  name: LossName;
  /** bce_pos_count: per-genre weight on both terms. */
  classWeights?: number[];
  /** bce_inv_freq: per-genre weight on the positive term. */
  posWeights?: number[];
  /** focal: focusing exponent. */
  gamma?: number;
  /** focal: weight of positives (negatives get 1 - alpha). */
  alpha?: number;
}
