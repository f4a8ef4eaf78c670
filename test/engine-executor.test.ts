// The executor on a bare graph with small kinds of the test's own, on the real file system,
// store and database: per-item incrementality, error policy, what status says.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Engine } from '../src/engine/index.js';
import { reasonText } from '../src/ui/reasons.js';
import { finalLines } from '../src/ui/summary.js';
import { registerKind } from '../src/registry.js';
import { ItemError } from '../src/errors.js';
import type { EngineEvent } from '../src/events.js';
import { Params } from '../src/params.js';
import type { Project, StageSpec } from '../src/spec.js';
import { runEach, type MapKind, type ReduceKind, type StageKind } from '../src/stage-api.js';
import { compareRecords } from '../src/commands/reproduce.js';
import { LocalStore } from '../src/store.js';
import { Rig } from './helpers/rig.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

interface Counters {
  src: string[];
  upper: string[];
  concat: number;
}

function kinds(counters: Counters, version = 1): Record<string, StageKind> {
  const src: MapKind = {
    name: 'src',
    type: 'map',
    version,
    summary: 'one item per file of data/',
    async listItems(ctx) {
      const dir = join(ctx.workspace, 'data');
      const names = readdirSync(dir).sort();
      const hashes = await ctx.hashFiles(names.map((n) => join(dir, n)));
      return names.map((n, i) => ({ id: n.replace(/\.txt$/, ''), source: { file: n, hash: hashes[i]!.hash } }));
    },
    async run(ctx, tasks, sink) {
      await runEach(ctx, tasks, sink, async (t) => {
        counters.src.push(t.id);
        const file = (t.source as { file: string }).file;
        const text = readFileSync(join(ctx.workspace, 'data', file), 'utf8');
        if (text.includes('BAD')) throw new ItemError(t.id, 'contains BAD', { file, hint: 'remove the word BAD' });
        const h = await ctx.store.put(text.trim());
        return { tree: { [`${t.id}.txt`]: h }, meta: { chars: text.length } };
      });
    },
  };
  const upper: MapKind = {
    name: 'upper',
    type: 'map',
    version: 1,
    summary: 'upper-cases each item',
    async run(ctx, tasks, sink) {
      await runEach(ctx, tasks, sink, async (t) => {
        counters.upper.push(t.id);
        const h = t.upstream!.tree[`${t.id}.txt`]!;
        const text = (await ctx.store.read(h)).toString();
        const suffix = ctx.param<string>('upper.suffix');
        return { tree: { [`${t.id}.txt`]: await ctx.store.put(text.toUpperCase() + suffix) } };
      });
    },
  };
  const concat: ReduceKind = {
    name: 'concat',
    type: 'reduce',
    version: 1,
    summary: 'joins every item',
    async run(ctx) {
      counters.concat++;
      const art = ctx.inputs.upper!;
      assert.equal(art.type, 'collection');
      const parts: string[] = [];
      for (const [id, out] of art.type === 'collection' ? art.items : []) parts.push(`${id}=${(await ctx.store.read(out.tree[`${id}.txt`]!)).toString()}`);
      const sep = ctx.param<string>('concat.sep');
      const stamp = await ctx.store.put(`finished at ${process.hrtime.bigint()}`);
      return {
        tree: { 'all.txt': await ctx.store.put(parts.join(sep)), 'log/stamp.txt': stamp },
        headline: { name: 'items', value: parts.length },
        volatile: ['log/'],
      };
    },
  };
  return { src, upper, concat };
}

function project(rig: Rig, conf: Record<string, Record<string, unknown>>, onError: 'fail' | 'skip' = 'fail'): Project {
  const stage = (name: string, deps: string[], params: string[]): StageSpec => ({
    name,
    stageDeps: deps,
    ports: {},
    pathDeps: [],
    params,
    outs: [join('outputs', name)],
    onError,
  });
  const stages = new Map<string, StageSpec>([
    ['src', stage('src', [], [])],
    ['upper', stage('upper', ['src'], ['upper'])],
    ['concat', stage('concat', ['upper'], ['concat'])],
  ]);
  return {
    root: rig.dir,
    specFile: rig.path('pipeline.yaml'),
    confFile: rig.path('conf/default.yaml'),
    params: new Params(conf as never),
    stages,
    order: ['src', 'upper', 'concat'],
  };
}

function setup(files: Record<string, string>): { rig: Rig; counters: Counters } {
  const rig = Rig.create(Object.fromEntries(Object.entries(files).map(([k, v]) => [`data/${k}`, v])));
  rigs.push(rig);
  return { rig, counters: { src: [], upper: [], concat: 0 } };
}

async function run(rig: Rig, counters: Counters, opts: { conf?: Record<string, Record<string, unknown>>; onError?: 'fail' | 'skip'; force?: boolean; version?: number } = {}) {
  counters.src = [];
  counters.upper = [];
  counters.concat = 0;
  const k = kinds(counters, opts.version);
  const events: EngineEvent[] = [];
  const engine = new Engine(project(rig, opts.conf ?? { upper: { suffix: '!' }, concat: { sep: ',' } }, opts.onError), {
    resolveKind: (spec) => Promise.resolve(k[spec.name]!),
    listener: (e) => events.push(e),
    jobs: 2,
  });
  try {
    const result = await engine.run({ force: opts.force ?? false });
    return { result, events };
  } finally {
    engine.close();
  }
}

async function status(rig: Rig, conf?: Record<string, Record<string, unknown>>, version?: number) {
  const k = kinds({ src: [], upper: [], concat: 0 }, version);
  const engine = new Engine(project(rig, conf ?? { upper: { suffix: '!' }, concat: { sep: ',' } }), {
    resolveKind: (spec) => Promise.resolve(k[spec.name]!),
  });
  try {
    return (await engine.status()).stages.map((st) => ({ ...st, reasons: reasonText(st.reasons) }));
  } finally {
    engine.close();
  }
}

describe('executor', () => {
  it('reruns only what a change touches, down to the single item', async () => {
    const { rig, counters } = setup({ 'a.txt': 'alpha', 'b.txt': 'beta', 'c.txt': 'gamma' });
    const first = await run(rig, counters);
    assert.equal(first.result.ok, true);
    assert.deepEqual(counters.src.sort(), ['a', 'b', 'c']);
    assert.equal(readFileSync(rig.path('outputs/concat/all.txt'), 'utf8'), 'a=ALPHA!,b=BETA!,c=GAMMA!');
    assert.equal(readFileSync(rig.path('outputs/upper/b.txt'), 'utf8'), 'BETA!');

    const again = await run(rig, counters);
    assert.deepEqual([counters.src, counters.upper, counters.concat], [[], [], 0]);
    assert.deepEqual(again.result.stages.map((s) => s.state), ['cached', 'cached', 'cached']);
    assert.equal(again.result.run, first.result.run, 'the same results give the same run id');

    writeFileSync(rig.path('data/d.txt'), 'delta');
    assert.deepEqual(
      (await status(rig)).map((s) => [s.name, s.state, s.reasons]),
      [
        ['src', 'stale', ['1 item added']],
        ['upper', 'stale', ['1 item added', '1 item waits on upstream src']],
        ['concat', 'stale', ['upstream upper is stale']],
      ],
    );
    const added = await run(rig, counters);
    assert.deepEqual([counters.src, counters.upper, counters.concat], [['d'], ['d'], 1]);
    assert.deepEqual(added.result.stages[0]!.items, { total: 4, ran: 1, cached: 3, failed: 0 });

    writeFileSync(rig.path('data/b.txt'), 'BETA2');
    await run(rig, counters);
    assert.deepEqual([counters.src, counters.upper, counters.concat], [['b'], ['b'], 1]);

    rmSync(rig.path('data/a.txt'));
    await run(rig, counters);
    assert.deepEqual([counters.src, counters.upper, counters.concat], [[], [], 1]);
    assert.equal(readFileSync(rig.path('outputs/concat/all.txt'), 'utf8'), 'b=BETA2!,c=GAMMA!,d=DELTA!');
    assert.equal(existsSync(rig.path('outputs/upper/a.txt')), false, 'the removed item leaves outputs/');
  });

  it('a param reaches only the stages that declare it, and goes back to cached results', async () => {
    const { rig, counters } = setup({ 'a.txt': 'alpha', 'b.txt': 'beta' });
    await run(rig, counters);
    const conf2 = { upper: { suffix: '!' }, concat: { sep: ';' } };
    assert.deepEqual(
      (await status(rig, conf2)).map((s) => [s.name, s.state, s.reasons]),
      [
        ['src', 'fresh', []],
        ['upper', 'fresh', []],
        ['concat', 'stale', ['param concat.sep: "," -> ";"']],
      ],
    );
    await run(rig, counters, { conf: conf2 });
    assert.deepEqual([counters.src, counters.upper, counters.concat], [[], [], 1]);
    const conf3 = { upper: { suffix: '?' }, concat: { sep: ';' } };
    await run(rig, counters, { conf: conf3 });
    assert.deepEqual([counters.src, counters.upper.sort(), counters.concat], [[], ['a', 'b'], 1]);
    // Back to the first values: everything comes from the cache.
    await run(rig, counters);
    assert.deepEqual([counters.src, counters.upper, counters.concat], [[], [], 0]);
  });

  it('says "stage code changed" when a kind bumps its version', async () => {
    const { rig, counters } = setup({ 'a.txt': 'alpha' });
    await run(rig, counters);
    const st = await status(rig, undefined, 2);
    assert.deepEqual(st[0], { name: 'src', state: 'stale', reasons: ['stage code changed'], items: { total: 1, stale: 1 } });
  });

  it('on_error: skip leaves a bad item out, lists it, and remembers the failure until its input changes', async () => {
    const { rig, counters } = setup({ 'a.txt': 'alpha', 'b.txt': 'BAD', 'c.txt': 'gamma' });
    const r1 = await run(rig, counters, { onError: 'skip' });
    assert.equal(r1.result.ok, true);
    assert.deepEqual(r1.result.stages[0]!.failures, [{ item: 'b', file: 'b.txt', message: 'contains BAD', hint: 'remove the word BAD' }]);
    assert.deepEqual(r1.result.stages[0]!.items, { total: 3, ran: 2, cached: 0, failed: 1 });
    assert.equal(readFileSync(rig.path('outputs/concat/all.txt'), 'utf8'), 'a=ALPHA!,c=GAMMA!');
    assert.deepEqual(r1.result.record?.stages.src?.failures?.map((f) => f.item), ['b']);

    const r2 = await run(rig, counters, { onError: 'skip' });
    assert.deepEqual(counters.src, [], 'a remembered failure is not retried');
    assert.deepEqual(r2.result.stages[0]!.items, { total: 3, ran: 0, cached: 2, failed: 1 });
    assert.equal(r2.result.stages[0]!.failures?.length, 1, 'and is still listed');

    await run(rig, counters, { onError: 'skip', force: true });
    assert.deepEqual(counters.src.sort(), ['a', 'b', 'c'], '--force retries it');

    writeFileSync(rig.path('data/b.txt'), 'fine');
    await run(rig, counters, { onError: 'skip' });
    assert.deepEqual(counters.src, ['b']);
    assert.equal(readFileSync(rig.path('outputs/concat/all.txt'), 'utf8'), 'a=ALPHA!,b=FINE!,c=GAMMA!');
  });

  it('on_error: fail stops with the item message and loses nothing already computed', async () => {
    const { rig, counters } = setup({ 'a.txt': 'alpha', 'b.txt': 'BAD', 'c.txt': 'gamma' });
    const r1 = await run(rig, counters, { onError: 'fail' });
    assert.equal(r1.result.ok, false);
    assert.equal(r1.result.stages[0]!.state, 'failed');
    assert.equal(r1.result.stages[0]!.error, 'item b: b.txt: contains BAD (remove the word BAD)');
    assert.deepEqual(r1.result.stages.slice(1).map((s) => s.state), ['skipped', 'skipped']);
    const done = counters.src.filter((id) => id !== 'b');

    writeFileSync(rig.path('data/b.txt'), 'fine');
    await run(rig, counters, { onError: 'fail' });
    for (const id of done) assert.ok(!counters.src.includes(id), `${id} was computed before the failure and is reused`);
    assert.ok(counters.src.includes('b'));
  });

  it('volatile files (timings) are kept but are not part of the artifact, and reproduce lists them apart', async () => {
    const { rig, counters } = setup({ 'a.txt': 'alpha' });
    const r1 = await run(rig, counters);
    const r2 = await run(rig, counters, { force: true });
    const o1 = r1.result.record!.stages.concat!.output!;
    const o2 = r2.result.record!.stages.concat!.output!;
    assert.ok(o1.type === 'tree' && o2.type === 'tree');
    assert.notEqual(o1.tree['log/stamp.txt'], o2.tree['log/stamp.txt']);
    assert.equal(o1.root, o2.root, 'the timing file is not part of the identity');
    assert.ok(existsSync(rig.path('outputs/concat/log/stamp.txt')), 'but it is checked out');
    const timings: string[] = [];
    const store = new LocalStore(rig.path('cache'));
    assert.deepEqual(await compareRecords(store, r1.result.record!, r2.result.record!, timings), []);
    assert.deepEqual(timings, ['concat: log/stamp.txt']);
  });
});

describe('runner', () => {
  it('runs stages whose inputs are ready at the same time; reduce kinds one at a time', async () => {
    const rig = Rig.create({ 'data/a.txt': 'alpha' });
    rigs.push(rig);
    // `waits` (a map stage) finishes only once `opens` (an independent reduce stage) has run:
    // run one after the other in declaration order, they would never end.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const log: string[] = [];
    const waits: MapKind = {
      name: 'waits',
      type: 'map',
      version: 1,
      summary: 'one item, done when the gate opens',
      async listItems() {
        return [{ id: 'x', source: 'x' }];
      },
      async run(ctx, tasks, sink) {
        log.push('waits start');
        await gate;
        for (const t of tasks) await sink.done(t.id, { tree: { 'x.txt': await ctx.store.put('x') } });
        log.push('waits end');
      },
    };
    const reduce = (name: string, then?: () => void): ReduceKind => ({
      name,
      type: 'reduce',
      version: 1,
      summary: name,
      async run(ctx) {
        log.push(`${name} start`);
        await new Promise((r) => setTimeout(r, 20));
        then?.();
        log.push(`${name} end`);
        return { tree: { [`${name}.txt`]: await ctx.store.put(name) } };
      },
    });
    const k: Record<string, StageKind> = { waits, opens: reduce('opens', () => open()), other: reduce('other') };
    const spec = (name: string): StageSpec => ({ name, stageDeps: [], ports: {}, pathDeps: [], params: [], outs: [join('outputs', name)], onError: 'fail' });
    const engine = new Engine(
      { root: rig.dir, specFile: rig.path('pipeline.yaml'), confFile: rig.path('conf/default.yaml'), params: new Params({} as never), stages: new Map(['waits', 'opens', 'other'].map((n) => [n, spec(n)])), order: ['waits', 'opens', 'other'] },
      { resolveKind: (s) => Promise.resolve(k[s.name]!) },
    );
    try {
      const r = await Promise.race([engine.run(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('stages ran one after another: the map stage never ended')), 10_000))]);
      assert.equal(r.ok, true);
      assert.deepEqual(r.stages.map((s) => s.name), ['waits', 'opens', 'other'], 'summaries in declaration order');
    } finally {
      engine.close();
    }
    assert.ok(log.indexOf('opens start') < log.indexOf('waits end'), log.join(', '));
    // The two reduce stages never overlap.
    const [os, oe, ts, te] = ['opens start', 'opens end', 'other start', 'other end'].map((e) => log.indexOf(e)) as [number, number, number, number];
    assert.ok(oe < ts || te < os, `reduce stages overlapped: ${log.join(', ')}`);
  });
});

describe('item noun', () => {
  it("failures are said with the kind's noun (\"movie b: ...\"), whether the stage ran or was cached", async () => {
    registerKind('noun-src', { type: 'map', source: true, itemNoun: 'movie', load: () => Promise.reject(new Error('not loaded: the test supplies the kind')) });
    const rig = Rig.create({ 'data/a.txt': 'alpha', 'data/b.txt': 'BAD' });
    rigs.push(rig);
    const counters: Counters = { src: [], upper: [], concat: 0 };
    const k = kinds(counters);
    const spec: StageSpec = { name: 'src', uses: 'noun-src', stageDeps: [], ports: {}, pathDeps: [], params: [], outs: [join('outputs', 'src')], onError: 'skip' };
    const proj: Project = { root: rig.dir, specFile: rig.path('pipeline.yaml'), confFile: rig.path('conf/default.yaml'), params: new Params({} as never), stages: new Map([['src', spec]]), order: ['src'] };
    for (const state of ['ran', 'cached']) {
      const engine = new Engine(proj, { resolveKind: () => Promise.resolve(k.src!) });
      try {
        const r = await engine.run();
        assert.equal(r.stages[0]!.state, state);
        assert.equal(r.stages[0]!.itemNoun, 'movie');
        assert.ok(finalLines(r).includes('  src: movie b: b.txt: contains BAD (remove the word BAD)'), finalLines(r).join('\n'));
      } finally {
        engine.close();
      }
    }
  });
});
