// The demo dataset must carry a learnable but noisy genre signal: a simple classifier on cheap
// frame features (mean colour, brightness, contrast, saturation), fitted on some movies and
// scored on others, reaches a mAP clearly above chance; the same classifier trained on
// shuffled labels does not. The frames come from the frames kind's demo source, as embed would
// read them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import seedrandom from 'seedrandom';
import frames from '../stages/frames.js';
import { demoGenres, demoIndex } from '../stages/data/demo-genres.js';
import { frameListKey, framePath, type FrameList } from '../stages/data/frame-list.js';
import { DEFAULT_GENRES } from '../stages/data/genres.js';
import { iterativeStratification } from '../stages/data/split.js';
import { averagePrecision } from '../stages/report/metrics-math.js';
import { fitLogistic, movieFeatures, standardise } from './helpers/data-features.js';
import { runSourceKind, TempFolders, testContext } from '../fixtures-lib/stage-ctx.js';

const temps = new TempFolders();
after(() => temps.cleanup());

/** Out-of-fold scores by 5-fold cross-validation (stratified folds), then AP per genre with >= 3 positives. */
function crossValidatedMap(x: number[][], y: number[][]): { map: number; chance: number } {
  const k = 5;
  const folds = iterativeStratification(y, { ratios: new Array<number>(k).fill(1 / k), seed: 0 });
  const q = y[0]!.length;
  const scores = y.map(() => new Array<number>(q).fill(0));
  for (let f = 0; f < k; f++) {
    const train = folds.flatMap((g, i) => (g === f ? [] : [i]));
    const test = folds.flatMap((g, i) => (g === f ? [i] : []));
    const z = standardise(train.map((i) => x[i]!), x);
    for (let l = 0; l < q; l++) {
      const model = fitLogistic(train.map((i) => z[i]!), train.map((i) => y[i]![l]!));
      for (const i of test) scores[i]![l] = model(z[i]!);
    }
  }
  const aps: number[] = [];
  const prevalence: number[] = [];
  for (let l = 0; l < q; l++) {
    const truth = y.map((r) => r[l]!);
    const pos = truth.reduce((a, b) => a + b, 0);
    if (pos < 3) continue;
    aps.push(averagePrecision(scores.map((r) => r[l]!), truth)!);
    prevalence.push(pos / y.length);
  }
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  return { map: mean(aps), chance: mean(prevalence) };
}

test('200 demo movies: mean-frame features reach a mAP clearly above chance; shuffled labels do not', async () => {
  const ws = temps.workspace();
  const store = ws.store;
  const ctx = testContext(ws, { stage: 'frames', params: { dataset: { source: 'demo', movies: 200, seed: 0 } }, declared: ['dataset', 'frames'] });
  const { sink } = await runSourceKind(frames, ctx);
  assert.equal(sink.outputs.size, 200);

  const ids = [...sink.outputs.keys()].sort();
  const x: number[][] = [];
  const y: number[][] = [];
  for (const id of ids) {
    const list = await store.readJson<FrameList>(sink.outputs.get(id)!.tree[frameListKey(id)]!);
    // The middle image of each shot is enough for global colour statistics, at a third of the decoding.
    x.push(await movieFeatures(list.frames.filter((f) => f.img === 1).map((f) => framePath(f, store))));
    const g = new Set(demoGenres(0, demoIndex(id)!));
    y.push(DEFAULT_GENRES.map((name) => (g.has(name) ? 1 : 0)));
  }

  const real = crossValidatedMap(x, y);
  const rng = seedrandom('shuffle');
  const shuffled: number[] = [];
  for (let s = 0; s < 3; s++) {
    const perm = y.map((_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [perm[i], perm[j]] = [perm[j]!, perm[i]!];
    }
    shuffled.push(crossValidatedMap(x, perm.map((i) => y[i]!)).map);
  }
  const shuffledMean = shuffled.reduce((a, b) => a + b, 0) / shuffled.length;
  const figures = `mAP ${real.map.toFixed(3)}, chance ${real.chance.toFixed(3)}, shuffled ${shuffled.map((v) => v.toFixed(3)).join(' ')}`;
  assert.ok(real.map - real.chance >= 0.12, `signal too weak: ${figures}`);
  assert.ok(shuffledMean - real.chance <= 0.05, `shuffled labels should score near chance: ${figures}`);
  assert.ok(real.map - shuffledMean >= 0.1, figures);
  // Noisy, not trivial: a linear model on six colour statistics must stay far from perfect.
  assert.ok(real.map < 0.7, `signal too easy: ${figures}`);
});
