// The builtin descriptor: shape, determinism, and that it carries what the demo's genres differ
// in (palette, brightness, contrast, texture, shapes), first on controlled images, then on the
// demo's own frames.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { DESCRIPTOR_BLOCKS, DESCRIPTOR_DIM, DESCRIPTOR_HEIGHT as H, DESCRIPTOR_WIDTH as W, blockRange, describe, descriptorPixels } from '../stages/clip/builtin-descriptor.js';
import type { DescriptorBlock } from '../stages/clip/builtin-descriptor.js';
import { demoGenres } from '../stages/data/demo-genres.js';
import { renderDemoMovie } from '../stages/data/demo-render.js';

/** A W x H RGB image from a per-pixel function returning [r,g,b] in 0..255. */
function image(f: (x: number, y: number) => [number, number, number]): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [r, g, b] = f(x, y);
      px.set([r, g, b], (y * W + x) * 3);
    }
  }
  return px;
}

function desc(px: Uint8Array): Float32Array {
  const out = new Float32Array(DESCRIPTOR_DIM);
  describe(px, out);
  return out;
}

const block = (v: Float32Array, name: DescriptorBlock): Float32Array => v.subarray(...blockRange(name));
/** Global statistic k (see the list at the end of describe()), unscaled. */
const stat = (v: Float32Array, k: number): number => block(v, 'global_stats')[k]! * Math.sqrt(28);
const argmax = (a: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
};
const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, x) => s + x, 0);

test('512 values in the documented blocks, finite, deterministic to the bit', async () => {
  assert.equal(DESCRIPTOR_DIM, 512);
  assert.equal(sum(DESCRIPTOR_BLOCKS.map(([, n]) => n)), 512);
  const jpeg = await sharp({ create: { width: 426, height: 240, channels: 3, background: '#804020' } })
    .composite([{ input: Buffer.from('<svg width="426" height="240"><circle cx="200" cy="120" r="60" fill="#20a0ff"/></svg>') }])
    .jpeg()
    .toBuffer();
  const a = desc(await descriptorPixels(jpeg));
  const b = desc(await descriptorPixels(jpeg));
  assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer));
  assert.ok(a.every(Number.isFinite));
  // A black frame is finite too (no 0/0 anywhere).
  assert.ok(desc(image(() => [0, 0, 0])).every(Number.isFinite));
});

test('brightness and contrast', () => {
  const dark = desc(image(() => [40, 40, 40]));
  const bright = desc(image(() => [210, 210, 210]));
  assert.ok(stat(bright, 0) > stat(dark, 0) + 0.6, 'luma mean');
  assert.ok(Math.abs(stat(dark, 0) - 40 / 255) < 0.01);
  assert.equal(stat(dark, 20), 0, 'dark fraction: luma 0.16 is above the 0.1 threshold');
  const low = desc(image((x) => (Math.floor(x / 16) % 2 ? [140, 140, 140] : [115, 115, 115])));
  const high = desc(image((x) => (Math.floor(x / 16) % 2 ? [240, 240, 240] : [15, 15, 15])));
  assert.ok(stat(high, 1) > 3 * stat(low, 1), 'luma std');
  assert.ok(stat(high, 9) > stat(low, 9), 'p95 - p5 spread');
  assert.ok(stat(high, 20) > 0.4 && stat(high, 21) > 0.4, 'dark and bright fractions');
});

test('palette: hue histogram and colourfulness', () => {
  const red = desc(image(() => [220, 30, 30]));
  const blue = desc(image(() => [30, 30, 220]));
  const grey = desc(image(() => [120, 120, 120]));
  assert.equal(argmax(block(red, 'hue_hist_24')), 0);
  assert.equal(argmax(block(blue, 'hue_hist_24')), 16); // 240 degrees / 15
  assert.equal(sum(block(grey, 'hue_hist_24')), 0);
  assert.ok(stat(red, 19) > 0.2 && stat(grey, 19) === 0, 'colourfulness');
  assert.ok(stat(red, 27) > 0.5 && stat(blue, 27) < -0.5, 'warm vs cold');
});

test('texture: grain vs smooth', () => {
  let s = 12345;
  const noise = (): number => ((s = (s * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
  const grainy = desc(image(() => {
    const v = 64 + (noise() >> 1);
    return [v, v, v];
  }));
  const smooth = desc(image((x) => {
    const v = Math.round((x / W) * 255);
    return [v, v, v];
  }));
  const nonUniform = (v: Float32Array): number => block(v, 'lbp_riu2_r1_r2')[9]!; // LBP label 9: non-uniform patterns
  assert.ok(nonUniform(grainy) > nonUniform(smooth) + 0.3);
  assert.ok(sum(block(grainy, 'laplacian_4x4')) > 5 * sum(block(smooth, 'laplacian_4x4')));
});

test('shapes: edge orientation and where things are', () => {
  const vertical = desc(image((x) => (Math.floor(x / 8) % 2 ? [255, 255, 255] : [0, 0, 0])));
  const horizontal = desc(image((_, y) => (Math.floor(y / 8) % 2 ? [255, 255, 255] : [0, 0, 0])));
  // Vertical stripes: intensity changes along x, gradient angle 0 (bin 0); horizontal: pi/2 (bin 6).
  assert.equal(argmax(block(vertical, 'gradient_orientation_12')), 0);
  assert.equal(argmax(block(horizontal, 'gradient_orientation_12')), 6);
  // A bright disc on the left vs on the right: the luma layout says where.
  const disc = (cx: number) => image((x, y) => ((x - cx) ** 2 + (y - 36) ** 2 < 20 ** 2 ? [250, 250, 250] : [20, 20, 20]));
  const left = block(desc(disc(30)), 'layout_luma_8x8');
  const right = block(desc(disc(98)), 'layout_luma_8x8');
  const colMean = (v: Float32Array, col: number): number => sum(Array.from({ length: 8 }, (_, r) => v[r * 8 + col]!));
  assert.ok(colMean(left, 1) > colMean(left, 6));
  assert.ok(colMean(right, 6) > colMean(right, 1));
});

test("the demo's genres are told apart: leave-one-out nearest centroid, Comedy vs Thriller movies", async () => {
  // Movies that are Comedy and not Thriller, or the reverse, among the first 60 demo movies.
  const movies: Array<{ label: number; mean: Float64Array }> = [];
  for (let index = 1; index <= 60; index++) {
    const g = demoGenres(0, index);
    const label = g.includes('Comedy') && !g.includes('Thriller') ? 1 : g.includes('Thriller') && !g.includes('Comedy') ? 0 : -1;
    if (label < 0) continue;
    const frames = await renderDemoMovie(0, index);
    const mean = new Float64Array(DESCRIPTOR_DIM);
    for (const f of frames) {
      const d = desc(await descriptorPixels(f.jpeg));
      for (let j = 0; j < DESCRIPTOR_DIM; j++) mean[j]! += d[j]! / frames.length;
    }
    movies.push({ label, mean });
  }
  const counts = [0, 1].map((l) => movies.filter((m) => m.label === l).length);
  assert.ok(counts[0]! >= 8 && counts[1]! >= 8, `enough movies of each: ${counts.join(', ')}`);
  let correct = 0;
  for (let i = 0; i < movies.length; i++) {
    const centroid = [0, 1].map((l) => {
      const c = new Float64Array(DESCRIPTOR_DIM);
      const others = movies.filter((m, k) => k !== i && m.label === l);
      for (const m of others) for (let j = 0; j < DESCRIPTOR_DIM; j++) c[j]! += m.mean[j]! / others.length;
      return c;
    });
    const dist = centroid.map((c) => sum(c.map((v, j) => (v - movies[i]!.mean[j]!) ** 2)));
    if ((dist[1]! < dist[0]! ? 1 : 0) === movies[i]!.label) correct++;
  }
  const accuracy = correct / movies.length;
  const majority = Math.max(...counts) / movies.length;
  assert.ok(accuracy >= 0.75 && accuracy > majority + 0.1, `accuracy ${accuracy.toFixed(2)} (majority ${majority.toFixed(2)})`);
});
