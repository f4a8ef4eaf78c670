// The distributed executor and the remote cache, measured (issue figures; docs/PERFORMANCE.md):
//
//   node dist/bench/distributed.js queue    [--items 2000]          local vs 1 vs 4 workers, trivial items: ms/item of overhead
//   node dist/bench/distributed.js scaling  [--ms 50] [--workers 1,4,16] [--items 10000]  efficiency = ideal / measured
//   node dist/bench/distributed.js window   [--items 10000,100000]  Redis peak memory and coordinator peak RSS, 4 workers
//   node dist/bench/distributed.js remote   [--objects 10000]       push/pull objects/s (folder, S3 server) beside cp -r; no-op push
//   node dist/bench/distributed.js embed    [--movies 200]          the demo's frames+embed+fixlen through 2 workers vs local
//
// Real parts: redis-server (Debian), `pipeline worker` processes, a folder remote, s3rver for S3.
// Every figure is a ratio against a baseline measured in the same run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, cpSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { BullMQExecutor } from '../src/distributed/executor.js';
import { Engine } from '../src/engine/index.js';
import { Params } from '../src/params.js';
import { RemoteCache } from '../src/remote/cache.js';
import { openRemote } from '../src/remote/open.js';
import { pull, push, resolveRemoteRuns } from '../src/remote/sync.js';
import type { Project, StageSpec } from '../src/spec.js';
import { SLEEP_KIND } from './kinds/sleep.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const CLI = join(ROOT, 'bin', 'pipeline.js');
const KINDS = join(HERE, 'kinds', 'sleep.js');

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    items: { type: 'string' },
    ms: { type: 'string' },
    workers: { type: 'string' },
    objects: { type: 'string' },
    movies: { type: 'string' },
    // scaling: worker slots per process (16 slots = 4 processes x 4 on a 2-core box).
    'per-process': { type: 'string' },
    remote: { type: 'string' },
    redis: { type: 'string' },
    executor: { type: 'string' },
    workspace: { type: 'string' },
    // Where the bench's workspaces, worker caches and folder remote live (default: the OS temp
    // folder). /dev/shm takes this machine's disk flush latency out of the executor's figures.
    tmp: { type: 'string' },
  },
});
const TMP = values.tmp ?? process.env.BENCH_TMP ?? tmpdir();
// As bin/pipeline.js sets it for the CLI (the in-process push, pull and coordinator here).
process.env.UV_THREADPOOL_SIZE ??= '16';
process.env.BENCH_TMP = TMP;

function box(): string {
  const c = cpus()[0];
  const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  const simd = ['avx512f', 'avx2', 'fma'].filter((f) => flags.split(' ').includes(f)).join(' ');
  return `${c?.model ?? '?'} x${cpus().length} (${simd})`;
}

// ------------------------------------------------------------------ servers and workers

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
}

async function startRedis(): Promise<{ url: string; stop: () => Promise<void>; peak: () => Promise<number> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(TMP, 'bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((r) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept')) r();
    });
  });
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    async peak() {
      const c = new Redis(url);
      const info = await c.info('memory');
      c.disconnect();
      return Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? 0);
    },
    async stop() {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function startWorkers(n: number, redis: string, remote: string, extra: string[] = []): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) => {
      const home = mkdtempSync(join(TMP, `bench-worker${i}-`));
      const child = spawn(process.execPath, [CLI, 'worker', '--redis', redis, '--remote', remote, ...extra], { cwd: home, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
      return new Promise<ChildProcess>((r) => {
        let log = '';
        child.stderr!.on('data', (d: Buffer) => {
          log += d.toString();
          if (log.includes('ready:')) r(child);
        });
      });
    }),
  );
}

async function stopWorkers(ws: ChildProcess[]): Promise<void> {
  for (const w of ws) w.kill('SIGKILL');
  await Promise.all(ws.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
}

// ------------------------------------------------------------------ the coordinator (a child process)

function sleepProject(root: string): Project {
  const spec: StageSpec = { name: 'work', stageDeps: [], ports: {}, pathDeps: [], params: [], outs: [], onError: 'fail' };
  mkdirSync(join(root, 'conf'), { recursive: true });
  writeFileSync(join(root, 'conf', 'default.yaml'), '{}\n');
  writeFileSync(join(root, 'pipeline.yaml'), 'stages: {}\n');
  return { root, specFile: join(root, 'pipeline.yaml'), confFile: join(root, 'conf', 'default.yaml'), params: new Params({}), stages: new Map([['work', spec]]), order: ['work'] };
}

/** Runs the sleep stage once in a fresh workspace; prints {seconds, stage, maxRssMiB}. */
async function coordinator(): Promise<void> {
  const root = values.workspace ?? mkdtempSync(join(TMP, 'bench-coord-'));
  const project = sleepProject(root);
  const remote = values.remote ? new RemoteCache(openRemote(values.remote, root)) : undefined;
  const executor = values.executor === 'bullmq' ? new BullMQExecutor({ redis: values.redis!, remote: remote! }) : undefined;
  const engine = new Engine(project, { resolveKind: () => Promise.resolve(SLEEP_KIND), ...(remote ? { remote } : {}), ...(executor ? { executor } : {}), jobs: Number(values.workers ?? 1) });
  const t0 = performance.now();
  const r = await engine.run({ pull: remote !== undefined });
  const seconds = (performance.now() - t0) / 1000;
  engine.close();
  remote?.close();
  const stage = r.stages[0]!;
  if (!r.ok) throw new Error(`run failed: ${stage.error}`);
  process.stdout.write(`${JSON.stringify({ seconds, stage: stage.seconds, ran: stage.items?.ran, maxRssMiB: process.resourceUsage().maxRSS / 1024, run: r.run })}\n`);
}

interface CoordResult {
  seconds: number;
  stage: number;
  ran: number;
  maxRssMiB: number;
  run: string;
}

function runCoordinator(items: number, ms: number, args: string[]): CoordResult {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), 'coordinator', ...args], {
    env: { ...process.env, BENCH_ITEMS: String(items), BENCH_MS: String(ms) },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`coordinator failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as CoordResult;
  if (j.ran !== items) throw new Error(`coordinator ran ${j.ran} of ${items}`);
  return j;
}

async function distributed(items: number, ms: number, workers: number, concurrency = 1, redisUrl?: string): Promise<CoordResult & { redisPeakMiB: number }> {
  const redis = redisUrl ? undefined : await startRedis();
  const url = redisUrl ?? redis!.url;
  const remote = mkdtempSync(join(TMP, 'bench-remote-'));
  const ws = await startWorkers(workers, url, remote, ['--kinds', KINDS, '--concurrency', String(concurrency)]);
  try {
    const r = runCoordinator(items, ms, ['--executor', 'bullmq', '--redis', url, '--remote', remote]);
    return { ...r, redisPeakMiB: redis ? (await redis.peak()) / 2 ** 20 : 0 };
  } finally {
    await stopWorkers(ws);
    await redis?.stop();
    rmSync(remote, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ benches

/** One small write + fsync in the workspace's file system, the unit that bounds a durable write here. */
function fsyncMs(): number {
  const d = mkdtempSync(join(TMP, 'bench-fsync-'));
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) {
    const fd = openSync(join(d, String(i)), 'w');
    writeSync(fd, `object ${i}`);
    fsyncSync(fd);
    closeSync(fd);
  }
  const ms = (performance.now() - t0) / 50;
  rmSync(d, { recursive: true, force: true });
  return ms;
}

async function queueBench(): Promise<void> {
  const n = Number(values.items ?? 2000);
  const fs = fsyncMs();
  console.log(`queue overhead, ${n} trivial items, folder remote in ${TMP}; one write+fsync there: ${fs.toFixed(2)} ms (${box()})`);
  console.log('(per item a worker makes two durable writes to the remote (object, result entry) and the coordinator one (the fetched object))');
  const local = runCoordinator(n, 0, ['--workers', '1']);
  console.log(`| executor | stage s | ms/item | overhead ms/item vs local | wall ratio |`);
  console.log(`|---|---|---|---|---|`);
  console.log(`| local (1 at a time) | ${local.stage.toFixed(2)} | ${((1000 * local.stage) / n).toFixed(2)} | - | 1.00 |`);
  for (const w of [1, 4]) {
    const d = await distributed(n, 0, w);
    const over = (1000 * (d.stage - local.stage)) / n;
    console.log(`| bullmq, ${w} worker${w > 1 ? 's' : ''} | ${d.stage.toFixed(2)} | ${((1000 * d.stage) / n).toFixed(2)} | ${over.toFixed(2)} (${(over / fs).toFixed(1)} fsyncs) | ${(d.stage / local.stage).toFixed(2)} |`);
  }
}

async function scalingBench(): Promise<void> {
  const ms = Number(values.ms ?? 50);
  const ws = (values.workers ?? '1,4,16').split(',').map(Number);
  const full = Number(values.items ?? 10000);
  const per = Number(values['per-process'] ?? 1);
  console.log(`coordinator scaling: items wait ${ms} ms each; workspaces and folder remote in ${TMP}; ${per} job slot(s) per worker process (${box()})`);
  console.log(`| worker slots | processes | items | ideal s | measured s | efficiency |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const w of ws) {
    // The full count at the largest worker count; fewer items (same work per worker) below it.
    const n = Math.min(full, Math.round((full * w) / Math.max(...ws)));
    const procs = Math.max(1, Math.ceil(w / per));
    const d = await distributed(n, ms, procs, Math.min(per, w));
    const ideal = (n * ms) / 1000 / w;
    console.log(`| ${w} | ${procs} | ${n} | ${ideal.toFixed(1)} | ${d.stage.toFixed(1)} | ${(ideal / d.stage).toFixed(2)} |`);
  }
}

async function windowBench(): Promise<void> {
  const counts = (values.items ?? '10000,100000').split(',').map(Number);
  console.log(`bounded window (at most 10,000 jobs in Redis), trivial items through 4 workers; files in ${TMP} (${box()})`);
  console.log(`| items | Redis peak MiB | coordinator peak RSS MiB | items/s |`);
  console.log(`|---|---|---|---|`);
  for (const n of counts) {
    const d = await distributed(n, 0, 4);
    console.log(`| ${n} | ${d.redisPeakMiB.toFixed(1)} | ${d.maxRssMiB.toFixed(0)} | ${(n / d.stage).toFixed(0)} |`);
  }
}

async function remoteBench(): Promise<void> {
  const n = Number(values.objects ?? 10000);
  console.log(`remote cache: push and pull of a run of ${n} small objects (${box()})`);
  const A = mkdtempSync(join(TMP, 'bench-push-'));
  process.env.BENCH_ITEMS = String(n);
  process.env.BENCH_MS = '0';
  const engine = new Engine(sleepProject(A), { resolveKind: () => Promise.resolve(SLEEP_KIND) });
  const run = await engine.run();
  if (!run.ok) throw new Error('bench run failed');
  // Baseline: cp -r of the same objects.
  const t0 = performance.now();
  spawnSync('cp', ['-r', join(A, 'cache', 'objects'), join(A, 'objects-copy')]);
  const cp = (performance.now() - t0) / 1000;
  console.log(`| remote | push obj/s | vs cp -r | no-op push s | pull obj/s | vs cp -r |`);
  console.log(`|---|---|---|---|---|---|`);
  const targets: Array<[string, () => Promise<{ url: string; env?: Record<string, string>; stop: () => Promise<void> }>]> = [
    ['folder', async () => {
      const d = mkdtempSync(join(TMP, 'bench-remote-'));
      return { url: d, stop: async () => rmSync(d, { recursive: true, force: true }) };
    }],
    ['S3 (s3rver)', async () => {
      const dir = mkdtempSync(join(TMP, 'bench-s3-'));
      const child = spawn(process.execPath, ['--openssl-legacy-provider', join(HERE, 's3-server.js'), dir, 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const port = await new Promise<number>((r, reject) => {
        child.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim())));
        child.once('exit', (c) => reject(new Error(`s3 server exited (${c})`)));
      });
      Object.assign(process.env, { AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });
      return {
        url: 's3://bench/team',
        stop: async () => {
          child.kill('SIGKILL');
          await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }],
  ];
  for (const [name, start] of targets) {
    let target;
    try {
      target = await start();
    } catch (e) {
      console.log(`| ${name} | not measured (${(e as Error).message}) | | | | |`);
      continue;
    }
    try {
      const cache = new RemoteCache(openRemote(target.url, A), engine.store);
      const p = await push(engine, cache, [run.run!]);
      cache.close();
      const cache2 = new RemoteCache(openRemote(target.url, A), engine.store);
      const noop = await push(engine, cache2, [run.run!]);
      cache2.close();
      const B = mkdtempSync(join(TMP, 'bench-pull-'));
      const eb = new Engine(sleepProject(B), { resolveKind: () => Promise.resolve(SLEEP_KIND) });
      const cache3 = new RemoteCache(openRemote(target.url, B), eb.store);
      const rows = await resolveRemoteRuns(cache3, [run.run!]);
      const q = await pull(eb, cache3, rows);
      cache3.close();
      eb.close();
      rmSync(B, { recursive: true, force: true });
      const ps = p.objects.sent! / p.seconds;
      const qs = q.objects.received! / q.seconds;
      const cps = p.objects.sent! / cp;
      console.log(`| ${name} | ${ps.toFixed(0)} | ${(ps / cps).toFixed(2)} | ${noop.seconds.toFixed(2)} | ${qs.toFixed(0)} | ${(qs / cps).toFixed(2)} |`);
    } finally {
      await target.stop();
    }
  }
  console.log(`(cp -r of the same ${n} objects: ${cp.toFixed(2)} s = ${(n / cp).toFixed(0)} obj/s)`);
  engine.close();
  rmSync(A, { recursive: true, force: true });
}

async function embedBench(): Promise<void> {
  const movies = Number(values.movies ?? 200);
  console.log(`the demo's frames + embed + fixlen, ${movies} movies: 2 workers vs local (${box()})`);
  const ws = (): string => {
    const d = mkdtempSync(join(TMP, 'bench-embed-'));
    cpSync(join(ROOT, 'pipeline.yaml'), join(d, 'pipeline.yaml'));
    cpSync(join(ROOT, 'conf'), join(d, 'conf'), { recursive: true });
    return d;
  };
  const time = (cwd: string, args: string[]): number => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, 'run', 'fixlen', '-p', `dataset.movies=${movies}`, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' } });
    if (r.status !== 0) throw new Error(r.stderr);
    return (performance.now() - t0) / 1000;
  };
  const local = time(ws(), []);
  const redis = await startRedis();
  const remote = mkdtempSync(join(TMP, 'bench-remote-'));
  const workers = await startWorkers(2, redis.url, remote);
  try {
    const d = time(ws(), ['--executor', 'bullmq', '--redis', redis.url, '--remote', remote]);
    console.log(`| run | wall s | ratio |`);
    console.log(`|---|---|---|`);
    console.log(`| local (-j ${cpus().length}) | ${local.toFixed(1)} | 1.00 |`);
    console.log(`| 2 workers (same machine) | ${d.toFixed(1)} | ${(d / local).toFixed(2)} |`);
  } finally {
    await stopWorkers(workers);
    await redis.stop();
  }
}

const which = positionals[0];
const benches: Record<string, () => Promise<void>> = { coordinator, queue: queueBench, scaling: scalingBench, window: windowBench, remote: remoteBench, embed: embedBench };
if (!which || !benches[which]) {
  console.error(`usage: node dist/bench/distributed.js ${Object.keys(benches).filter((k) => k !== 'coordinator').join('|')} [options]`);
  process.exitCode = 2;
} else {
  await benches[which]!();
  process.exit(0);
}
