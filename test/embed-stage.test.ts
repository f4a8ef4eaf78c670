// The embed kind through its run(): outputs (.npy per movie, in frame order), batching across
// movie boundaries, incrementality (a movie's rows do not depend on the other movies of the
// run), normalisation, bad input (undecodable frames, NaN from the model, bad frame lists),
// fingerprint inputs and env, on a small real store.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeVitOnnx } from '../fixtures-lib/onnx-vit.js';
import { ItemError, UserError } from '../src/errors.js';
import { hashBytes } from '../src/hash.js';
import { decodeNpy } from '../src/npy.js';
import type { Conf } from '../src/params.js';
import type { ItemTask } from '../src/stage-api.js';
import { DESCRIPTOR_DIM, describe, descriptorPixels } from '../stages/clip/builtin-descriptor.js';
import { OnnxEncoder } from '../stages/clip/onnx-encoder.js';
import { CLIP_PIXELS } from '../stages/clip/preprocess.js';
import { loadedSharpVersions, sharpVersions } from '../stages/clip/sharp-versions.js';
import embed, { storeEmbeddings } from '../stages/embed.js';
import { storeMovie, syntheticFrame } from './helpers/embed-frames.js';
import { progressOf, RecordingSink, TempFolders, testContext, type TestWorkspace } from '../fixtures-lib/stage-ctx.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'clip');
const MINI = join(FIX, 'mini-clip-vision.onnx');

const temps = new TempFolders();
let ws: TestWorkspace;
let store: TestWorkspace['store'];
const frames: Buffer[] = [];
before(async () => {
  ws = temps.workspace('embed-stage-');
  store = ws.store;
  for (let s = 0; s < 12; s++) frames.push(await syntheticFrame(s));
});
after(() => temps.cleanup());

/** The embed stage's context, `embed` being its section of the conf. */
function embedCtx(embed: Conf, signal?: AbortSignal) {
  return testContext(ws, { stage: 'embed', params: { embed }, declared: ['embed'], ...(signal ? { signal } : {}) });
}

/** Four movies of 3, 5, 1 and 3 frames. */
async function movies(): Promise<ItemTask[]> {
  return [
    await storeMovie(store, 'tt0000001', frames.slice(0, 3)),
    await storeMovie(store, 'tt0000002', frames.slice(3, 8)),
    await storeMovie(store, 'tt0000003', frames.slice(8, 9)),
    await storeMovie(store, 'tt0000004', frames.slice(9, 12)),
  ];
}

async function runKind(tasks: readonly ItemTask[], params: Conf): Promise<RecordingSink> {
  const rec = new RecordingSink();
  await embed.run(embedCtx(params), tasks, rec);
  return rec;
}

async function npyOf(rec: RecordingSink, id: string): Promise<{ shape: number[]; data: Float32Array }> {
  const out = rec.outputs.get(id);
  assert.ok(out !== undefined, `${id} was not done (failed: ${String(rec.failures.get(id))})`);
  const npy = decodeNpy(await store.read(out.tree[`${id}.npy`]!));
  assert.equal(npy.dtype, '<f4');
  return { shape: npy.shape, data: npy.data as Float32Array };
}

test('builtin: one [N,512] float32 .npy per movie, rows in frame order, equal to the descriptor of each frame', async () => {
  const tasks = await movies();
  const rec = await runKind(tasks, { encoder: 'builtin', batch_size: 4 });
  assert.equal(rec.failures.size, 0);
  let k = 0;
  for (const t of tasks) {
    const n = (t.upstream!.meta!.frames as number);
    const out = rec.outputs.get(t.id)!;
    assert.deepEqual(Object.keys(out.tree), [`${t.id}.npy`]);
    assert.deepEqual(out.meta, { frames: n, dim: 512 });
    const { shape, data } = await npyOf(rec, t.id);
    assert.deepEqual(shape, [n, 512]);
    for (let r = 0; r < n; r++, k++) {
      const want = new Float32Array(DESCRIPTOR_DIM);
      describe(await descriptorPixels(frames[k]!), want);
      assert.deepEqual(data.subarray(r * 512, (r + 1) * 512), want, `${t.id} row ${r}`);
    }
  }
});

test('onnx: batches across movies give the bits of one movie embedded alone, frame by frame', async () => {
  const tasks = await movies();
  const params = { encoder: 'onnx', model: MINI, threads: 1 };
  // Batch 4 over 3+5+1+3 frames: every batch but the last mixes two or three movies.
  const mixed = await runKind(tasks, { ...params, batch_size: 4 });
  assert.equal(mixed.outputs.size, 4);
  // Each movie alone, batch 1.
  for (const t of tasks) {
    const alone = await runKind([t], { ...params, batch_size: 1 });
    const a = await npyOf(mixed, t.id);
    const b = await npyOf(alone, t.id);
    assert.deepEqual(Buffer.from(a.data.buffer), Buffer.from(b.data.buffer), t.id);
    assert.equal(mixed.outputs.get(t.id)!.tree[`${t.id}.npy`], alone.outputs.get(t.id)!.tree[`${t.id}.npy`]);
  }
  // And the rows are the encoder's output on CLIP preprocessing of each frame.
  const enc = await OnnxEncoder.open({ modelPath: MINI, provider: 'cpu', threads: 1, batchSize: 1 });
  try {
    const px = new Float32Array(CLIP_PIXELS);
    const file = join(ws.dir, 'frame.jpg');
    writeFileSync(file, frames[4]!);
    await enc.prepare(file, px);
    const row = (await enc.infer(px, 1)).embeddings;
    const { data } = await npyOf(mixed, 'tt0000002');
    assert.deepEqual(data.subarray(512, 1024), row); // frame 4 is row 1 of the second movie
  } finally {
    await enc.close();
  }
});

test('embed.normalize: every row has unit L2 norm, and the direction is unchanged', async () => {
  const tasks = (await movies()).slice(0, 2);
  const raw = await runKind(tasks, { encoder: 'onnx', model: MINI });
  const unit = await runKind(tasks, { encoder: 'onnx', model: MINI, normalize: true });
  for (const t of tasks) {
    const a = (await npyOf(raw, t.id)).data;
    const b = (await npyOf(unit, t.id)).data;
    for (let r = 0; r < a.length / 512; r++) {
      let nb = 0, na = 0;
      for (let j = r * 512; j < (r + 1) * 512; j++) {
        nb += b[j]! ** 2;
        na += a[j]! ** 2;
      }
      assert.ok(Math.abs(Math.sqrt(nb) - 1) < 1e-5);
      for (let j = r * 512; j < (r + 1) * 512; j += 97) assert.ok(Math.abs(a[j]! / Math.sqrt(na) - b[j]!) < 1e-6);
    }
  }
});

test('a frame that cannot be decoded fails its movie with an ItemError naming the frame; the other movies are done', async () => {
  const good = await storeMovie(store, 'tt0000010', frames.slice(0, 2));
  const broken = frames[2]!.subarray(0, 200); // a truncated JPEG
  const bad = await storeMovie(store, 'tt0000011', [frames[3]!, broken, frames[4]!]);
  const after = await storeMovie(store, 'tt0000012', frames.slice(5, 7));
  for (const encoder of ['builtin', 'onnx']) {
    const rec = await runKind([good, bad, after], { encoder, model: MINI, batch_size: 2 });
    assert.deepEqual([...rec.outputs.keys()].sort(), ['tt0000010', 'tt0000012'], encoder);
    const e = rec.failures.get('tt0000011');
    assert.ok(e instanceof ItemError, `${encoder}: ${String(e)}`);
    assert.equal(e.item, 'tt0000011');
    assert.equal(e.file, 'shot_0000_img_1.jpg');
    assert.match(e.describe('movie'), /^movie tt0000011: shot_0000_img_1\.jpg: cannot decode the frame: .+ \(the file is damaged or not an image/);
  }
});

test('NaN or Inf in the model output is an ItemError naming the movie and the frame', async () => {
  // A real ONNX model that outputs sqrt(embedding): NaN wherever a component is negative.
  const model = join(ws.dir, 'poison.onnx');
  writeVitOnnx(model, { width: 32, layers: 1, heads: 2, poison: true });
  const t = await storeMovie(store, 'tt0000020', frames.slice(0, 2));
  const rec = await runKind([t], { encoder: 'onnx', model });
  const e = rec.failures.get('tt0000020');
  assert.ok(e instanceof ItemError, String(e));
  assert.match(e.describe('movie'), /^movie tt0000020: shot_0000_img_0\.jpg: the encoder returned NaN in the embedding of frame 0 of 2/);
  // Infinity too, at the frame where it is.
  const emb = new Float32Array(3 * 4);
  emb[9] = Infinity;
  await assert.rejects(
    storeEmbeddings({ store }, 'tt0000021', emb, 3, 4, [{ name: 'a.jpg', file: '' }, { name: 'b.jpg', file: '' }, { name: 'c.jpg', file: '' }], false),
    (err: unknown) => err instanceof ItemError && err.file === 'c.jpg' && /Infinity in the embedding of frame 2 of 3/.test(err.message),
  );
});

test('bad frame lists and empty movies fail the movie; a missing model or a bad param stops the stage', async () => {
  const list = await store.put('{"movie": "x", "frames": "nope"}');
  const badList: ItemTask = { id: 'tt0000030', input: hashBytes('x'), upstream: { tree: { 'tt0000030.json': list } } };
  const noList: ItemTask = { id: 'tt0000031', input: hashBytes('y'), upstream: { tree: {} } };
  const empty = await storeMovie(store, 'tt0000032', []);
  const ok = await storeMovie(store, 'tt0000033', frames.slice(0, 1));
  const rec = await runKind([badList, noList, empty, ok], { encoder: 'builtin' });
  assert.deepEqual([...rec.outputs.keys()], ['tt0000033']);
  for (const [id, re] of [['tt0000030', /not of the expected shape/], ['tt0000031', /cannot read the movie's frame list/], ['tt0000032', /no frames to embed/]] as const) {
    const e = rec.failures.get(id);
    assert.ok(e instanceof ItemError && re.test(e.message), `${id}: ${String(e)}`);
  }
  await assert.rejects(runKind([ok], { encoder: 'onnx', model: 'models/missing.onnx' }), (e: unknown) => e instanceof UserError && /embed\.model: no model file at models\/missing\.onnx/.test(e.message));
  await assert.rejects(runKind([ok], { encoder: 'clip', batch_size: 0, provider: 'tpu' }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /embed\.encoder must be one of builtin, onnx, got "clip"/);
    assert.match(e.message, /embed\.batch_size must be an integer from 1 to 4096, got 0/);
    assert.match(e.message, /embed\.provider must be one of cpu, webgpu, cuda, got "tpu"/);
    return true;
  });
});

test('frames read in place resolve against dataset.root', async () => {
  const root = join(ws.dir, 'dataset');
  mkdirSync(join(root, '240P', 'tt0000040'), { recursive: true });
  writeFileSync(join(root, '240P', 'tt0000040', 'shot_0000_img_0.jpg'), frames[0]!);
  const list = { movie: 'tt0000040', source: 'movienet', frames: [{ name: 'shot_0000_img_0.jpg', shot: 0, img: 0, hash: hashBytes(frames[0]!), path: '240P/tt0000040/shot_0000_img_0.jpg' }] };
  const task: ItemTask = { id: 'tt0000040', input: hashBytes('z'), upstream: { tree: { 'tt0000040.json': await store.put(JSON.stringify(list)) } } };
  const ctx = testContext(ws, { stage: 'embed', params: { embed: { encoder: 'builtin' }, dataset: { root: 'dataset' } }, declared: ['embed', 'dataset.root'] });
  const rec = new RecordingSink();
  await embed.run(ctx, [task], rec);
  const { shape } = await npyOf(rec, 'tt0000040');
  assert.deepEqual(shape, [1, 512]);
});

test('a frame read in place whose bytes changed since indexing fails its movie, named (workers share the dataset folder)', async () => {
  const root = join(ws.dir, 'dataset-changed');
  mkdirSync(join(root, '240P', 'tt0000041'), { recursive: true });
  writeFileSync(join(root, '240P', 'tt0000041', 'shot_0000_img_0.jpg'), frames[1]!);
  // Indexed as frames[0]; the file on disk is now another (valid) JPEG.
  const list = { movie: 'tt0000041', source: 'movienet', frames: [{ name: 'shot_0000_img_0.jpg', shot: 0, img: 0, hash: hashBytes(frames[0]!), path: '240P/tt0000041/shot_0000_img_0.jpg' }] };
  const task: ItemTask = { id: 'tt0000041', input: hashBytes('y'), upstream: { tree: { 'tt0000041.json': await store.put(JSON.stringify(list)) } } };
  const ctx = testContext(ws, { stage: 'embed', params: { embed: { encoder: 'builtin' }, dataset: { root: 'dataset-changed' } }, declared: ['embed', 'dataset.root'] });
  const rec = new RecordingSink();
  await embed.run(ctx, [task], rec);
  assert.equal(rec.outputs.size, 0);
  const e = rec.failures.get('tt0000041');
  assert.ok(e instanceof ItemError);
  assert.match(e.describe('movie'), /^movie tt0000041: 240P\/tt0000041\/shot_0000_img_0\.jpg: the file changed since it was indexed/);
});

test('fingerprint parts: the model hash is an input, batch_size and threads are speed-only, env names the libraries', async () => {
  assert.ok(embed.perfParams?.includes('embed.batch_size'));
  assert.ok(embed.perfParams?.includes('embed.threads'));
  assert.ok(!embed.perfParams?.includes('embed.provider'));
  assert.ok(!embed.perfParams?.includes('embed.normalize'));
  const onnxCtx = embedCtx({ encoder: 'onnx', model: MINI });
  const inputs = await embed.inputs!(onnxCtx);
  assert.deepEqual(Object.keys(inputs), ['model']);
  assert.equal(inputs.model, (await onnxCtx.hashFiles([MINI]))[0]!.hash);
  assert.deepEqual(await embed.inputs!(embedCtx({ encoder: 'builtin' })), {});
  const env = await embed.env!(onnxCtx);
  assert.match(env.onnxruntime ?? '', /^\d+\.\d+\.\d+/);
  assert.match(env.libvips ?? '', /^\d+\.\d+/);
  const builtinEnv = await embed.env!(embedCtx({}));
  assert.equal(builtinEnv.onnxruntime, undefined);
  // env reads sharp's and libvips's versions from package metadata (status stays fast): the
  // same as sharp reports once loaded.
  assert.deepEqual(await sharpVersions(), await loadedSharpVersions());
  assert.deepEqual({ sharp: env.sharp, libvips: env.libvips }, await loadedSharpVersions());
  await assert.rejects(embed.inputs!(embedCtx({ encoder: 'onnx', model: 'nowhere.onnx' })), /embed\.model: no model file at nowhere\.onnx/);
});

test('progress reports frames embedded out of the total; an aborted run stops reporting', async () => {
  const tasks = await movies();
  const ctx = embedCtx({ encoder: 'builtin', batch_size: 2 });
  const rec = new RecordingSink();
  await embed.run(ctx, tasks, rec);
  const last = progressOf(ctx).at(-1)!;
  assert.equal(last.done, 12);
  assert.equal(last.total, 12);
  const abort = new AbortController();
  const ctx2 = embedCtx({ encoder: 'builtin', batch_size: 2 }, abort.signal);
  const rec2 = new RecordingSink();
  abort.abort();
  await embed.run(ctx2, tasks, rec2);
  assert.equal(rec2.outputs.size + rec2.failures.size, 0);
});
