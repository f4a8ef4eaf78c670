// Metric math against scikit-learn's own numbers (test/fixtures/metrics, produced with
// sklearn.metrics) and against hand-computed cases: ties, a genre without positives.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNpy } from '../src/npy.js';
import { averagePrecision, multiLabelMetrics, prCurve, prf } from '../stages/report/metrics-math.js';

// dist/test/ -> repository root
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'metrics');

interface Expected {
  threshold: number;
  per_genre: Array<{ genre: number; support: number; precision: number; recall: number; ap: number | null }>;
  mAP: number;
  micro_ap: number;
  micro_f1: number;
  macro_f1: number;
  weighted_f1: number;
}

function close(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) {
    assert.equal(actual, null, what);
    return;
  }
  assert.ok(actual !== null, `${what}: got null, expected ${expected}`);
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: got ${actual}, expected ${expected} (diff ${actual - expected})`);
}

test('reproduces scikit-learn on the fixture to 1e-9', () => {
  const exp = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Expected;
  const scores = readNpy(join(fixtures, 'scores.npy'));
  const targets = readNpy(join(fixtures, 'targets.npy'));
  assert.equal(scores.dtype, '<f4');
  assert.equal(targets.dtype, '|i1');
  const [rows, cols] = scores.shape as [number, number];
  const m = multiLabelMetrics({ scores: scores.data as Float32Array, targets: targets.data as Int8Array, rows, cols }, exp.threshold);
  assert.equal(m.perGenre.length, exp.per_genre.length);
  for (const e of exp.per_genre) {
    const g = m.perGenre[e.genre]!;
    assert.equal(g.support, e.support, `genre ${e.genre} support`);
    close(g.precision, e.precision, `genre ${e.genre} precision`);
    close(g.recall, e.recall, `genre ${e.genre} recall`);
    close(g.ap, e.ap, `genre ${e.genre} AP`);
  }
  close(m.mAP, exp.mAP, 'mAP');
  close(m.microAP, exp.micro_ap, 'micro AP');
  close(m.microF1, exp.micro_f1, 'micro F1');
  close(m.macroF1, exp.macro_f1, 'macro F1');
  close(m.weightedF1, exp.weighted_f1, 'weighted F1');
  assert.deepEqual(m.withoutPositives, [20]);
});

test('AP by hand: sklearn docstring example', () => {
  // sklearn.metrics.average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) == 0.8333...
  close(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.8333333333333333, 'AP');
});

test('tied scores form one threshold, whatever their order', () => {
  // Scores 0.9 (pos), then three tied at 0.5 (pos, neg, pos), then 0.1 (neg).
  // Thresholds: 0.9 -> P=1, R=1/3; 0.5 -> P=3/4, R=1. AP = 1/3*1 + 2/3*3/4 = 5/6.
  const s = [0.5, 0.9, 0.5, 0.1, 0.5];
  const t = [1, 1, 0, 0, 1];
  close(averagePrecision(s, t), 5 / 6, 'AP with ties');
  // Reordering the tied items must not change anything.
  close(averagePrecision([0.5, 0.5, 0.9, 0.5, 0.1], [0, 1, 1, 1, 0]), 5 / 6, 'AP with ties reordered');
  const c = prCurve(s, t)!;
  assert.deepEqual(c.thresholds, [0.9, 0.5]);
  assert.deepEqual(c.precision, [1, 0.75]);
  assert.deepEqual(c.recall, [1 / 3, 1]);
  // All scores tied: one threshold, AP = prevalence.
  close(averagePrecision([0.2, 0.2, 0.2, 0.2], [1, 0, 0, 0]), 0.25, 'AP all tied');
});

test('a genre without positives: AP null, left out of mAP and micro AP, F1 0 in the means', () => {
  // 4 movies, 2 genres; genre 1 has no positives but one predicted positive.
  const scores = [0.9, 0.6, 0.2, 0.1, 0.7, 0.3, 0.4, 0.2];
  const targets = [1, 0, 0, 0, 1, 0, 0, 0];
  const m = multiLabelMetrics({ scores, targets, rows: 4, cols: 2 }, 0.5);
  const [g0, g1] = m.perGenre as [typeof m.perGenre[0], typeof m.perGenre[0]];
  // genre 0: scores .9(+) .2(-) .7(+) .4(-): tp 2, fp 0, fn 0; AP 1
  assert.deepEqual([g0.tp, g0.fp, g0.fn, g0.support], [2, 0, 0, 2]);
  assert.equal(g0.ap, 1);
  // genre 1: scores .6 .1 .3 .2, no positives: fp 1 at 0.5
  assert.deepEqual([g1.tp, g1.fp, g1.fn, g1.support], [0, 1, 0, 0]);
  assert.equal(g1.ap, null);
  assert.equal(g1.precision, 0);
  assert.equal(g1.recall, 0);
  assert.equal(g1.f1, 0);
  assert.equal(m.mAP, 1);
  assert.equal(m.microAP, 1);
  assert.deepEqual(m.withoutPositives, [1]);
  // micro F1 over all genres: tp 2, fp 1, fn 0 -> 4/5
  close(m.microF1, 0.8, 'micro F1');
  close(m.macroF1, 0.5, 'macro F1 counts the genre without positives as 0');
  close(m.weightedF1, 1, 'weighted F1 weights by support');
});

test('threshold is inclusive: score == threshold is positive', () => {
  const m = multiLabelMetrics({ scores: [0.5, 0.49], targets: [1, 1], rows: 2, cols: 1 }, 0.5);
  assert.deepEqual([m.perGenre[0]!.tp, m.perGenre[0]!.fn], [1, 1]);
});

test('zero_division=0 for precision and F1 when nothing is predicted', () => {
  assert.deepEqual(prf({ tp: 0, fp: 0, fn: 3 }), { precision: 0, recall: 0, f1: 0 });
  assert.deepEqual(prf({ tp: 0, fp: 0, fn: 0 }), { precision: 0, recall: 0, f1: 0 });
});
