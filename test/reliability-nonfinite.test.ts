// NaN and ±Infinity: in scores, average precision raises (as scikit-learn does) instead of a
// silently wrong sort; in embeddings (fixlen's input) and features (train's input) the movie,
// the file and the place are named where they are read.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ItemError, UserError } from '../src/errors.js';
import { encodeNpy } from '../src/npy.js';
import { fixlenItem } from '../stages/fixlen.js';
import { averagePrecision, multiLabelMetrics, NonFiniteScoreError, prCurve } from '../stages/report/metrics-math.js';
import { loadTrainData } from '../stages/train.js';
import { TempFolders, testContext } from '../fixtures-lib/stage-ctx.js';
import { storeSynthetic, syntheticMovies } from './helpers/train-data.js';

const temp = new TempFolders();
after(() => temp.cleanup());

test('average precision raises on a NaN or infinite score, as sklearn does', () => {
  const t = [1, 0, 1, 0];
  assert.equal(averagePrecision([0.9, 0.1, 0.8, 0.2], t), 1);
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => averagePrecision([0.9, bad, 0.8, 0.2], t), (e: unknown) => e instanceof NonFiniteScoreError && e.index === 1 && /^Input contains (NaN|infinity)/.test(e.message));
    assert.throws(() => prCurve([0.9, 0.1, bad, 0.2], t), NonFiniteScoreError);
  }
});

test('multiLabelMetrics names the movie and genre of a NaN score', () => {
  const scores = new Float32Array([0.9, 0.1, 0.2, NaN, 0.3, 0.7]);
  const targets = new Int8Array([1, 0, 0, 1, 0, 1]);
  assert.throws(
    () => multiLabelMetrics({ scores, targets, rows: 3, cols: 2, rowNames: ['tt1', 'tt2', 'tt3'], colNames: ['Drama', 'Comedy'] }, 0.5),
    (e: unknown) => e instanceof UserError && e.message === 'the score of movie tt2 for genre Comedy is NaN: average precision needs finite scores' && /retrain/.test(e.hint ?? ''),
  );
});

test('fixlen: NaN or Inf in a movie\'s embeddings is an error of that movie naming the frame', async () => {
  const ws = temp.workspace();
  const ctx = testContext(ws, { stage: 'fixlen' });
  const emb = new Float32Array(4 * 3).fill(0.5);
  emb[2 * 3 + 1] = Infinity;
  const hash = await ws.store.put(encodeNpy(emb, [4, 3]));
  const task = { id: 'tt0000007', input: hash, upstream: { tree: { 'tt0000007.npy': hash } } };
  await assert.rejects(
    fixlenItem(ctx, task as never, { length: 4, method: 'uniform', seed: 0 }),
    (e: unknown) => e instanceof ItemError && e.item === 'tt0000007' && e.file === 'tt0000007.npy' && e.message === 'the embeddings hold Infinity at frame 2, column 1' && /rerun embed/.test(e.hint ?? ''),
  );
  emb[2 * 3 + 1] = 0.5;
  const ok = await ws.store.put(encodeNpy(emb, [4, 3]));
  const out = await fixlenItem(ctx, { id: 'tt0000007', input: ok, upstream: { tree: { 'tt0000007.npy': ok } } } as never, { length: 4, method: 'uniform', seed: 0 });
  assert.ok(out.tree['tt0000007.npy']);
});

test('train: a movie whose features hold NaN is named (and left out under on_error: skip)', async () => {
  const ws = temp.workspace();
  const s = syntheticMovies({ movies: 12, length: 4, width: 3, genres: 2, seed: 3 });
  const victim = s.split.train[1]!;
  s.features.get(victim)![5] = NaN;
  const { fixlen, labels } = await storeSynthetic(ws, s);
  await assert.rejects(
    loadTrainData(testContext(ws, { stage: 'train' }), fixlen, labels),
    (e: unknown) => e instanceof ItemError && e.item === victim && e.message === 'the features hold NaN at row 1, column 2' && e.file === `${victim}.npy`,
  );
  const skip = testContext(ws, { stage: 'train', onError: 'skip' });
  const data = await loadTrainData(skip, fixlen, labels);
  assert.deepEqual(skip.itemErrors.map((e) => e.item), [victim]);
  assert.ok(!data.train.ids.includes(victim));
  assert.equal(data.train.n, s.split.train.length - 1);
});
