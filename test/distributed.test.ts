// The distributed executor with real parts: Debian's redis-server on a loopback port of its
// own, a folder remote, and three `pipeline worker` processes. A run through the workers ends
// on the same run (same output roots) as a local run; a worker killed with kill -9 mid-run
// has its job taken over; a bad JPEG fails its item once, named, under both on_error policies;
// Redis trouble is one clear line; a worker refuses a job of another version.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents } from 'bullmq';
import { demoRig, lastJson, Rig } from './helpers/rig.js';
import { startRedis, type RedisServer } from './helpers/servers.js';

const rigs: Rig[] = [];
const TINY = ['-p', 'train.epochs=1', '-p', 'fixlen.length=16'];

function demoWorkspace(): Rig {
  const rig = demoRig();
  rigs.push(rig);
  return rig;
}

interface RunJson {
  run: string;
  ok: boolean;
  stages: Array<{ name: string; state: string; items?: { total: number; ran: number; failed: number }; failures?: Array<{ item: string; file?: string; message: string }>; error?: string }>;
}

interface WorkerProc {
  child: ChildProcess & { closed: Promise<number | null> };
  log: () => string;
}

let redis: RedisServer;
let remote: string;
const workers: WorkerProc[] = [];

function startWorker(): WorkerProc {
  const home = Rig.create();
  rigs.push(home);
  const child = home.spawn(['worker', '--redis', redis.url, '--remote', remote, '--concurrency', '2', '--lock-duration', '3000']);
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const w = { child, log: () => log };
  workers.push(w);
  return w;
}

async function ready(w: WorkerProc): Promise<void> {
  const t0 = Date.now();
  while (!/ready:/.test(w.log())) {
    if (Date.now() - t0 > 30_000 || w.child.exitCode !== null) throw new Error(`worker did not start: ${w.log()}`);
    await sleep(50);
  }
}

before(async () => {
  redis = await startRedis();
  remote = join(demoWorkspace().dir, 'remote');
  const ws = [startWorker(), startWorker(), startWorker()];
  await Promise.all(ws.map(ready));
});

after(async () => {
  for (const w of workers) w.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.child.closed));
  await redis.close();
  rigs.forEach((r) => r.cleanup());
});

const dist = (): string[] => ['--executor', 'bullmq', '--redis', redis.url, '--remote', remote];

/** Each stage's output root in a run (run ids differ where timing files differ; roots do not). */
async function roots(rig: Rig, run: string): Promise<Record<string, string>> {
  const r = await rig.cli(['show', run, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rec = JSON.parse(r.stdout) as { record: { stages: Record<string, { output?: { root: string } }> } };
  return Object.fromEntries(Object.entries(rec.record.stages).map(([k, v]) => [k, v.output?.root ?? '']));
}

/** The same params run locally in a workspace of its own: its output roots. */
async function localRoots(args: string[]): Promise<Record<string, string>> {
  const L = demoWorkspace();
  const r = await L.cli(['run', '--json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return roots(L, lastJson<RunJson>(r.stdout).run);
}

describe('bullmq executor', () => {
  it('items run on the workers and the run ends with the same output roots as a local run', async () => {
    const params = ['-p', 'dataset.movies=8', ...TINY];
    const A = demoWorkspace();
    const r = await A.cli(['run', '--json', ...dist(), ...params]);
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson<RunJson>(r.stdout);
    for (const name of ['frames', 'embed', 'fixlen']) {
      const s = j.stages.find((x) => x.name === name)!;
      assert.equal(s.state, 'ran');
      assert.equal(s.items!.ran, 8);
    }
    const done = workers.map((w) => (w.log().match(/: done/g) ?? []).length);
    // At least once each (a job whose worker stalls past its lock is taken over, and may finish twice: results are write-once).
    assert.ok(done.reduce((a, b) => a + b, 0) >= 24, `24 item jobs done by the workers (${done.join(', ')})`);
    assert.deepEqual(await roots(A, j.run), await localRoots(params));
  });

  it('a worker killed with kill -9 mid-run: its job is taken over and the run still matches a local run', async () => {
    const params = ['-p', 'dataset.movies=24', '-p', 'dataset.seed=5', ...TINY];
    const A = demoWorkspace();
    const victim = workers[0]!;
    const before = (victim.log().match(/: done/g) ?? []).length;
    const coordinator = A.spawn(['run', '--json', ...dist(), ...params]);
    let out = '';
    coordinator.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let sawQueue = false;
    const t0 = Date.now();
    while ((victim.log().match(/: done/g) ?? []).length < before + 3 && Date.now() - t0 < 60_000) {
      if (!sawQueue) {
        const st = await A.cli(['status']);
        sawQueue = /a distributed run is going on .*queued, \d+ running, \d+ done/.test(st.stdout);
      }
      await sleep(20);
    }
    victim.child.kill('SIGKILL');
    await victim.child.closed;
    assert.equal(await coordinator.closed, 0);
    const j = lastJson<RunJson>(out);
    assert.ok(j.ok);
    assert.ok(sawQueue, '`pipeline status` showed the queue counts during the run');
    assert.deepEqual(await roots(A, j.run), await localRoots(params));
    workers.splice(0, 1);
    await ready(startWorker());
  });

  it('a coordinator killed mid-run loses nothing: the jobs finish, and the next run uses their results', async () => {
    const params = ['-p', 'dataset.movies=20', '-p', 'dataset.seed=9', ...TINY];
    const A = demoWorkspace();
    const doneNow = (): number => workers.reduce((n, w) => n + (w.log().match(/frames tt\d+: done/g) ?? []).length, 0);
    const before = doneNow();
    const first = A.spawn(['run', 'fixlen', '--json', ...dist(), ...params]);
    const t0 = Date.now();
    while (doneNow() < before + 3 && Date.now() - t0 < 60_000) await sleep(20);
    first.kill('SIGKILL');
    await first.closed;
    const second = await A.cli(['run', 'fixlen', '--json', ...dist(), ...params]);
    assert.equal(second.code, 0, second.stderr);
    const frames = lastJson<RunJson>(second.stdout).stages.find((s) => s.name === 'frames')!;
    const items = frames.items as { total: number; ran: number; pulled?: number };
    assert.equal(items.total, 20);
    assert.ok((items.pulled ?? 0) >= 3, `the results of the first coordinator's jobs are pulled, not recomputed (${JSON.stringify(items)})`);
  });

  it('--reduce-on-workers: labels, train and metrics run as jobs on a worker that takes them, same roots as local', async () => {
    const home = Rig.create();
    rigs.push(home);
    const child = home.spawn(['worker', '--redis', redis.url, '--remote', remote, '--stages', 'labels,train,metrics']);
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const reducer: WorkerProc = { child, log: () => log };
    workers.push(reducer);
    await ready(reducer);
    const params = ['-p', 'dataset.movies=8', '-p', 'dataset.seed=3', ...TINY];
    const A = demoWorkspace();
    const r = await A.cli(['run', '--json', '--reduce-on-workers', ...dist(), ...params]);
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson<RunJson>(r.stdout);
    for (const name of ['labels', 'train', 'metrics']) {
      assert.equal(j.stages.find((s) => s.name === name)!.state, 'ran');
      assert.match(log, new RegExp(`${name} : done`), `${name} ran on the worker`);
    }
    assert.deepEqual(await roots(A, j.run), await localRoots(params));
  });

  it('a bad JPEG fails its item once, named, under on_error skip and under fail', async () => {
    const A = demoWorkspace();
    const data = A.path('movienet');
    const d = await A.cli(['demo', '--to', data, '-p', 'dataset.movies=4']);
    assert.equal(d.code, 0, d.stderr);
    const bad = join(data, '240P', 'tt9000002', 'shot_0001_img_1.jpg');
    writeFileSync(bad, 'not an image at all');
    const params = ['-p', 'dataset.source=movienet', '-p', `dataset.root=${data}`, ...TINY];
    writeFileSync(A.path('pipeline.yaml'), A.read('pipeline.yaml').replace('    params: [dataset, frames]', '    params: [dataset, frames]\n    on_error: skip'));
    const logBefore = workers.map((w) => w.log()).join('');
    const r = await A.cli(['run', 'fixlen', '--json', ...dist(), ...params]);
    assert.equal(r.code, 0, r.stderr);
    const frames = lastJson<RunJson>(r.stdout).stages.find((s) => s.name === 'frames')!;
    assert.equal(frames.items!.failed, 1);
    assert.equal(frames.failures![0]!.item, 'tt9000002');
    assert.match(frames.failures![0]!.file ?? '', /shot_0001_img_1\.jpg$/);
    const logAfter = workers.map((w) => w.log()).join('');
    const attempts = (logAfter.slice(logBefore.length).match(/frames tt9000002: failed/g) ?? []).length;
    assert.ok((logAfter.match(/frames tt9000002: failed/g) ?? []).length - (logBefore.match(/frames tt9000002: failed/g) ?? []).length === 1 || attempts === 1, 'computed once, not retried');

    writeFileSync(A.path('pipeline.yaml'), A.read('pipeline.yaml').replace('    on_error: skip', '    on_error: fail'));
    const f = await A.cli(['run', 'fixlen', '--json', '--force', ...dist(), ...params]);
    assert.equal(f.code, 1);
    const failed = lastJson<RunJson>(f.stdout).stages.find((s) => s.name === 'frames')!;
    assert.equal(failed.state, 'failed');
    assert.match(failed.error ?? '', /movie tt9000002: .*shot_0001_img_1\.jpg/);
  });

  it('an unreachable Redis or one that evicts keys is one clear line', async () => {
    const A = demoWorkspace();
    const r = await A.cli(['run', 'frames', '-p', 'dataset.movies=2', '--executor', 'bullmq', '--redis', 'redis://127.0.0.1:1', '--remote', remote]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 2, 'the error and its fix');
    assert.match(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    const lru = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
    try {
      const e = await A.cli(['run', 'frames', '-p', 'dataset.movies=2', '--executor', 'bullmq', '--redis', lru.url, '--remote', remote]);
      assert.equal(e.code, 1);
      assert.match(e.stderr, /maxmemory-policy allkeys-lru.*noeviction/);
      assert.match(e.stderr, /CONFIG SET maxmemory-policy noeviction/);
    } finally {
      await lru.close();
    }
  });

  it('a worker refuses a job from another pipeline version, with the reason', { timeout: 120_000 }, async () => {
    const connection = { url: redis.url, maxRetriesPerRequest: null };
    const queue = new Queue('pipeline-fixlen', { connection });
    // Read the queue's event stream from now on: with the default ('$', events after its first
    // read) a job that fails before that read is missed and the test would wait forever.
    const events = new QueueEvents('pipeline-fixlen', { connection, lastEventId: `${Date.now() - 1000}-0` });
    try {
      await events.waitUntilReady();
      const failed = new Promise<string>((resolve) =>
        events.on('failed', ({ jobId, failedReason }) => {
          if (jobId === 'version-check') resolve(failedReason);
        }),
      );
      await queue.add('tt0000001', { format: 1, pipeline: '0.0.1-old', kind: 'fixlen', version: 1, stage: 'fixlen', task: { id: 'tt0000001', input: '0' } }, { jobId: 'version-check', removeOnFail: true });
      assert.match(await failed, /the job comes from pipeline 0\.0\.1-old, this worker runs pipeline .*update this worker/);
    } finally {
      await events.close();
      await queue.close();
    }
  });
});
