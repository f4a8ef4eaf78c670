// Bad input the catalogue (docs/ERRORS.md) lists and other tests do not cover: images that are
// not JPEG under a JPEG name (PNG, WebP, GIF, a 16-bit PNG), CMYK and 1x1 JPEGs (decoded, not
// refused), an image over the decoder's pixel limit, a video with no video stream or no frames.
// Each bad movie fails alone with an ItemError naming the movie, the file and the fix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ItemError } from '../src/errors.js';
import { decodeNpy } from '../src/npy.js';
import embed from '../stages/embed.js';
import frames from '../stages/frames.js';
import { writeDemoDataset } from '../stages/data/demo.js';
import { testFfmpeg } from './helpers/data-videos.js';
import { storeMovie, syntheticFrame } from './helpers/embed-frames.js';
import { RecordingSink, runSourceKind, TempFolders, testContext } from '../fixtures-lib/stage-ctx.js';

const temps = new TempFolders();
let root = '';
before(async () => {
  root = temps.dir();
  await writeDemoDataset(root, { movies: 5, seed: 2 });
});
after(() => temps.cleanup());

function failureOf(sink: RecordingSink, id: string): ItemError {
  const e = sink.failures.get(id);
  assert.ok(e instanceof ItemError, `${id}: expected an ItemError, got ${String(e)}`);
  assert.equal(e.item, id);
  assert.ok(e.hint, `${id}: a fix`);
  return e;
}

test('PNG, WebP, GIF and 16-bit PNG images under a .jpg name: the movie fails naming the format', async () => {
  const kf = join(root, '240P');
  const pixels = sharp({ create: { width: 32, height: 24, channels: 3, background: '#336699' } });
  const bad: Record<string, [Buffer, RegExp]> = {
    tt9000001: [await pixels.clone().png().toBuffer(), /a PNG image under a JPEG name/],
    tt9000002: [await pixels.clone().webp().toBuffer(), /a WebP image under a JPEG name/],
    tt9000003: [await pixels.clone().gif().toBuffer(), /a GIF image under a JPEG name/],
    tt9000004: [await pixels.clone().toColourspace('rgb16').png().toBuffer(), /a PNG image under a JPEG name/],
  };
  for (const [id, [bytes]] of Object.entries(bad)) writeFileSync(join(kf, id, 'shot_0001_img_1.jpg'), bytes);
  const ws = temps.workspace();
  const ctx = testContext(ws, { stage: 'frames', params: { dataset: { source: 'movienet', root } }, declared: ['dataset', 'frames'] });
  const { sink } = await runSourceKind(frames, ctx);
  assert.deepEqual([...sink.outputs.keys()], ['tt9000005'], 'the good movie is done');
  for (const [id, [, message]] of Object.entries(bad)) {
    const e = failureOf(sink, id);
    assert.equal(e.file, join(kf, id, 'shot_0001_img_1.jpg'));
    assert.match(e.message, message);
    assert.match(e.message, /convert it/);
  }
});

test('CMYK and 1x1 JPEGs embed (converted to sRGB, upscaled); an image over the pixel limit fails its movie', async () => {
  const ws = temps.workspace('embed-bad-');
  const rgb = await syntheticFrame(3, 96, 64);
  const cmyk = await sharp(rgb).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const tiny = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  // A JPEG whose header says 20000 x 20000 (a decompression bomb's shape): the decoder refuses
  // it from the header, without allocating the 1.2 GB it would take.
  const bomb = Buffer.from(rgb);
  for (let i = 0; i < bomb.length - 9; i++) {
    if (bomb[i] === 0xff && (bomb[i + 1] === 0xc0 || bomb[i + 1] === 0xc2)) {
      bomb.writeUInt16BE(20000, i + 5);
      bomb.writeUInt16BE(20000, i + 7);
      break;
    }
  }
  const tasks = [
    await storeMovie(ws.store, 'tt0000001', [rgb, cmyk]),
    await storeMovie(ws.store, 'tt0000002', [tiny]),
    await storeMovie(ws.store, 'tt0000003', [rgb, bomb]),
  ];
  const sink = new RecordingSink();
  await embed.run(testContext(ws, { stage: 'embed', params: { embed: { encoder: 'builtin' } }, declared: ['embed'] }), tasks, sink);
  assert.deepEqual([...sink.outputs.keys()].sort(), ['tt0000001', 'tt0000002']);
  for (const id of ['tt0000001', 'tt0000002']) {
    const npy = decodeNpy(await ws.store.read(sink.outputs.get(id)!.tree[`${id}.npy`]!));
    assert.equal(npy.shape[1], 512);
    assert.ok((npy.data as Float32Array).every((v) => Number.isFinite(v)), `${id}: finite embeddings`);
  }
  const e = failureOf(sink, 'tt0000003');
  assert.equal(e.file, 'shot_0000_img_1.jpg');
  assert.match(e.message, /cannot decode the frame: Input image exceeds pixel limit/);
  assert.match(e.hint ?? '', /larger than the decoder's limit of 268 megapixels .*downscale it/);
});

test('a video without a video stream, and one with no frames, each fail their movie', async () => {
  const dir = temps.dir();
  const ffmpeg = testFfmpeg();
  const run = (args: string[]): void => void execFileSync(ffmpeg, ['-hide_banner', '-v', 'error', '-y', ...args]);
  run(['-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'aac', join(dir, 'audio.mp4')]);
  run(['-f', 'lavfi', '-i', 'color=c=red:d=1:s=320x180:r=10', '-frames:v', '0', '-c:v', 'mpeg4', join(dir, 'zero.mp4')]);
  run(['-f', 'lavfi', '-i', 'testsrc=d=1:s=320x180:r=10', '-c:v', 'mpeg4', join(dir, 'fine.mp4')]);
  writeFileSync(join(dir, 'labels.csv'), 'audio,Drama\nzero,Drama\nfine,Drama\n');
  const ws = temps.workspace();
  const ctx = testContext(ws, { stage: 'frames', params: { dataset: { source: 'videos', root: dir } }, declared: ['dataset', 'frames'] });
  const { sink } = await runSourceKind(frames, ctx);
  assert.deepEqual([...sink.outputs.keys()], ['fine']);
  const audio = failureOf(sink, 'audio');
  assert.equal(audio.file, join(dir, 'audio.mp4'));
  assert.equal(audio.message, 'no video stream in the file');
  const zero = failureOf(sink, 'zero');
  assert.equal(zero.file, join(dir, 'zero.mp4'));
  // ffmpeg writes no video stream for a video of zero frames: the same message
  assert.equal(zero.message, 'no video stream in the file');
  assert.ok(readFileSync(join(dir, 'fine.mp4')).length > 0);
});
