import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { UserError } from '../src/errors.js';
import { hashBytes } from '../src/hash.js';
import frames from '../stages/frames.js';
import { demoGenres, demoId, demoIndex, normalQuantile } from '../stages/data/demo-genres.js';
import { drawDemoMovie, renderDemoMovie } from '../stages/data/demo-render.js';
import { writeDemoDataset } from '../stages/data/demo.js';
import { frameListKey, framePath, type FrameList } from '../stages/data/frame-list.js';
import { DEFAULT_GENRES } from '../stages/data/genres.js';
import type { Conf } from '../src/params.js';
import { runSourceKind, TempFolders, testContext } from '../fixtures-lib/stage-ctx.js';

const temps = new TempFolders();
after(() => temps.cleanup());

/** The frames kind's context over a fresh workspace. */
function framesCtx(dataset: Conf) {
  const ws = temps.workspace();
  return { store: ws.store, ctx: testContext(ws, { stage: 'frames', params: { dataset }, declared: ['dataset', 'frames'] }) };
}

test('demo ids and indices round-trip', () => {
  assert.equal(demoId(1), 'tt9000001');
  assert.equal(demoId(200), 'tt9000200');
  assert.equal(demoIndex('tt9000200'), 200);
  assert.equal(demoIndex('tt0120338'), undefined);
  assert.equal(demoIndex('tt9000000'), undefined);
});

test('normalQuantile matches known normal quantiles', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-6);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-9);
  assert.ok(Math.abs(normalQuantile(0.01) + 2.326348) < 1e-6);
});

function genreCounts(n: number, seed: number): Record<string, number> {
  const c: Record<string, number> = Object.fromEntries(DEFAULT_GENRES.map((g) => [g, 0]));
  for (let i = 1; i <= n; i++) for (const g of demoGenres(seed, i)) c[g]!++;
  return c;
}

test('200 demo movies: every genre has >= 3 positives, Animation included, frequencies follow MovieNet', () => {
  for (const seed of [0, 1, 2, 3, 4]) {
    const c = genreCounts(200, seed);
    for (const g of DEFAULT_GENRES) assert.ok(c[g]! >= 3, `seed ${seed}: ${g} has ${c[g]} positives`);
    // MovieNet order of the big genres: Drama first by far, then Thriller/Action/Comedy.
    assert.ok(c['Drama']! > 100 && c['Drama']! < 150, `Drama ${c['Drama']}`);
    for (const g of ['Thriller', 'Action', 'Comedy']) assert.ok(c[g]! > 30 && c[g]! < 90, `${g} ${c[g]}`);
    assert.ok(c['Documentary']! <= 10 && c['Western']! <= 12, 'rare genres stay rare');
  }
});

test('demo genres co-occur plausibly', () => {
  let romance = 0;
  let romanceDrama = 0;
  let drama = 0;
  let action = 0;
  let actionAdventure = 0;
  let adventure = 0;
  const n = 2000;
  for (let i = 1; i <= n; i++) {
    const g = new Set(demoGenres(0, i));
    drama += +g.has('Drama');
    adventure += +g.has('Adventure');
    if (g.has('Romance')) {
      romance++;
      romanceDrama += +g.has('Drama');
    }
    if (g.has('Action')) {
      action++;
      actionAdventure += +g.has('Adventure');
    }
    assert.ok(g.size >= 1, 'every movie has a genre');
  }
  assert.ok(romanceDrama / romance > drama / n + 0.05, 'Drama is likelier with Romance');
  assert.ok(actionAdventure / action > adventure / n + 0.15, 'Adventure is likelier with Action');
});

test('a movie keeps its genres and frames whatever the dataset size (adding movies changes none)', async () => {
  const items10 = await frames.listItems!(framesCtx({ source: 'demo', movies: 10, seed: 3 }).ctx);
  const items12 = await frames.listItems!(framesCtx({ source: 'demo', movies: 12, seed: 3 }).ctx);
  assert.equal(items10.length, 10);
  assert.deepEqual(items12.slice(0, 10), items10);
  assert.deepEqual(items12.map((i) => i.id).slice(-2), ['tt9000011', 'tt9000012']);
});

test('rendered keyframes: 3 per shot, 9 to 39 per movie, 426x240 JPEGs, deterministic', async () => {
  const a = await renderDemoMovie(0, 7);
  assert.ok(a.length >= 9 && a.length <= 39 && a.length % 3 === 0, `${a.length} frames`);
  a.forEach((f, i) => {
    assert.equal(f.shot, Math.floor(i / 3));
    assert.equal(f.img, i % 3);
    assert.equal(f.name, `shot_${String(f.shot).padStart(4, '0')}_img_${f.img}.jpg`);
  });
  const meta = await sharp(a[0]!.jpeg).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.width, 426);
  assert.equal(meta.height, 240);
  const b = await renderDemoMovie(0, 7);
  assert.deepEqual(b.map((f) => hashBytes(f.jpeg)), a.map((f) => hashBytes(f.jpeg)));
  const other = await renderDemoMovie(1, 7);
  assert.notEqual(hashBytes(other[0]!.jpeg), hashBytes(a[0]!.jpeg));
});

// The drawn pixels, before JPEG (whose bytes depend on sharp's version), are pinned: a speed-up of
// the drawing must keep them bit for bit, and a change meant to alter them bumps
// DEMO_GENERATOR_VERSION (stages/data/demo-genres.ts) and this hash. Movies 1-12 hold grid
// shots and stripes with and without a slope: changing any of those paths changes the hash.
test('drawn keyframes are pinned bit for bit (sha256 of the raw RGB of movies 1-12)', () => {
  const h = createHash('sha256');
  let frames = 0;
  for (let i = 1; i <= 12; i++) {
    for (const f of drawDemoMovie(0, i)) {
      h.update(f.rgb);
      frames++;
    }
  }
  assert.equal(frames, 300);
  assert.equal(h.digest('hex'), 'db2de3869421429f3e13bdf770d35d6c8c726719aeff8ea6fb110e72247e5b72');
});

test('keyframes drawn on the pool\'s threads are the bytes of keyframes drawn in this thread', async () => {
  const movies = [3, 7, 11];
  const pooled = await Promise.all(movies.map((i) => renderDemoMovie(0, i)));
  for (const [k, i] of movies.entries()) {
    const here = await renderDemoMovie(0, i, { inThread: true });
    assert.deepEqual(pooled[k]!.map((f) => f.name), here.map((f) => f.name));
    assert.deepEqual(pooled[k]!.map((f) => hashBytes(f.jpeg)), here.map((f) => hashBytes(f.jpeg)));
  }
});

test('frames kind on the demo source writes frames to the store with their list', async () => {
  const { store, ctx } = framesCtx({ source: 'demo', movies: 3, seed: 0 });
  const { items, sink } = await runSourceKind(frames, ctx);
  assert.deepEqual(items.map((i) => i.id), ['tt9000001', 'tt9000002', 'tt9000003']);
  assert.equal(sink.failures.size, 0);
  for (const id of ['tt9000001', 'tt9000002', 'tt9000003']) {
    const out = sink.outputs.get(id)!;
    const list = await store.readJson<FrameList>(out.tree[frameListKey(id)]!);
    assert.equal(list.movie, id);
    assert.equal(list.source, 'demo');
    assert.equal(Object.keys(out.tree).length, list.frames.length + 1);
    for (const f of list.frames) {
      assert.equal(f.path, undefined, 'demo frames live in the store');
      assert.equal(out.tree[`${id}/${f.name}`], f.hash);
      assert.equal(hashBytes(readFileSync(framePath(f, store))), f.hash);
    }
    assert.equal(out.meta?.['frames'], list.frames.length);
  }
  const env = await frames.env!(ctx);
  assert.ok(env['libvips'] !== undefined && env['demo_generator'] !== undefined);
});

test('writeDemoDataset writes MovieNet\'s layout with the same frames and genres', async () => {
  const root = temps.dir();
  const r = await writeDemoDataset(root, { movies: 3, seed: 0 });
  assert.equal(r.movies, 3);
  assert.deepEqual(readdirSync(join(root, '240P')).sort(), ['tt9000001', 'tt9000002', 'tt9000003']);
  assert.deepEqual(readdirSync(join(root, 'meta')).sort(), ['tt9000001.json', 'tt9000002.json', 'tt9000003.json']);
  const meta = JSON.parse(readFileSync(join(root, 'meta', 'tt9000002.json'), 'utf8')) as { imdb_id: string; genres: string[] };
  assert.equal(meta.imdb_id, 'tt9000002');
  assert.deepEqual(meta.genres, demoGenres(0, 2));
  const rendered = await renderDemoMovie(0, 2);
  const files = readdirSync(join(root, '240P', 'tt9000002')).sort();
  assert.deepEqual(files, rendered.map((f) => f.name).sort());
  for (const f of rendered) assert.equal(hashBytes(readFileSync(join(root, '240P', 'tt9000002', f.name))), hashBytes(f.jpeg));
  assert.equal(r.frames, readdirSync(join(root, '240P')).reduce((s, d) => s + readdirSync(join(root, '240P', d)).length, 0));
});

test('bad demo params are user errors', async () => {
  const bad: Conf[] = [{ source: 'demo', movies: 0 }, { source: 'demo', movies: 2.5 }, { source: 'demo', seed: 'x' }, { source: 'imdb' }];
  for (const dataset of bad) {
    await assert.rejects(frames.listItems!(framesCtx(dataset).ctx), UserError);
  }
});
