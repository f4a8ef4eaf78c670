// `pipeline worker`: computes queued map-stage items until stopped (Ctrl-C finishes the jobs in
// hand, then exits).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startWorker } from '../distributed/worker.js';
import { requireRedisUrl } from '../distributed/redis.js';
import { UserError } from '../errors.js';
import { RemoteCache } from '../remote/cache.js';
import { requireRemote } from '../remote/open.js';
import type { StageKind } from '../stage-api.js';

export interface WorkerCommandOptions {
  redis?: string;
  remote?: string;
  concurrency: number;
  stages?: string;
  cache?: string;
  kinds?: string;
  lockDuration: number;
  maxJobs?: number;
}

export async function workerCommand(opts: WorkerCommandOptions): Promise<number> {
  const redis = requireRedisUrl(opts.redis, undefined);
  const cwd = process.cwd();
  const remote = requireRemote(opts.remote, undefined, cwd);
  remote.close();
  let extraKinds: StageKind[] = [];
  if (opts.kinds) {
    const mod = (await import(pathToFileURL(resolve(opts.kinds)).href).catch((e: Error) => {
      throw new UserError(`cannot load --kinds ${opts.kinds}: ${e.message}`, 'give a JavaScript module that default-exports an array of stage kinds');
    })) as { default?: StageKind[] };
    if (!Array.isArray(mod.default)) throw new UserError(`--kinds ${opts.kinds} does not default-export an array of stage kinds`);
    extraKinds = mod.default;
  }
  const w = await startWorker({
    redis,
    remote: (store) => new RemoteCache(requireRemote(opts.remote, undefined, cwd), store),
    cacheDir: resolve(opts.cache ?? '.pipeline-worker'),
    concurrency: opts.concurrency,
    ...(opts.stages ? { kinds: opts.stages.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
    extraKinds,
    lockDuration: opts.lockDuration,
    ...(opts.maxJobs !== undefined ? { maxJobs: opts.maxJobs } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const onSig = (): void => {
    process.stderr.write('stopping: finishing the jobs in hand\n');
    void w.stop();
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  await w.closed;
  process.stderr.write(`worker ${process.pid} stopped after ${w.jobs()} jobs\n`);
  return 0;
}
