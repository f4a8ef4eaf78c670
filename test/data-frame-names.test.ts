import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserError } from '../src/errors.js';
import { frameName, parseFrameName, parseSampling, sampleFrames, sortFrameNames } from '../stages/data/frame-names.js';

const names = (fs: Array<{ name: string }>): string[] => fs.map((f) => f.name);

test('frames sort numerically by shot then image, whatever order the folder lists them in', () => {
  const listing = ['shot_0010_img_0.jpg', 'shot_0002_img_2.jpg', 'shot_0100_img_1.jpg', 'shot_0002_img_0.jpg', 'shot_0002_img_1.jpg', 'shot_0009_img_0.jpg'];
  const { frames } = sortFrameNames(listing);
  assert.deepEqual(names(frames), ['shot_0002_img_0.jpg', 'shot_0002_img_1.jpg', 'shot_0002_img_2.jpg', 'shot_0009_img_0.jpg', 'shot_0010_img_0.jpg', 'shot_0100_img_1.jpg']);
  assert.deepEqual(frames.map((f) => [f.shot, f.img]), [[2, 0], [2, 1], [2, 2], [9, 0], [10, 0], [100, 1]]);
});

test('numeric order holds past 4 digits and for unpadded numbers', () => {
  const { frames } = sortFrameNames(['shot_10000_img_0.jpg', 'shot_9999_img_0.jpg', 'shot_12_img_1.jpg', 'shot_3_img_0.jpg']);
  assert.deepEqual(names(frames), ['shot_3_img_0.jpg', 'shot_12_img_1.jpg', 'shot_9999_img_0.jpg', 'shot_10000_img_0.jpg']);
});

test('images with other names are reported, other files ignored', () => {
  const { frames, unrecognised } = sortFrameNames(['shot_0001_img_0.jpg', 'cover.jpg', 'notes.txt', '.DS_Store', 'shot_0001_img_1.JPG', 'frame1.png']);
  assert.deepEqual(names(frames), ['shot_0001_img_0.jpg', 'shot_0001_img_1.JPG']);
  assert.deepEqual(unrecognised, ['cover.jpg', 'frame1.png']);
});

test('the hand-read names parse exactly as the pattern does, edge cases included', () => {
  const pattern = /^shot_(\d+)_img_(\d+)\.jpe?g$/i;
  const byPattern = (n: string): unknown => {
    const m = pattern.exec(n);
    return m === null ? undefined : { name: n, shot: Number(m[1]), img: Number(m[2]) };
  };
  const cases = [
    'shot_0012_img_1.jpg', 'shot_0_img_0.jpg', 'shot_999999999_img_2.jpg', 'shot_1234567890_img_2.jpg', 'shot_12345678901234567890_img_1.jpg',
    'shot_0001_img_1.jpeg', 'shot_0001_img_1.JPG', 'SHOT_0001_IMG_1.jpg', 'shot__img_1.jpg', 'shot_0001_img_.jpg', 'shot_0001_img_1.jpgx',
    'shot_0001_img_1.png', 'shot_0001_img_1', 'shot_0001.jpg', 'shot_0001_img_1_.jpg', 'shot_-1_img_1.jpg', 'shot_1a_img_1.jpg', 'xshot_0001_img_1.jpg',
    'shot_0001_img_10.jpg', 'shot_٣_img_1.jpg', 'shot_0001_img_1.jpg.jpg', '',
  ];
  for (let i = 0; i < 2000; i++) cases.push(`shot_${String(i * 7919 % 100000).padStart(i % 6, '0')}_img_${i % 13}.${['jpg', 'jpeg', 'JPG', 'Jpg'][i % 4]}`);
  for (const n of cases) assert.deepEqual(parseFrameName(n), byPattern(n), n);
});

test('frameName pads the shot to 4 digits like MovieNet', () => {
  assert.equal(frameName(7, 2), 'shot_0007_img_2.jpg');
  assert.equal(frameName(12345, 0), 'shot_12345_img_0.jpg');
});

function movie(shots: number, perShot = 3): Array<{ name: string; shot: number; img: number }> {
  const out = [];
  for (let s = 0; s < shots; s++) for (let i = 0; i < perShot; i++) out.push({ name: frameName(s, i), shot: s, img: i });
  return out;
}

test('images_per_shot keeps img 1, or img 0 and 2, or all three', () => {
  const m = movie(3);
  assert.deepEqual(names(sampleFrames(m, parseSampling({ images_per_shot: 1 }))), ['shot_0000_img_1.jpg', 'shot_0001_img_1.jpg', 'shot_0002_img_1.jpg']);
  assert.deepEqual(
    sampleFrames(m, parseSampling({ images_per_shot: 2 })).map((f) => [f.shot, f.img]),
    [[0, 0], [0, 2], [1, 0], [1, 2], [2, 0], [2, 2]],
  );
  assert.equal(sampleFrames(m, parseSampling({ images_per_shot: 3 })).length, 9);
  // A shot with fewer images keeps what it has.
  const short = [{ name: frameName(0, 0), shot: 0, img: 0 }, ...movie(2).slice(3)];
  assert.deepEqual(sampleFrames(short, parseSampling({ images_per_shot: 2 })).map((f) => [f.shot, f.img]), [[0, 0], [1, 0], [1, 2]]);
});

test('stride keeps every k-th shot by position, so gaps in shot numbers do not matter', () => {
  const m = movie(6).filter((f) => f.shot !== 1);
  const kept = sampleFrames(m, parseSampling({ images_per_shot: 1, stride: 2 }));
  assert.deepEqual(kept.map((f) => f.shot), [0, 3, 5]);
});

test('max_frames spreads the kept frames evenly over the movie', () => {
  const m = movie(10, 1);
  assert.deepEqual(sampleFrames(m, parseSampling({ max_frames: 5 })).map((f) => f.shot), [1, 3, 5, 7, 9]);
  assert.deepEqual(sampleFrames(m, parseSampling({ max_frames: 1 })).map((f) => f.shot), [5]);
  assert.equal(sampleFrames(m, parseSampling({ max_frames: 0 })).length, 10);
  assert.equal(sampleFrames(m, parseSampling({ max_frames: 50 })).length, 10);
});

test('bad sampling params are user errors naming the key', () => {
  for (const [p, key] of [
    [{ images_per_shot: 4 }, 'frames.images_per_shot'],
    [{ images_per_shot: 0 }, 'frames.images_per_shot'],
    [{ stride: 0 }, 'frames.stride'],
    [{ stride: 1.5 }, 'frames.stride'],
    [{ max_frames: -1 }, 'frames.max_frames'],
    [{ max_frames: '10' }, 'frames.max_frames'],
  ] as const) {
    assert.throws(() => parseSampling(p), (e: unknown) => e instanceof UserError && e.message.startsWith(key));
  }
});
