// Bad input: each problem is an ItemError naming the movie and the file, reported through the
// sink (frames) or ctx.itemError (labels) so that on_error decides; other movies are unaffected.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ItemError } from '../src/errors.js';
import type { Conf } from '../src/params.js';
import frames from '../stages/frames.js';
import labels from '../stages/labels.js';
import { writeDemoDataset } from '../stages/data/demo.js';
import { LABEL_FILES, type LabelsReport } from '../stages/data/labels-files.js';
import { makeVideo } from './helpers/data-videos.js';
import { collectionArtifact, runSourceKind, TempFolders, testContext, type RecordingSink } from '../fixtures-lib/stage-ctx.js';

const temps = new TempFolders();
let root = '';
let good = 0;
before(async () => {
  root = temps.dir();
  await writeDemoDataset(root, { movies: 8, seed: 1 });
  const kf = join(root, '240P');
  const jpeg = readFileSync(join(kf, 'tt9000001', 'shot_0000_img_0.jpg'));
  // tt9000002: a corrupt JPEG (not a JPEG at all); tt9000003: a truncated one; tt9000004: a
  // zero-byte frame; tt9000005: an empty movie folder; tt9000006: only wrongly named images.
  writeFileSync(join(kf, 'tt9000002', 'shot_0001_img_1.jpg'), Buffer.from('this is not an image, just some text bytes'));
  writeFileSync(join(kf, 'tt9000003', 'shot_0002_img_0.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(join(kf, 'tt9000004', 'shot_0000_img_2.jpg'), '');
  rmSync(join(kf, 'tt9000005'), { recursive: true });
  mkdirSync(join(kf, 'tt9000005'));
  rmSync(join(kf, 'tt9000006'), { recursive: true });
  mkdirSync(join(kf, 'tt9000006'));
  writeFileSync(join(kf, 'tt9000006', 'frame1.jpg'), jpeg);
  good = 3; // tt9000001, tt9000007, tt9000008
});
after(() => temps.cleanup());

function framesCtx(dataset: Conf) {
  const ws = temps.workspace();
  return { ws, ctx: testContext(ws, { stage: 'frames', params: { dataset }, declared: ['dataset', 'frames'] }) };
}

function failure(sink: RecordingSink, id: string): ItemError {
  const e = sink.failures.get(id);
  assert.ok(e instanceof ItemError, `${id}: expected an ItemError, got ${String(e)}`);
  assert.equal(e.item, id);
  return e;
}

test('listing never throws for one bad movie; each bad movie fails alone, the others complete', async () => {
  const { ctx } = framesCtx({ source: 'movienet', root });
  const { items, sink } = await runSourceKind(frames, ctx);
  assert.equal(items.length, 8);
  assert.deepEqual([...sink.outputs.keys()].sort(), ['tt9000001', 'tt9000007', 'tt9000008']);
  assert.equal(sink.outputs.size, good);

  const corrupt = failure(sink, 'tt9000002');
  assert.equal(corrupt.file, join(root, '240P', 'tt9000002', 'shot_0001_img_1.jpg'));
  assert.match(corrupt.describe('movie'), /^movie tt9000002: .*shot_0001_img_1\.jpg: not a JPEG/);

  const truncated = failure(sink, 'tt9000003');
  assert.equal(truncated.file, join(root, '240P', 'tt9000003', 'shot_0002_img_0.jpg'));
  assert.match(truncated.message, /truncated JPEG/);

  const empty = failure(sink, 'tt9000004');
  assert.equal(empty.file, join(root, '240P', 'tt9000004', 'shot_0000_img_2.jpg'));
  assert.match(empty.message, /empty file \(0 bytes\)/);

  const noFrames = failure(sink, 'tt9000005');
  assert.equal(noFrames.file, join(root, '240P', 'tt9000005'));
  assert.match(noFrames.message, /no keyframes/);

  const misnamed = failure(sink, 'tt9000006');
  assert.match(misnamed.message, /no keyframes named shot_XXXX_img_K\.jpg \(found 1 other images\)/);
  for (const id of ['tt9000002', 'tt9000003', 'tt9000004', 'tt9000005', 'tt9000006']) assert.ok(failure(sink, id).hint);
});

test('a keyframe that cannot be read fails its movie only, at listing time', async () => {
  const r = temps.dir();
  cpSync(join(root, '240P', 'tt9000001'), join(r, '240P', 'tt9000001'), { recursive: true });
  cpSync(join(root, '240P', 'tt9000007'), join(r, '240P', 'tt9000007'), { recursive: true });
  // A folder where a keyframe should be: reading it fails (EISDIR) inside hashFiles.
  rmSync(join(r, '240P', 'tt9000007', 'shot_0000_img_1.jpg'));
  mkdirSync(join(r, '240P', 'tt9000007', 'shot_0000_img_1.jpg'));
  const { ctx } = framesCtx({ source: 'movienet', root: r });
  const { items, sink } = await runSourceKind(frames, ctx);
  assert.deepEqual(items.map((i) => i.id), ['tt9000001', 'tt9000007']);
  assert.deepEqual([...sink.outputs.keys()], ['tt9000001']);
  const e = failure(sink, 'tt9000007');
  assert.equal(e.file, join(r, '240P', 'tt9000007'));
  assert.match(e.message, /^cannot read a keyframe \(.*EISDIR/);
});

async function labelsRun(metaEdits: Record<string, string>, onError: 'fail' | 'skip') {
  const r = temps.dir();
  cpSync(root, r, { recursive: true });
  for (const [id, text] of Object.entries(metaEdits)) writeFileSync(join(r, 'meta', `${id}.json`), text);
  const { ws, ctx } = framesCtx({ source: 'movienet', root: r });
  const { sink } = await runSourceKind(frames, ctx);
  const lctx = testContext(ws, {
    stage: 'labels',
    params: { dataset: { source: 'movienet', root: r } },
    declared: ['dataset', 'labels'],
    ports: { frames: collectionArtifact(sink.outputs) },
    onError,
  });
  return { lctx, store: ws.store, run: () => labels.run(lctx), r };
}

test('meta that is not JSON, or lacks genres: under on_error fail the stage stops with that message', async () => {
  const { run, r } = await labelsRun({ tt9000007: '{"genres": ["Drama"' }, 'fail');
  await assert.rejects(run(), (e: unknown) => {
    assert.ok(e instanceof ItemError);
    assert.equal(e.item, 'tt9000007');
    assert.equal(e.file, join(r, 'meta', 'tt9000007.json'));
    assert.match(e.message, /meta is not valid JSON/);
    return true;
  });
});

test('meta problems under on_error skip: recorded, the movie left out and listed, the rest labelled', async () => {
  const { run, lctx, store } = await labelsRun({ tt9000007: 'not json', tt9000008: '{"imdb_id": "tt9000008", "title": "x"}' }, 'skip');
  const out = await run();
  assert.deepEqual(
    lctx.itemErrors.map((e) => [e.item, e.message]),
    [
      ['tt9000007', lctx.itemErrors[0]!.message],
      ['tt9000008', 'meta has no "genres" field'],
    ],
  );
  assert.match(lctx.itemErrors[0]!.message, /^meta is not valid JSON/);
  const ids = await store.readJson<string[]>(out.tree[LABEL_FILES.ids]!);
  assert.deepEqual(ids, ['tt9000001']);
  const report = await store.readJson<LabelsReport>(out.tree[LABEL_FILES.report]!);
  assert.deepEqual(report.badMeta, ['tt9000007', 'tt9000008']);
  assert.ok(out.summary!.some((l) => l.includes('2 movies with unreadable meta, left out: tt9000007, tt9000008')));
});

test('genres that are not a list of names are a meta error', async () => {
  const { run, lctx } = await labelsRun({ tt9000001: '{"genres": "Drama"}' }, 'skip');
  await run();
  assert.deepEqual(lctx.itemErrors.map((e) => [e.item, e.message]), [['tt9000001', 'meta "genres" is not a list of names']]);
});

test('a video ffmpeg cannot read is that movie\'s error; the other videos are extracted', async () => {
  const dir = temps.dir();
  makeVideo(join(dir, 'fine.mp4'), [['red', 0.5], ['blue', 0.5]]);
  writeFileSync(join(dir, 'broken.mp4'), Buffer.alloc(4096, 7));
  const good = readFileSync(join(dir, 'fine.mp4'));
  writeFileSync(join(dir, 'cut.mkv'), good.subarray(0, 200));
  writeFileSync(join(dir, 'empty.webm'), '');
  const { ctx } = framesCtx({ source: 'videos', root: dir });
  const { sink } = await runSourceKind(frames, ctx);
  assert.deepEqual([...sink.outputs.keys()], ['fine']);
  for (const [id, file, pattern] of [
    ['broken', 'broken.mp4', /ffmpeg cannot read the video: .*Invalid data/],
    ['cut', 'cut.mkv', /ffmpeg cannot read the video: .*(Invalid data|EBML header parsing failed)/],
    ['empty', 'empty.webm', /empty file \(0 bytes\)/],
  ] as const) {
    const e = failure(sink, id);
    assert.equal(e.file, join(dir, file));
    assert.match(e.message, pattern);
  }
});
