// The fixed-length methods on hand-made arrays, each against values computed by hand, and the
// fixlen kind's run() on a real temp store.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ItemError, UserError } from '../src/errors.js';
import { decodeNpy, encodeNpy } from '../src/npy.js';
import type { ItemTask } from '../src/stage-api.js';
import fixlen, { readFixlenParams } from '../stages/fixlen.js';
import { fixInterpolate, fixLength, fixPool, fixUniform, fixWindow, windowRng } from '../stages/fixlen/methods.js';
import { RecordingSink, testContext, testWorkspace } from '../fixtures-lib/stage-ctx.js';

/** n frames of d values; frame r holds r*10 + k in column k, so every value names its frame. */
function frames(n: number, d = 2): { data: Float32Array; n: number; d: number } {
  const data = new Float32Array(n * d);
  for (let r = 0; r < n; r++) for (let k = 0; k < d; k++) data[r * d + k] = r * 10 + k;
  return { data, n, d };
}

function rows(a: Float32Array, d: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < a.length; i += d) out.push(Array.from(a.subarray(i, i + d)));
  return out;
}

test('window, N >= L: a contiguous run of L frames starting where the rng says', () => {
  // rng 0.5 over N - L + 1 = 7 starts -> start floor(3.5) = 3
  const r = fixWindow(frames(10), 4, () => 0.5);
  assert.equal(r.start, 3);
  assert.deepEqual(rows(r.data, 2), [[30, 31], [40, 41], [50, 51], [60, 61]]);
  // The extreme draws reach both ends and never past them.
  assert.equal(fixWindow(frames(10), 4, () => 0).start, 0);
  assert.deepEqual(rows(fixWindow(frames(10), 4, () => 0.999999).data, 2).at(-1), [90, 91]);
  // N == L: the whole movie.
  assert.deepEqual(rows(fixWindow(frames(3), 3, () => 0.7).data, 2), [[0, 1], [10, 11], [20, 21]]);
});

test('window, N < L: zero rows on the left, then every frame', () => {
  const r = fixWindow(frames(2), 5, () => 0.5);
  assert.equal(r.start, -3);
  assert.deepEqual(rows(r.data, 2), [[0, 0], [0, 0], [0, 0], [0, 1], [10, 11]]);
});

test('window is deterministic per movie and seed, and independent of other movies', () => {
  const f = frames(1000, 1);
  const a = fixWindow(f, 16, windowRng(0, 'tt0120338')).start;
  assert.equal(fixWindow(f, 16, windowRng(0, 'tt0120338')).start, a);
  // Other movies drawn in between change nothing: each movie has its own generator.
  windowRng(0, 'tt0000001')();
  assert.equal(fixWindow(f, 16, windowRng(0, 'tt0120338')).start, a);
  const starts = new Set([0, 1, 2, 3, 4, 5].map((s) => fixWindow(f, 16, windowRng(s, 'tt0120338')).start));
  assert.ok(starts.size > 1, 'the seed changes the window');
});

test('uniform: centres of L equal slices; frames repeat when N < L', () => {
  // N=10, L=5: floor((i+0.5)*2) = 1,3,5,7,9
  assert.deepEqual(rows(fixUniform(frames(10, 1), 5).data, 1).flat(), [10, 30, 50, 70, 90]);
  // N=2, L=5: floor((i+0.5)*0.4) = 0,0,1,1,1
  assert.deepEqual(rows(fixUniform(frames(2, 1), 5).data, 1).flat(), [0, 0, 10, 10, 10]);
  // N=3, L=6: each frame exactly twice
  assert.deepEqual(rows(fixUniform(frames(3, 1), 6).data, 1).flat(), [0, 0, 10, 10, 20, 20]);
  // L=1: the middle frame
  assert.deepEqual(Array.from(fixUniform(frames(5, 1), 1).data), [20]);
});

test('interpolate: endpoints are the first and last frames; linear between', () => {
  // N=3 (values 0,10,20), L=5: t = 0, .5, 1, 1.5, 2
  const r = fixInterpolate(frames(3, 2), 5);
  assert.deepEqual(rows(r.data, 2), [[0, 1], [5, 6], [10, 11], [15, 16], [20, 21]]);
  // Downsampling N=5 (0..40) to L=3: t = 0, 2, 4
  assert.deepEqual(Array.from(fixInterpolate(frames(5, 1), 3).data), [0, 20, 40]);
  // N=4 to L=3: t = 0, 1.5, 3 -> 0, 15, 30
  assert.deepEqual(Array.from(fixInterpolate(frames(4, 1), 3).data), [0, 15, 30]);
  // One frame: every row is that frame.
  assert.deepEqual(Array.from(fixInterpolate(frames(1, 1), 3).data), [0, 0, 0]);
});

test('pool: adaptive average bins [floor(iN/L), ceil((i+1)N/L))', () => {
  // N=6, L=3: bins [0,2) [2,4) [4,6): means 5, 25, 45
  assert.deepEqual(Array.from(fixPool(frames(6, 1), 3).data), [5, 25, 45]);
  // N=5, L=3: bins [0,2) [1,4) [3,5): means 5, 20, 35 (overlapping edges, as torch)
  assert.deepEqual(Array.from(fixPool(frames(5, 1), 3).data), [5, 20, 35]);
  // N=2, L=4: bins [0,1) [0,1) [1,2) [1,2)
  assert.deepEqual(Array.from(fixPool(frames(2, 1), 4).data), [0, 0, 10, 10]);
  // N=3, L=2: bins [0,2) [1,3): 5, 15
  assert.deepEqual(rows(fixPool(frames(3, 2), 2).data, 2), [[5, 6], [15, 16]]);
  // L=1: the mean of the movie
  assert.deepEqual(Array.from(fixPool(frames(4, 1), 1).data), [15]);
});

test('fixLength refuses an empty movie and a bad length', () => {
  assert.throws(() => fixLength({ data: new Float32Array(0), n: 0, d: 2 }, 4, 'pool', Math.random), RangeError);
  assert.throws(() => fixLength(frames(3), 0, 'pool', Math.random), RangeError);
});

test('params: defaults, and every bad value named at once', () => {
  const ws = testWorkspace();
  after(() => ws.cleanup());
  assert.deepEqual(readFixlenParams(testContext(ws, { stage: 'fixlen', params: {}, declared: ['fixlen'] })), { length: 40, method: 'window', seed: 0 });
  const bad = testContext(ws, { stage: 'fixlen', params: { fixlen: { length: 0, method: 'crop', seed: 1.5 } } });
  assert.throws(
    () => readFixlenParams(bad),
    (e: unknown) =>
      e instanceof UserError &&
      /fixlen\.length/.test(e.message) &&
      /fixlen\.method must be one of window, uniform, interpolate, pool, got "crop"/.test(e.message) &&
      /fixlen\.seed/.test(e.message),
  );
});

test('kind: run() over a real store writes [L,D] float32 per movie, ItemError for empty and bad input', async () => {
  const ws = testWorkspace();
  after(() => ws.cleanup());
  const store = ws.store;
  const put = async (n: number, d: number): Promise<string> => store.put(encodeNpy(frames(n, d).data, [n, d]));
  const tasks: ItemTask[] = [
    { id: 'tt01', input: 'x', upstream: { tree: { 'tt01.npy': await put(300, 4) } } },
    { id: 'tt02', input: 'x', upstream: { tree: { 'tt02.npy': await put(3, 4) } } },
    { id: 'tt03', input: 'x', upstream: { tree: { 'tt03.npy': await store.put(encodeNpy(new Float32Array(0), [0, 4])) } } },
    { id: 'tt04', input: 'x', upstream: { tree: { 'tt04.npy': await store.put('not an npy file') } } },
    { id: 'tt05', input: 'x', upstream: { tree: { 'other.json': await store.put('{}') } } },
  ];
  const sink = new RecordingSink();
  const ctx = testContext(ws, { stage: 'fixlen', params: { fixlen: { length: 8, method: 'window', seed: 0 } } });
  await fixlen.run(ctx, tasks, sink);
  assert.deepEqual([...sink.outputs.keys()].sort(), ['tt01', 'tt02']);
  const one = sink.outputs.get('tt01')!;
  const arr = decodeNpy(await store.read(one.tree['tt01.npy']!));
  assert.equal(arr.dtype, '<f4');
  assert.deepEqual(arr.shape, [8, 4]);
  assert.equal(one.meta?.frames, 300);
  assert.equal(one.meta?.length, 8);
  const start = one.meta?.start as number;
  assert.equal((arr.data as Float32Array)[0], start * 10, 'the window starts at meta.start');
  const two = decodeNpy(await store.read(sink.outputs.get('tt02')!.tree['tt02.npy']!));
  assert.deepEqual(Array.from((two.data as Float32Array).subarray(0, 5 * 4)), new Array(20).fill(0), 'left padding');
  for (const id of ['tt03', 'tt04', 'tt05']) {
    const e = sink.failures.get(id);
    assert.ok(e instanceof ItemError, `${id} fails with an ItemError`);
    assert.equal(e.item, id);
  }
  assert.match((sink.failures.get('tt03') as ItemError).describe('movie'), /movie tt03: tt03\.npy: the movie has no frames/);
  assert.match((sink.failures.get('tt04') as ItemError).describe('movie'), /movie tt04: tt04\.npy: cannot read the embeddings/);
  // Same input, same params: same output hash (the window does not depend on the run).
  const again = new RecordingSink();
  await fixlen.run(ctx, tasks.slice(0, 1), again);
  assert.equal(again.outputs.get('tt01')!.tree['tt01.npy'], one.tree['tt01.npy']);
});
