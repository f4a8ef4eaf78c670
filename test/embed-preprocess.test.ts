// CLIP preprocessing against the reference (OpenAI CLIP's preprocess through torchvision and
// PIL, test/fixtures/clip), and the mini CLIP-shaped ONNX tower against its reference outputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readNpyF32 } from '../src/npy.js';
import { OnnxEncoder } from '../stages/clip/onnx-encoder.js';
import { CLIP_MEAN, CLIP_PIXELS, CLIP_STD, clipGeometry, clipPixels, roundHalfEven } from '../stages/clip/preprocess.js';

// Compiled to dist/test/: the fixtures stay in the source tree.
const FIX = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'clip');
const index = JSON.parse(readFileSync(join(FIX, 'index.json'), 'utf8')) as { images: string[] };
const pixelsFile = (image: string): string => join(FIX, image.replace(/\.[a-z]+$/, '.pixels.npy'));

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

test('roundHalfEven is Python 3 round()', () => {
  for (const [x, r] of [[0.5, 0], [1.5, 2], [2.5, 2], [86.5, 86], [87.5, 88], [3.2, 3], [3.7, 4], [0, 0], [-0.5, -0], [-1.5, -2]] as const) {
    assert.equal(roundHalfEven(x), r, `round(${x})`);
  }
});

test('clipGeometry follows torchvision Resize(224) + CenterCrop(224)', () => {
  // MovieNet 240P keyframe: 426x240 -> 397x224 (int(224*426/240) = int(397.6)), crop left round(86.5) = 86.
  assert.deepEqual(clipGeometry(426, 240), { width: 397, height: 224, left: 86, top: 0 });
  assert.deepEqual(clipGeometry(240, 426), { width: 224, height: 397, left: 0, top: 86 });
  assert.deepEqual(clipGeometry(224, 224), { width: 224, height: 224, left: 0, top: 0 });
  // 1000x872 -> 256x224: crop offset (256-224)/2 = 16 exactly.
  assert.deepEqual(clipGeometry(1000, 872), { width: 256, height: 224, left: 16, top: 0 });
  // 600x400 -> 336x224: offset 56.
  assert.deepEqual(clipGeometry(600, 400), { width: 336, height: 224, left: 56, top: 0 });
});

test('every fixture image matches OpenAI CLIP preprocessing within the documented tolerance', async () => {
  assert.equal(index.images.length, 5);
  for (const image of index.images) {
    const ref = readNpyF32(pixelsFile(image), 3);
    assert.deepEqual(ref.shape, [3, 224, 224]);
    const got = new Float32Array(CLIP_PIXELS);
    await clipPixels(join(FIX, image), got);
    let sum = 0, max = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i]! - ref.data[i]!);
      sum += d;
      if (d > max) max = d;
    }
    const mean = sum / got.length;
    const meanLimit = image.endsWith('_240p.jpg') ? 0.005 : 0.01;
    assert.ok(mean <= meanLimit, `${image}: mean abs diff ${mean} > ${meanLimit}`);
    assert.ok(max <= 0.6, `${image}: max abs diff ${max} > 0.6`);
  }
});

test('pixel normalisation is float32 x/255 then (x-mean)/std, as torch computes it', async () => {
  // A flat grey PNG: every output value of channel c is the normalised grey level.
  const sharp = (await import('sharp')).default;
  const png = await sharp({ create: { width: 300, height: 250, channels: 3, background: { r: 128, g: 7, b: 255 } } }).png().toBuffer();
  const out = new Float32Array(CLIP_PIXELS);
  await clipPixels(png, out);
  const plane = 224 * 224;
  [128, 7, 255].forEach((v, c) => {
    const want = Math.fround(Math.fround(Math.fround(v / 255) - Math.fround(CLIP_MEAN[c]!)) / Math.fround(CLIP_STD[c]!));
    assert.equal(out[c * plane], want);
    assert.equal(out[c * plane + plane - 1], want);
  });
});

test('a file that is not an image is rejected by the decoder', async () => {
  await assert.rejects(clipPixels(Buffer.from('not a jpeg at all'), new Float32Array(CLIP_PIXELS)));
  const sharp = (await import('sharp')).default;
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#336699' } }).jpeg().toBuffer();
  // Truncated JPEG: PIL refuses it, so must we.
  await assert.rejects(clipPixels(jpeg.subarray(0, Math.floor(jpeg.length / 2)), new Float32Array(CLIP_PIXELS)));
});

test('mini CLIP tower: our preprocessing gives the reference embeddings (cosine >= 0.9999), the reference pixels give them exactly', async () => {
  const ref = readNpyF32(join(FIX, 'embeddings.npy'), 2);
  assert.deepEqual(ref.shape, [5, 512]);
  const enc = await OnnxEncoder.open({ modelPath: join(FIX, 'mini-clip-vision.onnx'), provider: 'cpu', threads: 1, batchSize: 5 });
  try {
    assert.equal(enc.dim, 512);
    const ours = new Float32Array(5 * CLIP_PIXELS);
    const theirs = new Float32Array(5 * CLIP_PIXELS);
    for (let i = 0; i < 5; i++) {
      const image = index.images[i]!;
      await enc.prepare(join(FIX, image), ours.subarray(i * CLIP_PIXELS, (i + 1) * CLIP_PIXELS));
      theirs.set(readNpyF32(pixelsFile(image)).data, i * CLIP_PIXELS);
    }
    const a = (await enc.infer(ours, 5)).embeddings.slice();
    const b = (await enc.infer(theirs, 5)).embeddings.slice();
    for (let i = 0; i < 5; i++) {
      const row = (x: Float32Array): Float32Array => x.subarray(i * 512, (i + 1) * 512);
      const c = cosine(row(a), row(ref.data));
      assert.ok(c >= 0.9999, `${index.images[i]}: cosine ${c} < 0.9999 on our preprocessing`);
      let maxd = 0;
      for (let j = 0; j < 512; j++) maxd = Math.max(maxd, Math.abs(row(b)[j]! - row(ref.data)[j]!));
      // Same input tensors: only float summation order may differ between runtimes.
      assert.ok(maxd <= 1e-5, `${index.images[i]}: max diff ${maxd} on the reference pixels`);
    }
  } finally {
    await enc.close();
  }
});
