// The loss options: tfjs implementation against a float64 one and hand-computed values.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import { UserError } from '../src/errors.js';
import { activateBackend, resolveBackend } from '../stages/nn/backend.js';
import { LOSS_CHOICES, lossFunction, lossValue, makeLossSpec } from '../stages/nn/losses.js';

function tfLoss(spec: ReturnType<typeof makeLossSpec>, y: number[], z: number[], g: number): number {
  const f = lossFunction(spec);
  try {
    const l = f(tf.tensor2d(y, [y.length / g, g]), tf.tensor2d(z, [z.length / g, g]));
    const v = l.dataSync()[0]!;
    l.dispose();
    return v;
  } finally {
    f.dispose();
  }
}

describe('losses', () => {
  before(async () => {
    await activateBackend(resolveBackend('wasm'));
  });

  // 3 movies x 3 genres; genre 2 has no positives.
  const Y = new Float32Array([1, 0, 0, 1, 1, 0, 0, 0, 0]);

  it('derives the weights from the training labels: counts (per class) and negatives/positives (pos_weight)', () => {
    assert.deepEqual(makeLossSpec('bce_pos_count', Y, 3, 3), { name: 'bce_pos_count', classWeights: [2, 1, 0] });
    assert.deepEqual(makeLossSpec('bce_inv_freq', Y, 3, 3), { name: 'bce_inv_freq', posWeights: [0.5, 2, 1] });
    assert.deepEqual(makeLossSpec('focal', Y, 3, 3, { focalGamma: 1, focalAlpha: 0.25 }), { name: 'focal', gamma: 1, alpha: 0.25 });
    assert.throws(() => makeLossSpec('hinge', Y, 3, 3), (e: unknown) => e instanceof UserError && /choose one of bce, bce_pos_count, bce_inv_freq, focal/.test(e.hint ?? ''));
    assert.throws(() => makeLossSpec('focal', Y, 3, 3, { focalAlpha: 1 }), UserError);
  });

  it('matches hand-computed values', () => {
    // z = 0: every element costs log 2, whatever the target.
    const y = [1, 0, 0, 1, 1, 0];
    const z0 = [0, 0, 0, 0, 0, 0];
    const ln2 = Math.log(2);
    assert.ok(Math.abs(tfLoss({ name: 'bce' }, y, z0, 3) - ln2) < 1e-6);
    // per-class weights [2, 1, 0]: mean of (2+1+0)*ln2 per row over 6 elements
    assert.ok(Math.abs(tfLoss({ name: 'bce_pos_count', classWeights: [2, 1, 0] }, y, z0, 3) - ln2) < 1e-6);
    // pos_weight [0.5, 2, 1] on rows [1,0,0] and [1,1,0]: positive elements cost w*ln2, negative ones ln2
    const expectInv = ((0.5 + 1 + 1) + (0.5 + 2 + 1)) * ln2 / 6;
    assert.ok(Math.abs(tfLoss({ name: 'bce_inv_freq', posWeights: [0.5, 2, 1] }, y, z0, 3) - expectInv) < 1e-6);
    // focal, gamma 2, alpha .5 at z = 0: 0.5 * 0.5^2 * ln2 for every element
    assert.ok(Math.abs(tfLoss({ name: 'focal', gamma: 2, alpha: 0.5 }, y, z0, 3) - 0.125 * ln2) < 1e-6);
  });

  it('agrees with the float64 implementation for every option', () => {
    const g = 3;
    const z = [2.5, -1, 0.3, -4, 0.8, 7, -0.2, 1.1, -3.3];
    for (const name of LOSS_CHOICES) {
      const spec = makeLossSpec(name, Y, 3, g);
      const a = tfLoss(spec, [...Y], z, g);
      const b = lossValue(spec, Y, z, g);
      assert.ok(Math.abs(a - b) < 1e-5 * Math.max(1, Math.abs(b)), `${name}: ${a} vs ${b}`);
    }
  });

  it('stays finite on saturated logits (where log(sigmoid) would underflow)', () => {
    const v = tfLoss({ name: 'bce' }, [0, 1], [100, -100], 2);
    assert.ok(Math.abs(v - 100) < 1e-3, String(v));
  });
});
