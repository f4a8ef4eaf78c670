import assert from 'node:assert/strict';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import { UserError } from '../src/errors.js';
import { demoGenres } from '../stages/data/demo-genres.js';
import { DEFAULT_GENRES } from '../stages/data/genres.js';
import { iterativeStratification, parseRatios, splitFromFile, splitFromFolds } from '../stages/data/split.js';

const RATIOS = [0.7, 0.1, 0.2];

function demoRows(n: number, seed = 0): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const g = new Set(demoGenres(seed, i + 1));
    return DEFAULT_GENRES.map((x) => (g.has(x) ? 1 : 0));
  });
}

/** Sparse random label rows with a long tail of rare labels, like genres. */
function randomRows(n: number, q: number, seed: string): number[][] {
  const rng = seedrandom(seed);
  const p = Array.from({ length: q }, (_, l) => 0.5 / (l + 1));
  return Array.from({ length: n }, () => p.map((pl) => (rng() < pl ? 1 : 0)));
}

function perFold(rows: number[][], folds: number[], k = 3): number[][] {
  const q = rows[0]!.length;
  const c = Array.from({ length: k }, () => new Array<number>(q).fill(0));
  rows.forEach((r, i) => r.forEach((v, l) => (c[folds[i]!]![l]! += v)));
  return c;
}

function checkCoverage(rows: number[][], folds: number[], ratios = RATIOS): void {
  const c = perFold(rows, folds);
  const q = rows[0]!.length;
  for (let l = 0; l < q; l++) {
    const total = rows.reduce((s, r) => s + r[l]!, 0);
    if (total < 3) continue;
    for (let f = 0; f < 3; f++) if (ratios[f]! > 0) assert.ok(c[f]![l]! > 0, `label ${l} (${total} positives) missing from fold ${f}`);
  }
}

function checkSizes(n: number, folds: number[], ratios = RATIOS): void {
  const sizes = [0, 0, 0];
  for (const f of folds) sizes[f]!++;
  ratios.forEach((r, f) => assert.ok(Math.abs(sizes[f]! - r * n) <= Math.max(2, 0.03 * n), `fold ${f} has ${sizes[f]} of ${n}, want ~${r * n}`));
}

test('demo labels: every genre with >= 3 positives lands in train, val and test; sizes follow the ratios', () => {
  for (const n of [200, 60]) {
    const rows = demoRows(n);
    const folds = iterativeStratification(rows, { ratios: RATIOS, seed: 0 });
    checkCoverage(rows, folds);
    checkSizes(n, folds);
  }
});

test('random multi-label data: coverage and sizes hold across seeds and ratios', () => {
  for (let s = 0; s < 20; s++) {
    const rows = randomRows(150 + s * 10, 12, `rows-${s}`);
    for (const ratios of [RATIOS, [0.8, 0.1, 0.1], [0.6, 0.2, 0.2]]) {
      const folds = iterativeStratification(rows, { ratios, seed: s });
      checkCoverage(rows, folds, ratios);
      checkSizes(rows.length, folds, ratios);
    }
  }
});

test('a genre with exactly 3 positives gets one in each split', () => {
  const rows = Array.from({ length: 40 }, (_, i) => [1, i % 13 === 0 && i < 39 ? 1 : 0]);
  assert.equal(rows.filter((r) => r[1] === 1).length, 3);
  const folds = iterativeStratification(rows, { ratios: RATIOS, seed: 3 });
  assert.deepEqual(perFold(rows, folds).map((c) => c[1]), [1, 1, 1]);
});

test('a zero val ratio leaves val empty', () => {
  const rows = demoRows(80);
  const folds = iterativeStratification(rows, { ratios: [0.8, 0, 0.2], seed: 1 });
  assert.ok(!folds.includes(1));
  checkCoverage(rows, folds, [0.8, 0, 0.2]);
});

test('stratification keeps per-genre proportions closer to the ratios than a random split', () => {
  const rows = demoRows(200);
  const dev = (folds: number[]): number => {
    const c = perFold(rows, folds);
    let sum = 0;
    for (let l = 0; l < rows[0]!.length; l++) {
      const total = c[0]![l]! + c[1]![l]! + c[2]![l]!;
      if (total > 0) for (let f = 0; f < 3; f++) sum += Math.abs(c[f]![l]! - RATIOS[f]! * total);
    }
    return sum;
  };
  let randomDev = 0;
  for (let s = 0; s < 10; s++) {
    const rng = seedrandom(`random-split-${s}`);
    const order = rows.map((_, i) => i).sort(() => rng() - 0.5);
    const folds = new Array<number>(rows.length);
    order.forEach((x, k) => (folds[x] = k < 140 ? 0 : k < 160 ? 1 : 2));
    randomDev += dev(folds) / 10;
  }
  const strat = dev(iterativeStratification(rows, { ratios: RATIOS, seed: 0 }));
  assert.ok(strat < randomDev * 0.6, `stratified deviation ${strat.toFixed(1)} vs random ${randomDev.toFixed(1)}`);
});

test('deterministic for a seed, different across seeds', () => {
  const rows = demoRows(120);
  const a = iterativeStratification(rows, { ratios: RATIOS, seed: 5 });
  assert.deepEqual(iterativeStratification(rows, { ratios: RATIOS, seed: 5 }), a);
  assert.notDeepEqual(iterativeStratification(rows, { ratios: RATIOS, seed: 6 }), a);
});

test('splitFromFolds keeps id order within each split', () => {
  assert.deepEqual(splitFromFolds(['a', 'b', 'c', 'd'], [0, 2, 0, 1]), { train: ['a', 'c'], val: ['d'], test: ['b'] });
});

test('an official split file is used as is and its gaps are reported', () => {
  const r = splitFromFile({ train: ['tt3', 'tt1', 'tt9'], val: ['tt2'], test: ['tt4', 'tt8'] }, 'split.json', ['tt1', 'tt2', 'tt3', 'tt4', 'tt5']);
  assert.deepEqual(r.split, { train: ['tt1', 'tt3'], val: ['tt2'], test: ['tt4'] });
  assert.deepEqual(r.notInData, ['tt8', 'tt9']);
  assert.deepEqual(r.notInSplit, ['tt5']);
});

test('a malformed split file is a user error naming the file', () => {
  for (const bad of [[], { train: ['a'], val: ['b'] }, { train: ['a'], val: [1], test: [] }, { train: ['a'], val: ['a'], test: [] }]) {
    assert.throws(() => splitFromFile(bad, '/data/split.json', ['a']), (e: unknown) => e instanceof UserError && e.message.startsWith('/data/split.json'));
  }
});

test('labels.split must be three fractions summing to 1', () => {
  assert.deepEqual(parseRatios([0.7, 0.1, 0.2]), [0.7, 0.1, 0.2]);
  for (const bad of [[0.7, 0.3], [0.5, 0.5, 0.5], [0, 0.5, 0.5], [0.8, -0.1, 0.3], '0.7,0.1,0.2']) {
    assert.throws(() => parseRatios(bad), UserError);
  }
});
