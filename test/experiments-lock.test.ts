// pipeline.lock through the real CLI on a small cmd pipeline: written after each successful
// run, deterministic and free of timings; a param change changes exactly the stages that
// reran; with cache/ deleted, `reproduce --lock` recomputes every stage to the lock's roots;
// `checkout --lock` restores its outputs. And a killed sweep continues where it stopped.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { Rig, lastJson } from './helpers/rig.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

function workspace(): Rig {
  const rig = Rig.create({
    'pipeline.yaml': [
      'stages:',
      '  count:',
      '    cmd: mkdir -p out && cat data/*.txt | wc -c > out/count.txt',
      '    deps: [data]',
      '    outs: [out/count.txt]',
      '  report:',
      '    cmd: mkdir -p out && echo "count=$(cat out/count.txt) scale=$(grep scale $PIPELINE_PARAMS)" > out/report.txt',
      '    deps: [count]',
      '    params: [report]',
      '    outs: [out/report.txt]',
      '',
    ].join('\n'),
    'conf/default.yaml': 'report:\n  scale: 1\n',
    'data/a.txt': 'alpha\n',
    'data/b.txt': 'beta\n',
  });
  rigs.push(rig);
  return rig;
}

interface Lock {
  format: number;
  params: Record<string, unknown>;
  stages: Record<string, { fingerprint: string; output: { root: string; files?: Record<string, string> }; params: Record<string, unknown> }>;
}

/** Every map's keys in sorted order, at every level. */
function keysSorted(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) return v.every(keysSorted);
  const keys = Object.keys(v);
  return keys.every((k, i) => i === 0 || keys[i - 1]! < k) && Object.values(v).every(keysSorted);
}

describe('pipeline.lock', () => {
  it('round trip: deterministic, names what reruns, reproduces with cache/ deleted, checks out', async () => {
    const rig = workspace();
    const r1 = await rig.cli(['run', '--json']);
    assert.equal(r1.code, 0, r1.stderr);
    const text1 = rig.read('pipeline.lock');
    const lock1 = parse(text1) as Lock;
    assert.ok(keysSorted(lock1), 'keys sorted');
    assert.doesNotMatch(text1, /seconds|time|run:/, 'no timings, no run id');
    assert.deepEqual(Object.keys(lock1.stages), ['count', 'report']);
    assert.deepEqual(lock1.stages.report!.params, { 'report.scale': 1 });

    // Recomputing the same results writes the same bytes.
    const forced = await rig.cli(['run', '--force', '--json']);
    assert.deepEqual(lastJson<{ stages: Array<{ state: string }> }>(forced.stdout).stages.map((s) => s.state), ['ran', 'ran']);
    assert.equal(rig.read('pipeline.lock'), text1);

    // A param change: the lock changes in exactly the stages that reran.
    const r2 = await rig.cli(['run', '--json', '-p', 'report.scale=2']);
    const ran = lastJson<{ stages: Array<{ name: string; state: string }> }>(r2.stdout).stages.filter((s) => s.state === 'ran').map((s) => s.name);
    const lock2 = parse(rig.read('pipeline.lock')) as Lock;
    const changed = Object.keys(lock2.stages).filter((n) => JSON.stringify(lock2.stages[n]) !== JSON.stringify(lock1.stages[n]));
    assert.deepEqual(changed, ['report']);
    assert.deepEqual(changed, ran);

    // cache/ deleted: reproduce --lock recomputes every stage and ends with the lock's roots.
    rmSync(rig.path('cache'), { recursive: true, force: true });
    rmSync(rig.path('out'), { recursive: true, force: true });
    const rep = await rig.cli(['reproduce', '--lock', '--json']);
    assert.equal(rep.code, 0, rep.stderr + rep.stdout);
    const rj = lastJson<{ identical: boolean; ran: string[]; stages: Array<{ stage: string; expected: string; actual: string }> }>(rep.stdout);
    assert.equal(rj.identical, true);
    assert.deepEqual(rj.ran, ['count', 'report'], 'everything reran: nothing was cached');
    assert.deepEqual(rj.stages.map((s) => s.actual), [lock2.stages.count!.output.root, lock2.stages.report!.output.root]);

    const co = await rig.cli(['checkout', '--lock', '--to', 'snap', '--json']);
    assert.equal(co.code, 0, co.stderr);
    assert.match(rig.read('snap/report/out/report.txt'), /count=11 scale=\s*scale: 2/);
    assert.match(rig.read('snap/params.yaml'), /scale: 2/);

    // A lock that does not match the workspace any more: reproduce says which stage differs and why.
    writeFileSync(rig.path('data/c.txt'), 'gamma\n');
    const stale = await rig.cli(['reproduce', '--lock']);
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /count: ran, root \S+ != lock/);
    assert.match(stale.stdout, /input data changed/);
    assert.match(stale.stdout, /NOT reproduced/);

    writeFileSync(rig.path('bad.lock'), 'format: 1\nparams: {}\nstages:\n  x: {deps: []}\n');
    const bad = await rig.cli(['reproduce', '--lock', 'bad.lock']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.lock: stage x: needs 'kind' or 'cmd'/);
    const none = await rig.cli(['checkout', '--lock', 'missing.lock']);
    assert.match(none.stderr, /no lock file at missing\.lock/);
  });

  it('a sweep killed with kill -9 continues where it stopped', async () => {
    const rig = workspace();
    rig.write({
      'pipeline.yaml': 'stages:\n  slow:\n    cmd: sleep 1 && mkdir -p out && grep scale $PIPELINE_PARAMS > out/slow.txt\n    params: [report]\n    outs: [out/slow.txt]\n',
    });
    const args = ['run', '-S', 'report.scale=1,2,3,4', '--json'];
    const victim = rig.spawn(args);
    // Kill it once the first combination is recorded as finished.
    const done = (): number => {
      try {
        const f = readdirSync(rig.path('cache/sweeps')).find((n) => n.endsWith('.json'));
        return f ? Object.keys((JSON.parse(readFileSync(rig.path(`cache/sweeps/${f}`), 'utf8')) as { done: object }).done).length : 0;
      } catch {
        return 0;
      }
    };
    for (let i = 0; i < 300 && done() < 1; i++) await sleep(50);
    assert.ok(done() >= 1, 'the first combination finished');
    victim.kill('SIGKILL');
    await victim.closed;
    const finished = done();
    assert.ok(finished < 4, 'killed before the end');

    const r = await rig.cli(args);
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson<{ ok: boolean; runs: Array<{ params: Record<string, number>; resumed?: boolean }> }>(r.stdout);
    assert.equal(j.ok, true);
    assert.deepEqual(j.runs.map((x) => x.params['report.scale']), [1, 2, 3, 4]);
    assert.deepEqual(j.runs.map((x) => x.resumed === true), [0, 1, 2, 3].map((i) => i < finished), 'finished combinations skipped, the rest run');
    assert.ok(existsSync(rig.path('pipeline.lock')));
  });
});
