// Multi-label losses (`train.loss`), computed from logits.
//
// Every loss here is binary cross-entropy per (movie, genre) element, or a reweighting of it,
// averaged over all B x G elements, like PyTorch's BCELoss with reduction 'mean'. It is computed
// from the logits z (before the sigmoid) as softplus(z) - y*z, which equals
// -[y log sigmoid(z) + (1-y) log(1 - sigmoid(z))] without the overflow that taking the log of a
// saturated sigmoid gives (PyTorch's BCELoss clamps the log at -100 instead).
//
// The options differ in how they weight the elements (docs/TRAINING.md has the reasoning):
// - `bce`: no weighting.
// - `bce_pos_count`: what the reference project did: `nn.BCELoss(weight=counts)` where counts[g]
//   is genre g's number of positive movies in the training split. That is a PER-CLASS weight:
//   it multiplies the positive AND the negative term of genre g by counts[g], so frequent genres
//   weigh more (not less) and a genre without training positives is not trained at all.
// - `bce_inv_freq`: a POS_WEIGHT-style weight (PyTorch's BCEWithLogitsLoss(pos_weight)): only the
//   positive term of genre g is multiplied by negatives[g] / positives[g], which balances each
//   genre's positives against its negatives: the usual remedy for rare genres. A genre without
//   training positives gets 1.
// - `focal`: focal loss (Lin et al. 2017), alpha_t * (1 - p_t)^gamma * BCE, which down-weights
//   elements the model already gets right; alpha weights positives, 1 - alpha negatives.
import * as tf from './tf.js';
import { UserError } from '../../src/errors.js';

import { LOSS_CHOICES, type LossName, type LossSpec } from './loss-spec.js';

export { LOSS_CHOICES, type LossName, type LossSpec };

export function isLossName(s: string): s is LossName {
  return (LOSS_CHOICES as readonly string[]).includes(s);
}

/**
 * Resolves a loss option against the training labels (row-major [n, genres], 0/1).
 * Only training labels may be used here: validation labels must not leak into training.
 */
export function makeLossSpec(
  name: string,
  labels: Float32Array,
  n: number,
  genres: number,
  opts: { focalGamma?: number; focalAlpha?: number } = {},
): LossSpec {
  if (!isLossName(name)) {
    throw new UserError(`train.loss: unknown loss '${name}'`, `choose one of ${LOSS_CHOICES.join(', ')}`);
  }
  const positives = new Array<number>(genres).fill(0);
  for (let i = 0; i < n; i++) {
    for (let g = 0; g < genres; g++) positives[g]! += labels[i * genres + g]! > 0.5 ? 1 : 0;
  }
  switch (name) {
    case 'bce':
      return { name };
    case 'bce_pos_count':
      return { name, classWeights: positives };
    case 'bce_inv_freq':
      return { name, posWeights: positives.map((p) => (p === 0 ? 1 : (n - p) / p)) };
    case 'focal': {
      const gamma = opts.focalGamma ?? 2;
      const alpha = opts.focalAlpha ?? 0.5;
      if (!(gamma >= 0)) throw new UserError(`train.focal_gamma must be >= 0, got ${gamma}`);
      if (!(alpha > 0 && alpha < 1)) throw new UserError(`train.focal_alpha must be between 0 and 1 (exclusive), got ${alpha}`);
      return { name, gamma, alpha };
    }
  }
}

/** A loss as a tfjs function of (targets [B,G], logits [B,G]) -> scalar; dispose() frees its weights. */
export interface TfLoss {
  (y: tf.Tensor, logits: tf.Tensor): tf.Scalar;
  dispose(): void;
}

export function lossFunction(spec: LossSpec): TfLoss {
  const classW = spec.classWeights === undefined ? undefined : tf.keep(tf.tensor1d(spec.classWeights));
  const posW = spec.posWeights === undefined ? undefined : tf.keep(tf.tensor1d(spec.posWeights));
  const fn = (y: tf.Tensor, z: tf.Tensor): tf.Scalar =>
    tf.tidy(() => {
      // softplus(z) - y z = -[y log s(z) + (1 - y) log(1 - s(z))]
      const bce = tf.sub(tf.softplus(z), tf.mul(y, z));
      switch (spec.name) {
        case 'bce':
          return tf.mean(bce);
        case 'bce_pos_count':
          return tf.mean(tf.mul(bce, classW!));
        case 'bce_inv_freq': {
          // pos_weight p: -[p y log s(z) + (1 - y) log(1 - s(z))]
          //             = (1 - y) softplus(z) + p y softplus(-z)
          const pos = tf.mul(tf.mul(y, posW!), tf.softplus(tf.neg(z)));
          const neg = tf.mul(tf.sub(1, y), tf.softplus(z));
          return tf.mean(tf.add(pos, neg));
        }
        case 'focal': {
          const p = tf.sigmoid(z);
          const pt = tf.add(tf.mul(y, p), tf.mul(tf.sub(1, y), tf.sub(1, p)));
          const alpha = spec.alpha!;
          const alphaT = tf.add(tf.mul(y, alpha), tf.mul(tf.sub(1, y), 1 - alpha));
          const focus = tf.pow(tf.sub(1, pt), spec.gamma!);
          return tf.mean(tf.mul(tf.mul(alphaT, focus), bce));
        }
      }
    });
  return Object.assign(fn, {
    dispose: (): void => {
      classW?.dispose();
      posW?.dispose();
    },
  });
}

/**
 * The same losses on plain arrays, in float64: the reference the tfjs version is tested
 * against, and what a model outside tfjs (e.g. behind onnxruntime) can use for its
 * validation loss.
 */
export function lossValue(spec: LossSpec, y: ArrayLike<number>, logits: ArrayLike<number>, genres: number): number {
  const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const t = y[i]!;
    const z = logits[i]!;
    const g = i % genres;
    const bce = softplus(z) - t * z;
    switch (spec.name) {
      case 'bce':
        sum += bce;
        break;
      case 'bce_pos_count':
        sum += spec.classWeights![g]! * bce;
        break;
      case 'bce_inv_freq':
        sum += t * spec.posWeights![g]! * softplus(-z) + (1 - t) * softplus(z);
        break;
      case 'focal': {
        const p = 1 / (1 + Math.exp(-z));
        const pt = t * p + (1 - t) * (1 - p);
        const a = t * spec.alpha! + (1 - t) * (1 - spec.alpha!);
        sum += a * Math.pow(1 - pt, spec.gamma!) * bce;
        break;
      }
    }
  }
  return sum / y.length;
}
