// The movienet source on real files: the demo dataset written in MovieNet's layout, plus
// hand-made folders. Frames are indexed in place (hashed, not copied), in shot order.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { hashBytes, hashJson } from '../src/hash.js';
import frames from '../stages/frames.js';
import labels from '../stages/labels.js';
import { demoGenres } from '../stages/data/demo-genres.js';
import { renderDemoMovie } from '../stages/data/demo-render.js';
import { writeDemoDataset } from '../stages/data/demo.js';
import { datasetRoot, frameListKey, framePath, readFrameList } from '../stages/data/frame-list.js';
import { DEFAULT_GENRES } from '../stages/data/genres.js';
import { LABEL_FILES, readLabelsFiles, type LabelsReport } from '../stages/data/labels-files.js';
import type { Conf } from '../src/params.js';
import type { TreeArtifact } from '../src/stage-api.js';
import { ageFiles, collectionArtifact, runSourceKind, TempFolders, testContext, type TestWorkspace } from '../fixtures-lib/stage-ctx.js';

const temps = new TempFolders();
let demoRoot = '';
let jpeg: Buffer;
before(async () => {
  demoRoot = temps.dir();
  await writeDemoDataset(demoRoot, { movies: 5, seed: 0 });
  jpeg = (await renderDemoMovie(0, 1))[0]!.jpeg;
});
after(() => temps.cleanup());

/** The frames kind's context, in a fresh workspace unless `ws` is given (to share its file-state cache). */
function framesCtx(root: string, extra: Conf = {}, ws: TestWorkspace = temps.workspace()) {
  const ctx = testContext(ws, { stage: 'frames', params: { dataset: { source: 'movienet', root, keyframes_dir: '240P' }, frames: extra } });
  return { ws, store: ws.store, ctx };
}

test('movienet items are the movie folders; frame lists point at the files in place, in shot order', async () => {
  const { store, ctx } = framesCtx(demoRoot);
  const { items, sink } = await runSourceKind(frames, ctx);
  assert.deepEqual(items.map((i) => i.id), ['tt9000001', 'tt9000002', 'tt9000003', 'tt9000004', 'tt9000005']);
  assert.equal(sink.failures.size, 0);
  assert.equal([...store.list()].length, 5, 'only the five frame lists are in the store: frames are not copied');
  for (const id of items.map((i) => i.id)) {
    const out = sink.outputs.get(id)!;
    assert.deepEqual(Object.keys(out.tree), [frameListKey(id)]);
    const list = await readFrameList(store, id, out);
    assert.equal(list.source, 'movienet');
    const rendered = await renderDemoMovie(0, Number(id.slice(2)) - 9_000_000);
    assert.deepEqual(list.frames.map((f) => f.name), rendered.map((f) => f.name));
    for (const f of list.frames) {
      assert.equal(f.path, `240P/${id}/${f.name}`);
      const file = framePath(f, store, demoRoot);
      assert.equal(file, join(demoRoot, '240P', id, f.name));
      assert.equal(hashBytes(readFileSync(file)), f.hash);
    }
  }
});

test('shot_0002 comes before shot_0010 whatever order the folder was written in', async () => {
  const root = temps.dir();
  const dir = join(root, '240P', 'tt0000001');
  mkdirSync(dir, { recursive: true });
  for (const n of ['shot_0010_img_1.jpg', 'shot_0010_img_0.jpg', 'shot_0002_img_2.jpg', 'shot_0100_img_0.jpg', 'shot_0002_img_0.jpg', 'shot_0009_img_1.jpg']) {
    writeFileSync(join(dir, n), jpeg);
  }
  const { store, ctx } = framesCtx(root);
  const { sink } = await runSourceKind(frames, ctx);
  const list = await readFrameList(store, 'tt0000001', sink.outputs.get('tt0000001')!);
  assert.deepEqual(list.frames.map((f) => [f.shot, f.img]), [[2, 0], [2, 2], [9, 1], [10, 0], [10, 1], [100, 0]]);
});

test('sampling options shape the listed frames', async () => {
  const { store, ctx } = framesCtx(demoRoot, { images_per_shot: 1, stride: 2, max_frames: 3 });
  const { sink } = await runSourceKind(frames, ctx);
  for (const [id, out] of sink.outputs) {
    const list = await readFrameList(store, id, out);
    assert.ok(list.frames.length <= 3 && list.frames.length >= 2, `${id}: ${list.frames.length}`);
    for (const f of list.frames) {
      assert.equal(f.img, 1);
      assert.equal(f.shot % 2, 0);
    }
  }
});

test('moving the dataset folder leaves every item source unchanged; a changed frame changes one item', async () => {
  // One workspace, so one file-state cache, across the listings.
  const ws = temps.workspace();
  const a = temps.dir();
  cpSync(demoRoot, join(a, 'movienet'), { recursive: true });
  // A dataset written long ago: the cache does not keep hashes of files modified in the last 2 s.
  ageFiles(a);
  const before = await frames.listItems!(framesCtx(join(a, 'movienet'), {}, ws).ctx);
  const hashedFirst = ws.files.hashed;
  assert.ok(hashedFirst > 0);
  const again = await frames.listItems!(framesCtx(join(a, 'movienet'), {}, ws).ctx);
  assert.equal(ws.files.hashed, hashedFirst, 'an unchanged dataset is not re-read');
  assert.deepEqual(again, before);

  renameSync(join(a, 'movienet'), join(a, 'moved'));
  const moved = await frames.listItems!(framesCtx(join(a, 'moved'), {}, ws).ctx);
  assert.deepEqual(moved.map((i) => hashJson(i.source)), before.map((i) => hashJson(i.source)));

  writeFileSync(join(a, 'moved', '240P', 'tt9000003', 'shot_0001_img_1.jpg'), jpeg);
  const edited = await frames.listItems!(framesCtx(join(a, 'moved'), {}, ws).ctx);
  const changed = edited.filter((it, i) => hashJson(it.source) !== hashJson(before[i]!.source)).map((i) => i.id);
  assert.deepEqual(changed, ['tt9000003']);
});

test('datasetRoot resolves dataset.root against the workspace', () => {
  const ws = temps.workspace();
  const ctx = testContext(ws, { stage: 'embed', params: { dataset: { root: 'data/mn' } }, declared: ['embed', 'dataset.root'] });
  assert.equal(datasetRoot(ctx), join(ws.dir, 'data', 'mn'));
  const absolute = testContext(ws, { stage: 'embed', params: { dataset: { root: demoRoot } }, declared: ['embed', 'dataset.root'] });
  assert.equal(datasetRoot(absolute), demoRoot);
});

test('a missing keyframes folder is a user error that says where to point dataset.root', async () => {
  const { ctx } = framesCtx(join(temps.dir(), 'nowhere'));
  await assert.rejects(frames.listItems!(ctx), (e: Error) => e.name === 'UserError' && /keyframes folder/.test(e.message) && /docs\/DATA\.md/.test((e as { hint?: string }).hint ?? ''));
});

async function labelsFor(root: string, conf: Conf = {}) {
  const { ws, store, ctx } = framesCtx(root);
  const { sink } = await runSourceKind(frames, ctx);
  const lctx = testContext(ws, {
    stage: 'labels',
    params: { dataset: { source: 'movienet', root, keyframes_dir: '240P' }, labels: conf },
    ports: { frames: collectionArtifact(sink.outputs) },
    onError: 'skip',
  });
  const out = await labels.run(lctx);
  const artifact: TreeArtifact = { type: 'tree', root: hashJson(out.tree), tree: out.tree };
  const files = await readLabelsFiles(store, artifact);
  const report = await store.readJson<LabelsReport>(out.tree[LABEL_FILES.report]!);
  return { out, files, report, lctx, inputs: await labels.inputs!(lctx) };
}

test('labels from MovieNet meta: one-hot in vocabulary order; gaps counted and listed', async () => {
  const root = temps.dir();
  cpSync(demoRoot, root, { recursive: true });
  // tt9000002: no meta; tt9000003: only unknown genres; tt9000004: one unknown besides known ones;
  // tt9000009: meta without frames.
  rmSync(join(root, 'meta', 'tt9000002.json'));
  writeFileSync(join(root, 'meta', 'tt9000003.json'), JSON.stringify({ imdb_id: 'tt9000003', genres: ['Reality-TV'] }));
  writeFileSync(join(root, 'meta', 'tt9000004.json'), JSON.stringify({ imdb_id: 'tt9000004', genres: ['drama', 'News', 'Sci-Fi'] }));
  writeFileSync(join(root, 'meta', 'tt9000009.json'), JSON.stringify({ imdb_id: 'tt9000009', genres: ['Drama'] }));
  const { out, files, report } = await labelsFor(root);
  assert.deepEqual(files.ids, ['tt9000001', 'tt9000004', 'tt9000005']);
  assert.deepEqual(files.genres, DEFAULT_GENRES);
  const oneHot = (gs: string[]): number[] => DEFAULT_GENRES.map((g) => (gs.includes(g) ? 1 : 0));
  assert.deepEqual(files.labels['tt9000001'], oneHot(demoGenres(0, 1)));
  assert.deepEqual(files.labels['tt9000004'], oneHot(['Drama', 'Sci-Fi']));
  assert.deepEqual(report.noMeta, ['tt9000002']);
  assert.deepEqual(report.noKnownGenres, ['tt9000003']);
  assert.deepEqual(report.noFrames, ['tt9000009']);
  assert.deepEqual(report.unknownGenres, { 'Reality-TV': 1, News: 1 });
  assert.equal(report.splitSource, 'stratified');
  assert.deepEqual([...files.split.train, ...files.split.val, ...files.split.test].sort(), files.ids);
  assert.equal(files.counts.all.movies, 3);
  const sciFi = DEFAULT_GENRES.indexOf('Sci-Fi');
  assert.equal(files.counts.all.genres['Sci-Fi'], files.ids.reduce((s, id) => s + files.labels[id]![sciFi]!, 0));
  assert.equal(files.counts.train.movies + files.counts.val.movies + files.counts.test.movies, 3);
  const summary = (out.summary ?? []).join('\n');
  assert.match(summary, /1 movie with frames but no genres on file, left out: tt9000002/);
  assert.match(summary, /without a genre from labels.genres, left out: tt9000003/);
  assert.match(summary, /Reality-TV \(1\)/);
  assert.match(summary, /1 movie with genres but no frames: tt9000009/);
  assert.deepEqual((out.meta?.['no_meta'] as { count: number }).count, 1);
});

test('the official split file is used as is; its ids without data are reported', async () => {
  const root = temps.dir();
  cpSync(demoRoot, root, { recursive: true });
  const official = { train: ['tt9000001', 'tt9000002', 'tt0111161'], val: ['tt9000003'], test: ['tt9000005'] };
  writeFileSync(join(root, 'movie1K.split.v1.json'), JSON.stringify(official));
  const { files, report, inputs } = await labelsFor(root);
  assert.deepEqual(files.split, { train: ['tt9000001', 'tt9000002'], val: ['tt9000003'], test: ['tt9000005'] });
  assert.equal(report.splitSource, 'file');
  assert.deepEqual(report.splitIdsNotInData, ['tt0111161']);
  assert.deepEqual(report.notInSplit, ['tt9000004']);
  assert.ok(inputs['split_file'] !== undefined && inputs['meta'] !== undefined);
  assert.deepEqual(files.counts.val.movies, 1);
});

test('labels inputs change when a meta file changes, and only then', async () => {
  const root = temps.dir();
  cpSync(demoRoot, root, { recursive: true });
  const ctx = testContext(temps.workspace(), { stage: 'labels', params: { dataset: { source: 'movienet', root } }, declared: ['dataset', 'labels'] });
  const a = await labels.inputs!(ctx);
  assert.deepEqual(await labels.inputs!(ctx), a);
  writeFileSync(join(root, 'meta', 'tt9000002.json'), JSON.stringify({ genres: ['Horror'] }));
  const b = await labels.inputs!(ctx);
  assert.notEqual(b['meta'], a['meta']);
  assert.equal(b['split_file'], undefined);
});

test('a custom vocabulary: columns follow labels.genres, other genres are counted as unknown', async () => {
  const { files, report } = await labelsFor(demoRoot, { genres: ['Comedy', 'Drama'] });
  assert.deepEqual(files.genres, ['Comedy', 'Drama']);
  for (const id of files.ids) {
    const g = demoGenres(0, Number(id.slice(2)) - 9_000_000);
    assert.deepEqual(files.labels[id], [+g.includes('Comedy'), +g.includes('Drama')]);
  }
  assert.ok(Object.keys(report.unknownGenres).length > 0);
  const listed = (JSON.parse(readFileSync(join(demoRoot, 'meta', 'tt9000001.json'), 'utf8')) as { genres: string[] }).genres;
  assert.deepEqual(demoGenres(0, 1), listed);
});
