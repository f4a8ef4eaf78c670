// The videos source: keyframes extracted with the real ffmpeg from short test videos.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { ItemError, UserError } from '../src/errors.js';
import type { Conf } from '../src/params.js';
import { hashBytes, hashJson } from '../src/hash.js';
import type { TreeArtifact } from '../src/stage-api.js';
import frames from '../stages/frames.js';
import labels from '../stages/labels.js';
import { frameListKey, framePath, readFrameList } from '../stages/data/frame-list.js';
import { readLabelsFiles, LABEL_FILES, type LabelsReport } from '../stages/data/labels-files.js';
import { findFfmpeg, planSceneFrames, snapToFrame } from '../stages/data/videos.js';
import { makeVideo } from './helpers/data-videos.js';
import { collectionArtifact, RecordingSink, runSourceKind, tasksOf, TempFolders, testContext } from '../fixtures-lib/stage-ctx.js';

const temps = new TempFolders();
let root = '';
before(() => {
  root = temps.dir();
  // Three shots: 1.5 s of testsrc, 1 s of colour bars, 1 s of red.
  makeVideo(join(root, 'trailer_a.mp4'), [['testsrc', 1.5], ['smptebars', 1], ['red', 1]]);
  makeVideo(join(root, 'trailer_b.mkv'), [['red', 1], ['blue', 1]]);
  makeVideo(join(root, 'trailer_c.webm'), [['smptebars', 1], ['red', 1]]);
  makeVideo(join(root, 'trailer_d.mov'), [['blue', 2]]);
  writeFileSync(join(root, 'notes.txt'), 'not a video');
  writeFileSync(join(root, 'labels.csv'), 'id,genres\ntrailer_a,Action|Sci-Fi\ntrailer_b,Romance\ntrailer_c,Drama|Mockumentary\ntrailer_e,Horror\n');
});
after(() => temps.cleanup());

function ctxFor(framesConf: Conf = {}, dataset: Conf = {}) {
  const ws = temps.workspace();
  const ctx = testContext(ws, { stage: 'frames', params: { dataset: { source: 'videos', root, ...dataset }, frames: framesConf } });
  return { ws, store: ws.store, ctx };
}

test('shot detection: 3 keyframes per shot, in the right shots, 240 px high, in the store', async () => {
  const { store, ctx } = ctxFor();
  const { items, sink } = await runSourceKind(frames, ctx);
  assert.deepEqual(items.map((i) => i.id), ['trailer_a', 'trailer_b', 'trailer_c', 'trailer_d']);
  assert.equal(sink.failures.size, 0, [...sink.failures.values()].map(String).join('; '));
  const list = await readFrameList(store, 'trailer_a', sink.outputs.get('trailer_a')!);
  assert.equal(list.source, 'videos');
  assert.deepEqual(list.frames.map((f) => f.name), [0, 1, 2].flatMap((s) => [0, 1, 2].map((i) => `shot_000${s}_img_${i}.jpg`)));
  // Shot boundaries at 1.5 s and 2.5 s: frames at 1/6, 1/2, 5/6 of each shot, moved back onto
  // the start of the frame shown then (10 fps).
  assert.deepEqual(list.frames.map((f) => f.time), [0.2, 0.7, 1.2, 1.6, 2, 2.3, 2.6, 3, 3.3]);
  for (const f of list.frames) {
    const file = framePath(f, store);
    assert.equal(hashBytes(readFileSync(file)), f.hash);
    assert.equal(sink.outputs.get('trailer_a')!.tree[`trailer_a/${f.name}`], f.hash);
    const meta = await sharp(file).metadata();
    assert.equal(meta.height, 240);
    assert.equal(meta.width, 426);
  }
  // The last shot is pure red; the first is not.
  const red = await sharp(framePath(list.frames[7]!, store)).stats();
  assert.ok(red.channels[0]!.mean > 200 && red.channels[1]!.mean < 40, 'shot 2 is the red scene');
  const first = await sharp(framePath(list.frames[0]!, store)).stats();
  assert.ok(first.channels[1]!.mean > 60, 'shot 0 is testsrc');
  // Each container works.
  for (const [id, shots] of [['trailer_b', 2], ['trailer_c', 2], ['trailer_d', 1]] as const) {
    const l = await readFrameList(store, id, sink.outputs.get(id)!);
    assert.equal(l.frames.length, shots * 3, id);
  }
  const env = await frames.env!(ctx);
  assert.match(env['ffmpeg'] ?? '', /^ffmpeg version /);
});

test('sampling applies before extraction: images_per_shot 1 takes the middle of each shot', async () => {
  const { store, ctx } = ctxFor({ images_per_shot: 1 });
  const items = (await frames.listItems!(ctx)).filter((i) => i.id === 'trailer_a');
  const sink = new RecordingSink();
  await frames.run(ctx, tasksOf(items), sink);
  const list = await readFrameList(store, 'trailer_a', sink.outputs.get('trailer_a')!);
  assert.deepEqual(list.frames.map((f) => f.name), ['shot_0000_img_1.jpg', 'shot_0001_img_1.jpg', 'shot_0002_img_1.jpg']);
  assert.equal(Object.keys(sink.outputs.get('trailer_a')!.tree).length, 4);
});

test('fixed rate: frames.fps takes one frame per 1/fps seconds, each its own shot', async () => {
  const { store, ctx } = ctxFor({ fps: 2 });
  const items = await frames.listItems!(ctx);
  assert.equal((items[0]!.source as { fps?: number }).fps, 2);
  const { sink } = await runSourceKind(frames, ctx);
  const list = await readFrameList(store, 'trailer_a', sink.outputs.get('trailer_a')!);
  assert.equal(list.frames.length, 7);
  assert.deepEqual(list.frames.map((f) => [f.shot, f.img]), [0, 1, 2, 3, 4, 5, 6].map((s) => [s, 0]));
  const stride = ctxFor({ fps: 2, stride: 3 });
  const { sink: s2 } = await runSourceKind(frames, stride.ctx);
  const l2 = await readFrameList(stride.store, 'trailer_a', s2.outputs.get('trailer_a')!);
  assert.deepEqual(l2.frames.map((f) => f.shot), [0, 3, 6]);
  assert.deepEqual(Object.keys(s2.outputs.get('trailer_a')!.tree).sort(), [frameListKey('trailer_a'), ...l2.frames.map((f) => `trailer_a/${f.name}`)].sort());
});

test('planSceneFrames: boundaries from cuts, cuts at the ends ignored', () => {
  assert.deepEqual(planSceneFrames([], 3).map((f) => f.time), [0.5, 1.5, 2.5]);
  assert.deepEqual(planSceneFrames([0, 1.5, 3], 3).map((f) => f.shot), [0, 0, 0, 1, 1, 1]);
});

test('snapToFrame: onto a frame start, never past the last frame', () => {
  assert.equal(snapToFrame(0.417, 0.5, 10), 0.4);
  assert.equal(snapToFrame(0.49, 0.5, 10), 0.4);
  assert.equal(snapToFrame(0.3, 0.5, 10), 0.3);
  assert.equal(snapToFrame(0.7, 0.5, 10), 0.4);
  assert.equal(snapToFrame(1.25, 2, undefined), 1.25);
});

test('labels from a CSV labels file; from JSON; movies without labels are reported', async () => {
  const { ws, store, ctx } = ctxFor({ fps: 1 });
  const { sink } = await runSourceKind(frames, ctx);
  for (const labelsFile of ['labels.csv', 'labels.json']) {
    if (labelsFile === 'labels.json') {
      writeFileSync(join(root, 'labels.json'), JSON.stringify({ trailer_a: ['Action', 'Sci-Fi'], trailer_b: ['Romance'], trailer_c: ['Drama', 'Mockumentary'], trailer_e: ['Horror'] }));
    }
    const lctx = testContext(ws, {
      stage: 'labels',
      params: { dataset: { source: 'videos', root, labels_file: labelsFile }, labels: { split: [0.6, 0.2, 0.2] } },
      ports: { frames: collectionArtifact(sink.outputs) },
    });
    const out = await labels.run(lctx);
    const files = await readLabelsFiles(store, { type: 'tree', root: hashJson(out.tree), tree: out.tree } satisfies TreeArtifact);
    const report = await store.readJson<LabelsReport>(out.tree[LABEL_FILES.report]!);
    assert.deepEqual(files.ids, ['trailer_a', 'trailer_b', 'trailer_c']);
    assert.equal(files.labels['trailer_a']![files.genres.indexOf('Sci-Fi')], 1);
    assert.deepEqual(report.noMeta, ['trailer_d']);
    assert.deepEqual(report.noFrames, ['trailer_e']);
    assert.deepEqual(report.unknownGenres, { Mockumentary: 1 });
    const inputs = await labels.inputs!(lctx);
    assert.equal(inputs['labels_file'], hashBytes(readFileSync(join(root, labelsFile))));
  }
  const missing = testContext(ws, {
    stage: 'labels',
    params: { dataset: { source: 'videos', root, labels_file: 'nope.csv' } },
    declared: ['dataset', 'labels'],
    ports: { frames: collectionArtifact(sink.outputs) },
  });
  await assert.rejects(labels.inputs!(missing), (e: unknown) => e instanceof UserError && e.message.includes('nope.csv'));
});

test('a missing ffmpeg is a user error naming the install command', async () => {
  await assert.rejects(findFfmpeg({ ffmpeg: join(root, 'no-such-ffmpeg') }), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /no-such-ffmpeg is not installed/);
    assert.match(e.hint ?? '', /npm ci/);
    assert.match(e.hint ?? '', /apt-get install ffmpeg/);
    assert.match(e.hint ?? '', /FFMPEG_PATH/);
    return true;
  });
});

test('two videos for one movie id is that movie\'s error', async () => {
  const dir = temps.dir();
  makeVideo(join(dir, 'dup.mp4'), [['red', 0.5]]);
  makeVideo(join(dir, 'dup.mkv'), [['red', 0.5]]);
  makeVideo(join(dir, 'ok.mp4'), [['blue', 0.5]]);
  const { ctx } = ctxFor({}, { root: dir });
  const { sink } = await runSourceKind(frames, ctx);
  assert.deepEqual([...sink.outputs.keys()], ['ok']);
  const err = sink.failures.get('dup');
  assert.ok(err instanceof ItemError);
  assert.match(err.describe('movie'), /^movie dup: \S+dup\.mkv: several videos/);
  assert.match(err.message, /several videos for one movie: dup\.mkv, dup\.mp4/);
});
