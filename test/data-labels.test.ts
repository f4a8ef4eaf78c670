// The labels kind on the demo source, and its videos-source labels file parser.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { hashJson } from '../src/hash.js';
import type { ItemOutput, TreeArtifact } from '../src/stage-api.js';
import labels from '../stages/labels.js';
import { demoGenres, demoId } from '../stages/data/demo-genres.js';
import { DEFAULT_GENRES } from '../stages/data/genres.js';
import { parseLabelFile } from '../stages/data/label-file.js';
import { LABEL_FILES, readLabelsFiles, SPLITS, type LabelsReport } from '../stages/data/labels-files.js';
import type { Conf } from '../src/params.js';
import { collectionArtifact, TempFolders, testContext } from '../fixtures-lib/stage-ctx.js';

const temps = new TempFolders();
after(() => temps.cleanup());

/** The frames collection as labels sees it: the movies that have frames (their outputs are not read). */
function framesOf(ids: string[]) {
  return collectionArtifact(new Map<string, ItemOutput>(ids.map((id) => [id, { tree: { [`${id}.json`]: hashJson(id) } }])));
}

async function runDemoLabels(ids: string[], labelsConf: Conf = {}, dataset: Conf = {}) {
  const ws = temps.workspace();
  const store = ws.store;
  const ctx = testContext(ws, {
    stage: 'labels',
    params: { dataset: { source: 'demo', movies: 200, seed: 0, ...dataset }, labels: labelsConf },
    ports: { frames: framesOf(ids) },
  });
  const out = await labels.run(ctx);
  const files = await readLabelsFiles(store, { type: 'tree', root: hashJson(out.tree), tree: out.tree } satisfies TreeArtifact);
  return { out, files, report: await store.readJson<LabelsReport>(out.tree[LABEL_FILES.report]!) };
}

const all200 = Array.from({ length: 200 }, (_, i) => demoId(i + 1));

test('demo labels: the reference\'s ids.json and labels.json, plus genres, split and counts', async () => {
  const { out, files, report } = await runDemoLabels(all200);
  assert.deepEqual(Object.keys(out.tree).sort(), Object.values(LABEL_FILES).sort());
  assert.deepEqual(files.ids, all200);
  assert.deepEqual(files.genres, DEFAULT_GENRES);
  for (const [i, id] of all200.entries()) {
    const g = demoGenres(0, i + 1);
    assert.deepEqual(files.labels[id], DEFAULT_GENRES.map((name) => (g.includes(name) ? 1 : 0)));
  }
  // Every movie in exactly one split; sizes near 0.7/0.1/0.2.
  const placed = SPLITS.flatMap((s) => files.split[s]);
  assert.deepEqual([...placed].sort(), all200);
  assert.ok(Math.abs(files.split.train.length - 140) <= 6 && Math.abs(files.split.val.length - 20) <= 6 && Math.abs(files.split.test.length - 40) <= 6);
  // Every genre (all have >= 3 positives among 200 demo movies) in every split.
  for (const s of SPLITS) {
    for (const g of DEFAULT_GENRES) assert.ok(files.counts[s].genres[g]! > 0, `${g} missing from ${s}`);
    assert.equal(files.counts[s].movies, files.split[s].length);
  }
  for (const g of DEFAULT_GENRES) {
    assert.equal(files.counts.all.genres[g], SPLITS.reduce((n, s) => n + files.counts[s].genres[g]!, 0));
  }
  assert.equal(report.splitSource, 'stratified');
  assert.deepEqual(report.noFrames, []);
  assert.equal(out.meta?.['movies'], 200);
  assert.match(out.summary![0]!, /^labels: 200 movies \(train \d+, val \d+, test \d+; stratified split, seed 0\)$/);
});

test('the split depends on labels.seed and labels.split, deterministically', async () => {
  const ids = all200.slice(0, 100);
  const a = await runDemoLabels(ids);
  const b = await runDemoLabels(ids);
  assert.deepEqual(b.files.split, a.files.split);
  const c = await runDemoLabels(ids, { seed: 1 });
  assert.notDeepEqual(c.files.split, a.files.split);
  const d = await runDemoLabels(ids, { split: [0.8, 0, 0.2] });
  assert.equal(d.files.split.val.length, 0);
  assert.ok(Math.abs(d.files.split.train.length - 80) <= 4);
});

test('demo movies whose frames failed are listed as having no frames', async () => {
  const ids = all200.slice(0, 20).filter((id) => id !== 'tt9000007');
  const { report, out, files } = await runDemoLabels(ids, {}, { movies: 20 });
  assert.deepEqual(report.noFrames, ['tt9000007']);
  assert.equal(files.ids.length, 19);
  assert.ok(out.summary!.some((l) => l.includes('1 movie with genres but no frames: tt9000007')));
});

test('bad labels params are user errors', async () => {
  await assert.rejects(runDemoLabels(all200.slice(0, 10), { split: [0.5, 0.5] }), UserError);
  await assert.rejects(runDemoLabels(all200.slice(0, 10), { genres: [] }), UserError);
  await assert.rejects(runDemoLabels(all200.slice(0, 10), { genres: ['Drama', 'drama'] }), UserError);
  await assert.rejects(runDemoLabels(all200.slice(0, 10), { seed: 'x' }), UserError);
});

test('labels file: CSV with | between genres (header optional), or JSON', () => {
  const csv = parseLabelFile('id,genres\nclip_a,Drama|Romance\n"clip b", "Horror" \n\n# comment\nclip_c,\n', 'labels.csv');
  assert.deepEqual([...csv.entries()], [['clip_a', ['Drama', 'Romance']], ['clip b', ['Horror']], ['clip_c', []]]);
  const json = parseLabelFile('{"clip_a": ["Drama"], "clip_b": []}', 'labels.json');
  assert.deepEqual([...json.entries()], [['clip_a', ['Drama']], ['clip_b', []]]);
  assert.throws(() => parseLabelFile('id,genres\nclip_a Drama\n', 'labels.csv'), (e: unknown) => e instanceof UserError && e.message.startsWith('labels.csv:2:'));
  assert.throws(() => parseLabelFile('a,Drama\na,Comedy\n', 'l.csv'), /listed twice/);
  assert.throws(() => parseLabelFile('{"a": "Drama"}', 'l.json'), UserError);
  assert.throws(() => parseLabelFile('[1]', 'l.json'), UserError);
  assert.throws(() => parseLabelFile('{', 'l.json'), UserError);
});
