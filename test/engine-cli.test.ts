// The real CLI as a process, on temp workspaces: its JSON contracts, history commands, the
// workspace lock, kill -9 recovery, verify, gc and reproduce.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqlite } from '../src/db.js';
import { lastJson, PACKAGE_ROOT, Rig } from './helpers/rig.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

/** What a workspace's cache holds: every file under cache/ but the database, and every table's rows. */
function snapshot(rig: Rig): { files: string[]; tables: Record<string, unknown[]> } {
  const files = readdirSync(rig.path('cache'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('state.db'))
    .map((d) => join(d.parentPath, d.name).slice(rig.path('cache').length))
    .sort();
  const db = openSqlite(rig.path('cache/state.db'), { timeoutMs: 5000, fileMustExist: true });
  try {
    const tables: Record<string, unknown[]> = {};
    for (const t of ['dir_state', 'results', 'stage_state', 'runs', 'quarantine']) tables[t] = db.prepare(`SELECT * FROM ${t} ORDER BY 1`).all();
    return { files, tables };
  } finally {
    db.close();
  }
}

function cmdWorkspace(extra: Record<string, string> = {}): Rig {
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
    ...extra,
  });
  rigs.push(rig);
  return rig;
}

interface RunJson {
  run: string;
  ok: boolean;
  stages: Array<{ name: string; state: string; seconds: number; items?: Record<string, number> }>;
}

describe('CLI', () => {
  it('run --json ends with one JSON object; status --json says what is stale and why', async () => {
    const rig = cmdWorkspace();
    const r1 = await rig.cli(['run', '--json']);
    assert.equal(r1.code, 0, r1.stderr);
    const j1 = lastJson<RunJson>(r1.stdout);
    assert.equal(r1.stdout.trim().split('\n').length, 1, 'nothing but the JSON on stdout');
    assert.match(j1.run, /^[0-9a-f]{16}$/);
    assert.deepEqual(j1.stages.map((s) => [s.name, s.state]), [['count', 'ran'], ['report', 'ran']]);
    assert.match(rig.read('out/report.txt').trim(), /^count=11 scale=\s*scale: 1$/);

    const s1 = await rig.cli(['status', '--json']);
    assert.deepEqual(JSON.parse(s1.stdout), {
      stages: [
        { name: 'count', state: 'fresh', reasons: [], details: [] },
        { name: 'report', state: 'fresh', reasons: [], details: [] },
      ],
    });
    writeFileSync(rig.path('data/c.txt'), 'gamma\n');
    const s2 = await rig.cli(['status', '--json', '-p', 'report.scale=2']);
    assert.deepEqual(JSON.parse(s2.stdout), {
      stages: [
        // the text for people, and the same reasons as data
        { name: 'count', state: 'stale', reasons: ['input data changed'], details: [{ type: 'input', name: 'data', change: 'changed' }] },
        { name: 'report', state: 'stale', reasons: ['upstream count is stale'], details: [{ type: 'upstream-stale', stage: 'count' }] },
      ],
    });
    const human = await rig.cli(['status']);
    assert.match(human.stdout, /count +stale\n +- input data changed\n/);
    assert.match(human.stdout, /2 stages stale/);

    const r2 = await rig.cli(['run', '--json']);
    assert.deepEqual(lastJson<RunJson>(r2.stdout).stages.map((s) => s.state), ['ran', 'ran']);
    const r3 = await rig.cli(['run', '--json']);
    const j3 = lastJson<RunJson>(r3.stdout);
    assert.deepEqual(j3.stages.map((s) => s.state), ['cached', 'cached']);
    assert.equal(j3.run, lastJson<RunJson>(r2.stdout).run, 'nothing changed: same run id');
    const dry = await rig.cli(['run', '--dry-run', '--json', '-p', 'report.scale=3']);
    const dryStages = lastJson<RunJson & { stages: Array<{ reasons?: string[]; details?: unknown[] }> }>(dry.stdout).stages;
    assert.deepEqual(dryStages.map((s) => s.state), ['cached', 'would-run']);
    assert.deepEqual(dryStages[1]!.reasons, ['param report.scale: 1 -> 3']);
    assert.deepEqual(dryStages[1]!.details, [{ type: 'param', key: 'report.scale', from: 1, to: 3 }]);
    assert.equal(rig.read('out/report.txt').includes('scale: 1'), true, 'a dry run changes nothing');
  });

  it('status writes nothing: not the store, not the state database, not even file hashes', async () => {
    const rig = cmdWorkspace();
    assert.equal((await rig.cli(['status'])).code, 0);
    assert.equal(existsSync(rig.path('cache')), false, 'status on a new workspace creates no cache');
    assert.equal((await rig.cli(['run', '--json'])).code, 0);
    // Changed inputs make status hash files and build new manifests: none of it may be kept.
    writeFileSync(rig.path('data/c.txt'), 'gamma\n');
    writeFileSync(rig.path('data/a.txt'), 'alpha, changed\n');
    // Old enough for the file-state cache to keep their hashes (younger files are never kept).
    const past = new Date(Date.now() - 60_000);
    for (const f of ['data/a.txt', 'data/c.txt']) utimesSync(rig.path(f), past, past);
    const before = snapshot(rig);
    for (const args of [['status'], ['status', '--json'], ['run', '--dry-run', '--json']]) {
      assert.equal((await rig.cli(args)).code, 0, args.join(' '));
      assert.deepEqual(snapshot(rig), before, `${args.join(' ')} changed the cache`);
    }
  });

  it('runs lists changed params and headlines; show, checkout and prefixes work like git', async () => {
    const rig = cmdWorkspace();
    const a = lastJson<RunJson>((await rig.cli(['run', '--json'])).stdout).run;
    const b = lastJson<RunJson>((await rig.cli(['run', '--json', '-p', 'report.scale=5'])).stdout).run;
    const runs = JSON.parse((await rig.cli(['runs', '--json'])).stdout) as { runs: Array<{ id: string; changed: string[]; ran: string[] }> };
    assert.deepEqual(runs.runs.map((r) => r.id), [a, b]);
    assert.deepEqual(runs.runs[1]!.changed, ['report.scale: 1 -> 5']);
    assert.deepEqual(runs.runs[1]!.ran, ['report']);

    const show = await rig.cli(['show', b.slice(0, 6)]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`^run ${b}`));
    assert.match(show.stdout, /report\.scale = 5/);

    const co = await rig.cli(['checkout', a.slice(0, 8), '--to', 'snap']);
    assert.equal(co.code, 0, co.stderr);
    assert.match(rig.read('snap/report/out/report.txt'), /scale: 1/);
    assert.match(rig.read('snap/params.yaml'), new RegExp(`run ${a}[\\s\\S]*scale: 1`));

    const bad = await rig.cli(['show', 'zz']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'zz' is not a run id/);
    const none = await rig.cli(['show', 'ffffffffffffffff']);
    assert.match(none.stderr, /no run matches 'ffffffffffffffff'/);

    const dag = await rig.cli(['dag', '--mermaid']);
    assert.match(dag.stdout, /^flowchart LR\n/);
    assert.match(dag.stdout, /count --> report/);
  });

  it('a second run waits for the first, or fails at once with --no-wait; kill -9 frees the lock', async () => {
    const rig = cmdWorkspace();
    rig.write({
      'pipeline.yaml': 'stages:\n  slow:\n    cmd: sleep 3 && mkdir -p out && echo done > out/slow.txt\n    outs: [out/slow.txt]\n',
    });
    const first = rig.spawn(['run']);
    const pidFile = rig.path('cache/run.lock.pid');
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await sleep(100);
    assert.ok(existsSync(pidFile), 'the first run took the lock');

    const noWait = await rig.cli(['run', '--no-wait']);
    assert.equal(noWait.code, 1);
    assert.match(noWait.stderr, /another pipeline run holds this workspace \(pid \d+/);

    const waiting = await rig.cli(['run', '--json']);
    assert.equal(waiting.code, 0, waiting.stderr);
    assert.match(waiting.stderr, /waiting for another pipeline run to finish/);
    assert.deepEqual(lastJson<RunJson>(waiting.stdout).stages.map((s) => s.state), ['cached'], 'it found the first run\'s result');
    await first.closed;

    const victim = rig.spawn(['run', '--force']);
    for (let i = 0; i < 100; i++) {
      if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').includes(String(victim.pid))) break;
      await sleep(50);
    }
    victim.kill('SIGKILL');
    await victim.closed;
    const after = await rig.cli(['run', '--no-wait', '--json']);
    assert.equal(after.code, 0, `the lock of a killed run frees itself: ${after.stderr}`);
  });

  it('verify quarantines a corrupt object; the next run recomputes it; gc says what it freed', async () => {
    const rig = cmdWorkspace();
    const j = lastJson<{ run: string }>((await rig.cli(['run', '--json'])).stdout);
    const show = JSON.parse((await rig.cli(['show', j.run, '--json'])).stdout) as {
      record: { stages: Record<string, { output: { tree: Record<string, string> } }> };
    };
    const h = show.record.stages.report!.output.tree['out/report.txt']!;
    const obj = rig.path(join('cache/objects', h.slice(0, 2), h.slice(2)));
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'tampered');
    const v = await rig.cli(['verify', '--json']);
    assert.equal(v.code, 1);
    assert.deepEqual(JSON.parse(v.stdout).corrupt, [h]);
    const st = JSON.parse((await rig.cli(['status', '--json'])).stdout) as { stages: Array<{ name: string; reasons: string[] }> };
    assert.deepEqual(st.stages[1], { name: 'report', state: 'stale', reasons: ['cached result missing or quarantined'], details: [{ type: 'missing' }] });
    const r = lastJson<RunJson>((await rig.cli(['run', '--json'])).stdout);
    assert.deepEqual(r.stages.map((s) => s.state), ['cached', 'ran']);
    assert.equal((await rig.cli(['verify'])).code, 0);

    await rig.cli(['run', '-p', 'report.scale=7']);
    const gc = await rig.cli(['gc', '--keep-last', '1', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    const g = JSON.parse(gc.stdout) as { removed: number; freed: number; kept: { runs: number } };
    assert.ok(g.removed > 0 && g.freed > 0, JSON.stringify(g));
    assert.equal(g.kept.runs, 1);
    const human = await rig.cli(['gc']);
    assert.match(human.stdout, /^removed 0 objects, freed 0 B; kept \d+ objects/);
  });

  it('reproduce re-executes a run from its record and compares every output hash', async () => {
    const rig = cmdWorkspace();
    const a = lastJson<RunJson>((await rig.cli(['run', '--json', '-p', 'report.scale=4'])).stdout).run;
    await rig.cli(['run']); // today's conf differs from the run's
    const same = await rig.cli(['reproduce', a, '--no-cache', '--json']);
    assert.equal(same.code, 0, same.stderr);
    assert.deepEqual(lastJson(same.stdout), { run: a, identical: true, mismatches: [] });

    writeFileSync(rig.path('data/a.txt'), 'changed\n');
    const changed = await rig.cli(['reproduce', a]);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /cannot reproduce run [0-9a-f]{16}: its inputs changed since\n {2}stage count: input data changed/);

    const nd = cmdWorkspace({
      'pipeline.yaml': 'stages:\n  clock:\n    cmd: mkdir -p out && date +%s%N > out/now.txt\n    outs: [out/now.txt]\n',
    });
    const id = lastJson<RunJson>((await nd.cli(['run', '--json'])).stdout).run;
    const diff = await nd.cli(['reproduce', id, '--no-cache', '--json']);
    assert.equal(diff.code, 1);
    const dj = lastJson<{ identical: boolean; mismatches: Array<{ stage: string; path: string }> }>(diff.stdout);
    assert.equal(dj.identical, false);
    assert.deepEqual(dj.mismatches.map((m) => [m.stage, m.path]), [['clock', 'out/now.txt']]);
  });

  it('kill -9 in the middle of a per-item stage: the rerun reuses finished items and equals an uninterrupted run', async () => {
    const conf = readFileSync(join(PACKAGE_ROOT, 'conf/default.yaml'), 'utf8');
    const spec = 'stages:\n  frames:\n    uses: frames\n    params: [dataset, frames]\n';
    const make = (): Rig => {
      const r = Rig.create({ 'pipeline.yaml': spec, 'conf/default.yaml': conf });
      rigs.push(r);
      return r;
    };
    const args = ['run', '--json', '-j', '1', '-p', 'dataset.movies=40'];
    const clean = make();
    const expected = lastJson<RunJson>((await clean.cli(args)).stdout);
    assert.equal(expected.ok, true);

    const rig = make();
    const child = rig.spawn(args.filter((a) => a !== '--json'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Kill once some items are done (results are committed at least every 200 ms).
    for (let i = 0; i < 300 && !/frames: \d+ of 40 items/.test(out); i++) await sleep(20);
    await sleep(1200);
    child.kill('SIGKILL');
    await child.closed;

    const again = await rig.cli(args);
    assert.equal(again.code, 0, again.stderr);
    const j = lastJson<RunJson>(again.stdout);
    const items = j.stages[0]!.items!;
    assert.ok(items.cached! > 0, `finished items were reused (${JSON.stringify(items)})`);
    assert.ok(items.ran! < 40, 'and not recomputed');
    assert.equal(j.run, expected.run, 'the result equals an uninterrupted run');
    assert.equal((await rig.cli(['verify'])).code, 0, 'nothing half-written in the store');
  });

  it('Ctrl-C stops cleanly with exit code 130; the next run continues from the finished items', async () => {
    const conf = readFileSync(join(PACKAGE_ROOT, 'conf/default.yaml'), 'utf8');
    const rig = Rig.create({ 'pipeline.yaml': 'stages:\n  frames:\n    uses: frames\n    params: [dataset, frames]\n', 'conf/default.yaml': conf });
    rigs.push(rig);
    const args = ['run', '-j', '1', '-p', 'dataset.movies=40'];
    const child = rig.spawn(args);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    for (let i = 0; i < 300 && !/frames: \d+ of 40 items/.test(out); i++) await sleep(20);
    await sleep(800);
    child.kill('SIGINT');
    assert.equal(await child.closed, 130);
    assert.match(err, /stopping: finishing the items in flight/);
    assert.match(out, /interrupted: finished items are cached; run again to continue/);
    const again = await rig.cli([...args, '--json']);
    const items = lastJson<RunJson>(again.stdout).stages[0]!.items!;
    assert.ok(items.cached! > 0 && items.ran! < 40, JSON.stringify(items));
  });

  it('every command has --help', async () => {
    const { buildProgram } = await import('../src/cli.js');
    const names = buildProgram().commands.map((c) => c.name());
    assert.deepEqual(names, ['run', 'status', 'runs', 'show', 'dag', 'checkout', 'reproduce', 'verify', 'gc', 'metrics', 'params', 'plots', 'evaluate', 'demo', 'ui', 'push', 'pull', 'worker']);
    const rig = cmdWorkspace();
    for (const args of [...names.map((n) => [n, '--help']), ['metrics', 'diff', '--help'], ['params', 'diff', '--help'], ['plots', 'diff', '--help'], ['--help']]) {
      const r = await rig.cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: pipeline/, args.join(' '));
    }
  });
});
