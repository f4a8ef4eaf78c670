// The ONNX encoder: model validation (what a model must look like, and the messages when it
// does not), execution providers, the worker thread, fp16 models, and the facts behind making
// batch_size and threads speed-only params (bit-identical outputs).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { writeVitOnnx } from '../fixtures-lib/onnx-vit.js';
import type { VitConfig } from '../fixtures-lib/onnx-vit.js';
import { UserError } from '../src/errors.js';
import { readNpyF32 } from '../src/npy.js';
import { OnnxEncoder, checkModelInterface } from '../stages/clip/onnx-encoder.js';
import type { OnnxEncoderOptions, Provider } from '../stages/clip/onnx-encoder.js';
import { OnnxThreadEncoder } from '../stages/clip/onnx-thread.js';
import { CLIP_PIXELS } from '../stages/clip/preprocess.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'clip');
const MINI = join(FIX, 'mini-clip-vision.onnx');
const index = JSON.parse((await import('node:fs')).readFileSync(join(FIX, 'index.json'), 'utf8')) as { images: string[] };

const temps = new TempFolders();
let dir = '';
before(() => {
  dir = temps.dir('embed-onnx-');
});
after(() => temps.cleanup());

/** A small CLIP-shaped tower (width 32, one layer), with the given changes. */
function tinyModel(name: string, change: Partial<VitConfig> = {}): string {
  const path = join(dir, `${name}.onnx`);
  writeVitOnnx(path, { width: 32, layers: 1, heads: 2, seed: 7, ...change });
  return path;
}

/** The five fixture images as reference pixel tensors, [5,3,224,224]. */
function fixturePixels(): Float32Array {
  const x = new Float32Array(5 * CLIP_PIXELS);
  index.images.forEach((img, i) => x.set(readNpyF32(join(FIX, img.replace(/\.[a-z]+$/, '.pixels.npy'))).data, i * CLIP_PIXELS));
  return x;
}

const opts = (modelPath: string, more: Partial<OnnxEncoderOptions> = {}): OnnxEncoderOptions => ({
  modelPath,
  provider: 'cpu',
  threads: 1,
  batchSize: 8,
  ...more,
});

async function embedAll(o: OnnxEncoderOptions, x: Float32Array, n: number, batch: number): Promise<Float32Array> {
  const enc = await OnnxEncoder.open(o);
  try {
    const out = new Float32Array(n * enc.dim);
    const buf = new Float32Array(enc.maxBatch * CLIP_PIXELS);
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      buf.set(x.subarray(i * CLIP_PIXELS, (i + k) * CLIP_PIXELS));
      out.set((await enc.infer(buf, k)).embeddings, i * enc.dim);
    }
    return out;
  } finally {
    await enc.close();
  }
}

const tensor = (name: string, type: string, shape: Array<number | string>): InferenceSession.ValueMetadata =>
  ({ name, isTensor: true, type, shape }) as InferenceSession.ValueMetadata;

test('checkModelInterface accepts the CLIP vision export and reads names, width and batch', () => {
  const ok = checkModelInterface('m.onnx', [tensor('pixel_values', 'float32', ['batch', 3, 224, 224])], [tensor('image_embeds', 'float32', ['batch', 512])]);
  assert.deepEqual(ok, { inputName: 'pixel_values', outputName: 'image_embeds', inputType: 'float32', outputType: 'float32', dim: 512, fixedBatch: undefined });
  // Other names and widths are read, not assumed; a fixed batch is reported.
  const other = checkModelInterface('m.onnx', [tensor('image', 'float32', [4, 3, 224, 224])], [tensor('emb', 'float16', [4, 768])]);
  assert.equal(other.inputName, 'image');
  assert.equal(other.dim, 768);
  assert.equal(other.fixedBatch, 4);
  // Several outputs: image_embeds is the one.
  const several = checkModelInterface(
    'm.onnx',
    [tensor('pixel_values', 'float32', ['batch', 3, 224, 224])],
    [tensor('last_hidden_state', 'float32', ['batch', 50, 768]), tensor('image_embeds', 'float32', ['batch', 512])],
  );
  assert.equal(several.outputName, 'image_embeds');
});

test('checkModelInterface refuses misfit models, saying what it expected and what it found', () => {
  const good = [tensor('image_embeds', 'float32', ['batch', 512])];
  const cases: Array<[string, InferenceSession.ValueMetadata[], InferenceSession.ValueMetadata[], RegExp]> = [
    ['rank', [tensor('pixel_values', 'float32', ['batch', 3, 224])], good, /expected one float32 input of pixels \[batch,3,224,224\]; found input 'pixel_values' float32 \[batch,3,224\]/],
    ['size', [tensor('pixel_values', 'float32', ['batch', 3, 336, 336])], good, /found input 'pixel_values' float32 \[batch,3,336,336\]/],
    ['channels', [tensor('pixel_values', 'float32', ['batch', 1, 224, 224])], good, /\[batch,1,224,224\]/],
    ['dtype', [tensor('pixel_values', 'uint8', ['batch', 3, 224, 224])], good, /element type uint8/],
    ['inputs', [tensor('a', 'float32', ['batch', 3, 224, 224]), tensor('b', 'float32', ['batch', 3, 224, 224])], good, /found 2 input\(s\): 'a'.*'b'/],
    ['output rank', [tensor('pixel_values', 'float32', ['batch', 3, 224, 224])], [tensor('image_embeds', 'float32', ['batch', 50, 512])], /expected an output of embeddings \[batch,D\].*found output 'image_embeds' float32 \[batch,50,512\]/],
    ['output dtype', [tensor('pixel_values', 'float32', ['batch', 3, 224, 224])], [tensor('image_embeds', 'int64', ['batch', 512])], /int64/],
    ['no output picked', [tensor('pixel_values', 'float32', ['batch', 3, 224, 224])], [tensor('x', 'float32', ['batch', 512]), tensor('y', 'float32', ['batch', 512])], /named 'image_embeds'.*found 'x'.*'y'/],
  ];
  for (const [what, ins, outs, re] of cases) {
    assert.throws(
      () => checkModelInterface('model.onnx', ins, outs),
      (e: unknown) => e instanceof UserError && re.test(e.message) && e.message.startsWith('model.onnx:') && /docs\/EMBED\.md/.test(e.hint ?? ''),
      what,
    );
  }
});

test('real misfit models are refused when opened, with the expected/found message', async () => {
  await assert.rejects(OnnxEncoder.open(opts(tinyModel('img256', { image: 256 }))), /expected one float32 input of pixels \[batch,3,224,224\]; found input 'pixel_values' float32 \[batch,3,256,256\]/);
  await assert.rejects(OnnxEncoder.open(opts(tinyModel('gray', { channels: 1 }))), /found input 'pixel_values' float32 \[batch,1,224,224\]/);
});

test('a missing model names embed.model and docs/EMBED.md; a broken file says onnxruntime cannot load it', async () => {
  await assert.rejects(OnnxEncoder.open({ ...opts(join(dir, 'nope.onnx')), configured: 'models/nope.onnx' }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^embed\.model: no model file at models\/nope\.onnx/);
    assert.match(e.hint ?? '', /docs\/EMBED\.md/);
    return true;
  });
  const broken = join(dir, 'broken.onnx');
  writeFileSync(broken, 'this is not a protobuf');
  await assert.rejects(OnnxEncoder.open(opts(broken)), (e: unknown) => e instanceof UserError && /^embed\.model: onnxruntime cannot load/.test(e.message));
});

test('width, extra outputs and a fixed batch are read from the model', async () => {
  const x = fixturePixels();
  const wide = await OnnxEncoder.open(opts(tinyModel('out256', { out: 256, hiddenStateOutput: true })));
  try {
    assert.equal(wide.dim, 256);
    assert.equal(wide.info.outputName, 'image_embeds');
    const buf = new Float32Array(8 * CLIP_PIXELS);
    buf.set(x.subarray(0, 2 * CLIP_PIXELS));
    assert.equal((await wide.infer(buf, 2)).embeddings.length, 2 * 256);
  } finally {
    await wide.close();
  }
  // A model exported with batch 4: batches are padded to 4, and the rows are those of a dynamic-batch twin.
  const fixed = tinyModel('fixed4', { batch: 4 });
  const dynamic = tinyModel('dyn', {});
  const enc = await OnnxEncoder.open(opts(fixed, { batchSize: 32 }));
  assert.equal(enc.maxBatch, 4);
  await enc.close();
  const a = await embedAll(opts(fixed), x, 5, 4);
  const b = await embedAll(opts(dynamic), x, 5, 5);
  assert.deepEqual(a, b);
});

test('batch size, thread count and batch neighbours do not change a single bit on CPU', async () => {
  const x = fixturePixels();
  const ref = await embedAll(opts(MINI, { threads: 1 }), x, 5, 5);
  for (const [threads, batch] of [[1, 1], [1, 2], [2, 5], [2, 3], [0, 4]] as const) {
    const got = await embedAll(opts(MINI, { threads, batchSize: 8 }), x, 5, batch);
    assert.deepEqual(Buffer.from(got.buffer), Buffer.from(ref.buffer), `threads ${threads} batch ${batch}`);
  }
  // The same image next to different neighbours.
  const swapped = new Float32Array(x);
  swapped.set(x.subarray(4 * CLIP_PIXELS), 0);
  swapped.set(x.subarray(0, CLIP_PIXELS), 4 * CLIP_PIXELS);
  const got = await embedAll(opts(MINI), swapped, 5, 5);
  assert.deepEqual(got.subarray(0, 512), ref.subarray(4 * 512));
  assert.deepEqual(got.subarray(1 * 512, 4 * 512), ref.subarray(1 * 512, 4 * 512));
});

test('fp16 models run: float32 I/O (keep_io_types) and float16 I/O, close to the fp32 model', async () => {
  const x = fixturePixels();
  const f32 = await embedAll(opts(tinyModel('t32')), x, 5, 5);
  for (const halfIo of [false, true]) {
    const path = tinyModel(`t16-${halfIo}`, { dtype: 'float16', halfIo });
    const enc = await OnnxEncoder.open(opts(path));
    assert.equal(enc.info.inputType, halfIo ? 'float16' : 'float32');
    await enc.close();
    const f16 = await embedAll(opts(path), x, 5, 5);
    for (let i = 0; i < 5; i++) {
      let ab = 0, aa = 0, bb = 0;
      for (let j = i * 512; j < (i + 1) * 512; j++) {
        ab += f32[j]! * f16[j]!;
        aa += f32[j]! ** 2;
        bb += f16[j]! ** 2;
      }
      assert.ok(ab / Math.sqrt(aa * bb) > 0.999, `halfIo ${halfIo} row ${i}: cosine ${ab / Math.sqrt(aa * bb)}`);
    }
  }
});

test('the worker-thread encoder gives the same bits as the in-process one and hands the batch back', async () => {
  const x = fixturePixels();
  const ref = await embedAll(opts(MINI), x, 5, 5);
  const enc = await OnnxThreadEncoder.open(opts(MINI));
  try {
    assert.equal(enc.dim, 512);
    let buf: Float32Array = new Float32Array(enc.maxBatch * CLIP_PIXELS);
    buf.set(x);
    const r = await enc.infer(buf, 5);
    assert.equal(buf.length, 0, 'the batch moved to the worker');
    buf = r.batch;
    assert.equal(buf.length, 8 * CLIP_PIXELS);
    assert.deepEqual(r.embeddings, ref);
    // And again with the returned buffer.
    const r2 = await enc.infer(buf, 2);
    assert.deepEqual(r2.embeddings, ref.subarray(0, 2 * 512));
  } finally {
    await enc.close();
  }
  // Opening errors cross the thread as UserErrors.
  await assert.rejects(OnnxThreadEncoder.open(opts(join(dir, 'missing.onnx'))), (e: unknown) => e instanceof UserError && /embed\.model/.test(e.message));
});

for (const provider of ['webgpu', 'cuda'] as const satisfies readonly Provider[]) {
  test(`embed.provider ${provider}: runs and agrees with the CPU, or fails with a clear UserError`, async () => {
    let enc: OnnxEncoder;
    try {
      enc = await OnnxEncoder.open(opts(MINI, { provider }));
    } catch (e) {
      // No such GPU or provider here: the message names the provider and the hint says what to do.
      assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
      assert.match(e.message, new RegExp(`^embed\\.provider: ${provider}: the execution provider could not start: .+`));
      assert.match(e.hint ?? '', provider === 'webgpu' ? /Vulkan/ : /ONNXRUNTIME_NODE_INSTALL=cuda12/);
      assert.match(e.hint ?? '', /embed\.provider: (cpu|webgpu)/);
      return;
    }
    try {
      const x = fixturePixels();
      const buf = new Float32Array(enc.maxBatch * CLIP_PIXELS);
      buf.set(x);
      const gpu = (await enc.infer(buf, 5)).embeddings.slice();
      const cpu = await embedAll(opts(MINI), x, 5, 5);
      for (let j = 0; j < cpu.length; j++) assert.ok(Math.abs(gpu[j]! - cpu[j]!) < 1e-3, `${provider} vs cpu at ${j}`);
    } finally {
      await enc.close();
    }
  });
}
