// The distributed executor: each map-stage item that is not cached (locally or in the remote)
// becomes one BullMQ job on Redis, computed by `pipeline worker` processes that put their
// outputs in the remote cache. Job id = the item's cache key, so a job is never queued twice,
// and a coordinator that restarts finds the jobs of its predecessor (or their results).
//
// Completion is decided by job state and the remote, not by the event stream alone: events
// give the fast path, and a periodic sweep asks Redis for the state of jobs still pending
// (a job that finished and was removed is looked up in the remote's result cache; a job that
// is gone without a result is queued again). At most `window` jobs are in Redis at once, so
// Redis memory and the coordinator's stay flat whatever the item count.
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import pLimit from 'p-limit';
import { ItemError, UserError } from '../errors.js';
import type { Executor, ItemJobContext, JobContextBase, ReduceJobContext } from '../executor.js';
import type { CachedStage, ItemErrorJson } from '../plan.js';
import type { Manifest } from '../runs.js';
import type { Hash } from '../hash.js';
import type { RemoteCache } from '../remote/cache.js';
import type { ItemOutput, ItemSink, ItemTask, MapContext, MapKind, ReduceContext, ReduceKind, ReduceOutput, StageContext } from '../stage-api.js';
import { packageVersion } from '../version.js';
import { JOB_FORMAT, queueName, type ItemJob, type ItemJobResult, type ReduceJob, type ReduceJobResult } from './job.js';
import { bullConnection, checkRedis } from './redis.js';

export interface BullMQExecutorOptions {
  redis: string;
  remote: RemoteCache;
  /** Most jobs in Redis at once (default 10,000). */
  window?: number;
  /** How often pending jobs are checked beside the events (ms, default 2,000). */
  sweepMs?: number;
  /** Where queue counts are written for `pipeline status` (cache/executor.json). */
  progressFile?: string;
  /** Tries per job for crashes (data errors are never retried). */
  attempts?: number;
}

export interface QueueProgress {
  pid: number;
  stage: string;
  queue: string;
  total: number;
  queued: number;
  running: number;
  done: number;
  failed: number;
  time: number;
}

export class BullMQExecutor implements Executor {
  readonly #o: BullMQExecutorOptions;
  #checked = false;

  constructor(o: BullMQExecutorOptions) {
    this.#o = o;
  }

  /** Checks Redis (reachable, noeviction) once per executor; `run` calls it before planning. */
  async check(): Promise<void> {
    if (this.#checked) return;
    await checkRedis(this.#o.redis);
    this.#checked = true;
  }

  /** What every job of a stage carries: versions, params, the fingerprint's env and inputs. */
  #header(kind: MapKind | ReduceKind, ctx: StageContext, job: JobContextBase): Omit<ItemJob, 'task' | 'key'> {
    return {
      format: JOB_FORMAT,
      pipeline: packageVersion(),
      kind: kind.name,
      version: kind.version,
      stage: ctx.stage,
      workspace: ctx.workspace,
      confFile: job.confFile,
      declared: [...job.declared],
      params: { ...(ctx.params as Record<string, never>) },
      env: job.fp.env,
      inputs: Object.fromEntries(Object.entries(job.fp.inputs).filter(([k]) => !job.pathDeps.includes(k))),
      fpHash: job.fpHash,
    };
  }

  /** Crashes are retried; finished jobs leave Redis at once (results live in the remote). */
  #jobOptions(key: Hash): JobsOptions {
    return { jobId: jobIdOf(key), attempts: this.#o.attempts ?? 3, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: true, removeOnFail: true };
  }

  async runItems(kind: MapKind, ctx: MapContext, tasks: readonly ItemTask[], sink: ItemSink, job?: ItemJobContext): Promise<void> {
    if (job === undefined || Object.keys(ctx.inputs).length > 0) {
      // Whole-artifact inputs are not plain data: such a stage runs here.
      ctx.log('info', `stage ${ctx.stage} runs locally (its kind reads whole artifacts besides its items)`);
      await kind.run(ctx, tasks, sink);
      return;
    }
    await this.check();
    const remote = this.#o.remote;
    const connection = bullConnection(this.#o.redis);
    const name = queueName(kind.name);
    const queue = new Queue<ItemJob, ItemJobResult, string>(name, { connection });
    const events = new QueueEvents(name, { connection });
    const window = this.#o.window ?? 10_000;
    const sweepMs = this.#o.sweepMs ?? 2000;
    const pending = new Map<Hash, ItemTask>();
    const byKey = new Map<Hash, ItemTask>();
    let next = 0;
    let done = 0;
    let failed = 0;
    let fatal: unknown;
    const inflight = new Set<Promise<void>>();
    let wake: (() => void) | undefined;
    const kick = (): void => {
      wake?.();
      wake = undefined;
    };
    const header = this.#header(kind, ctx, job);
    const dataOf = (t: ItemTask): ItemJob => ({ ...header, key: job.keys.get(t.id)!, task: t });
    for (const t of tasks) byKey.set(job.keys.get(t.id)!, t);

    // Results are taken in as they come, several at once (fetching an item's objects from the
    // remote is I/O: one at a time would make the coordinator the bottleneck).
    const intake = pLimit(16);
    const settle = (key: Hash, result: ItemJobResult | Error): void => {
      const t = pending.get(key);
      if (t === undefined) return;
      pending.delete(key);
      const p = intake(async () => {
        if (result instanceof Error) {
          failed++;
          await sink.fail(t.id, result);
        } else if ('error' in result) {
          failed++;
          const e = result.error;
          await sink.fail(t.id, new ItemError(t.id, e.message, { ...(e.file ? { file: e.file } : {}), ...(e.hint ? { hint: e.hint } : {}) }));
        } else {
          await remote.fetch(Object.values(result.output.tree));
          done++;
          await sink.done(t.id, result.output);
        }
      })
        .catch((e: unknown) => {
          fatal ??= e;
        })
        .finally(() => {
          inflight.delete(p);
          kick();
        });
      inflight.add(p);
    };
    const parse = (v: unknown): ItemJobResult => (typeof v === 'string' ? (JSON.parse(v) as ItemJobResult) : (v as ItemJobResult));

    events.on('completed', ({ jobId, returnvalue }) => {
      const k = keyOf(jobId);
      if (pending.has(k)) settle(k, parse(returnvalue));
    });
    events.on('failed', ({ jobId, failedReason }) => {
      const k = keyOf(jobId);
      if (pending.has(k)) settle(k, new UserError(`a worker failed on item ${byKey.get(k)?.id ?? k}: ${failedReason}`, "see that worker's log; a crash is retried 3 times before it fails the item"));
    });
    events.on('error', () => {});

    const refill = async (): Promise<void> => {
      while (next < tasks.length && pending.size < window && !ctx.signal.aborted) {
        const batch = tasks.slice(next, Math.min(tasks.length, next + Math.min(1000, window - pending.size)));
        next += batch.length;
        for (const t of batch) pending.set(job.keys.get(t.id)!, t);
        await queue.addBulk(batch.map((t) => ({ name: t.id, data: dataOf(t), opts: this.#jobOptions(job.keys.get(t.id)!) })));
      }
    };

    const sweep = async (): Promise<void> => {
      const keys = [...pending.keys()].slice(0, 500);
      for (const key of keys) {
        if (!pending.has(key)) continue;
        const state = await queue.getJobState(jobIdOf(key));
        if (state === 'completed') {
          const j = await queue.getJob(jobIdOf(key));
          if (j?.returnvalue) settle(key, parse(j.returnvalue));
        } else if (state === 'failed') {
          const j = await queue.getJob(jobIdOf(key));
          settle(key, new UserError(`a worker failed on item ${pending.get(key)?.id}: ${j?.failedReason ?? 'unknown reason'}`, "see that worker's log"));
        } else if (state === 'unknown') {
          // Finished and removed before we listened, or lost: the remote's result cache decides.
          const r = await remote.getResult(key);
          if (r?.output !== undefined) settle(key, { output: r.output as ItemOutput });
          else if (r?.error !== undefined) settle(key, { error: r.error });
          else {
            const t = pending.get(key)!;
            await queue.add(t.id, dataOf(t), this.#jobOptions(key));
          }
        }
      }
    };

    const writeProgress = async (): Promise<void> => {
      if (!this.#o.progressFile) return;
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      const p: QueueProgress = {
        pid: process.pid,
        stage: ctx.stage,
        queue: name,
        total: tasks.length,
        queued: (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (tasks.length - next),
        running: c.active ?? 0,
        done,
        failed,
        time: Date.now(),
      };
      const tmp = `${this.#o.progressFile}.tmp`;
      writeFileSync(tmp, JSON.stringify(p));
      renameSync(tmp, this.#o.progressFile);
    };

    try {
      await events.waitUntilReady();
      await refill();
      let lastSweep = Date.now();
      let lastProgress = 0;
      while ((pending.size > 0 || next < tasks.length) && !ctx.signal.aborted && fatal === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 250);
        });
        await refill();
        if (Date.now() - lastSweep >= sweepMs) {
          lastSweep = Date.now();
          await sweep();
        }
        if (Date.now() - lastProgress >= 1000) {
          lastProgress = Date.now();
          await writeProgress();
        }
      }
      await Promise.all(inflight);
      await writeProgress();
      if (fatal !== undefined) throw fatal;
    } finally {
      await events.close();
      await queue.close();
    }
  }

  /**
   * A reduce stage as one job, for a worker that takes the kind (`--stages train,metrics`).
   * Its progress (epochs) comes back through the job's progress events.
   */
  async runReduce(kind: ReduceKind, ctx: ReduceContext, job: ReduceJobContext): Promise<ReduceOutput & { errors?: ItemErrorJson[] }> {
    await this.check();
    const remote = this.#o.remote;
    const connection = bullConnection(this.#o.redis);
    const name = queueName(kind.name);
    const queue = new Queue<ReduceJob, ReduceJobResult, string>(name, { connection });
    const events = new QueueEvents(name, { connection });
    const key = job.fpHash;
    const data: ReduceJob = { ...this.#header(kind, ctx, job), key, reduce: { deps: { ...job.deps }, ...(job.ports ? { ports: { ...job.ports } } : {}), onError: job.onError } };
    const opts = this.#jobOptions(key);
    const parse = (v: unknown): ReduceJobResult => (typeof v === 'string' ? (JSON.parse(v) as ReduceJobResult) : (v as ReduceJobResult));
    let settled: ReduceJobResult | Error | undefined;
    let wake: (() => void) | undefined;
    const settle = (r: ReduceJobResult | Error): void => {
      settled ??= r;
      wake?.();
    };
    events.on('completed', ({ jobId, returnvalue }) => {
      if (jobId === jobIdOf(key)) settle(parse(returnvalue));
    });
    events.on('failed', ({ jobId, failedReason }) => {
      if (jobId === jobIdOf(key)) settle(new UserError(`a worker failed on stage ${ctx.stage}: ${failedReason}`, "see that worker's log; a crash is retried 3 times before it fails the stage"));
    });
    events.on('progress', ({ jobId, data: p }) => {
      if (jobId === jobIdOf(key) && typeof p === 'object' && p !== null) ctx.progress(p as never);
    });
    events.on('error', () => {});
    try {
      // The worker reads the upstream outputs from the remote: send what is only here (the
      // manifests this coordinator wrote, items computed locally or pulled from elsewhere).
      const objects: string[] = [];
      for (const out of Object.values(job.deps)) {
        if (out.type === 'tree') objects.push(...Object.values(out.tree));
        else {
          objects.push(out.manifest);
          const m = await remote.store.readJson<Manifest>(out.manifest);
          for (const it of Object.values(m.items)) objects.push(...Object.values(it.tree));
        }
      }
      await remote.send(objects);
      await events.waitUntilReady();
      await queue.add(ctx.stage, data, opts);
      ctx.log('info', `stage ${ctx.stage} queued on ${name} for a worker`);
      let lastSweep = Date.now();
      while (settled === undefined && !ctx.signal.aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 500);
        });
        if (settled === undefined && Date.now() - lastSweep >= (this.#o.sweepMs ?? 2000)) {
          lastSweep = Date.now();
          const state = await queue.getJobState(jobIdOf(key));
          if (state === 'completed') {
            const j = await queue.getJob(jobIdOf(key));
            if (j?.returnvalue) settle(j.returnvalue);
          } else if (state === 'unknown') {
            const r = await remote.getResult(key);
            const out = r?.output as CachedStage | undefined;
            if (out !== undefined) {
              const { errors, ...rest } = out;
              settle({ output: rest, errors: errors ?? [] });
            } else await queue.add(ctx.stage, data, opts);
          }
        }
      }
      if (settled === undefined) throw new UserError('interrupted');
      if (settled instanceof Error) throw settled;
      if ('error' in settled) {
        const e = settled.error;
        throw new ItemError(e.item, e.message, { ...(e.file ? { file: e.file } : {}), ...(e.hint ? { hint: e.hint } : {}) });
      }
      await remote.fetch(Object.values(settled.output.tree));
      return { ...settled.output, errors: settled.errors };
    } finally {
      await events.close();
      await queue.close();
    }
  }
}

/**
 * A job's id: its cache key behind a letter, since BullMQ refuses ids that are all digits (a
 * 16-hex-digit key is all digits about once in 1,800 keys).
 */
export function jobIdOf(key: Hash): string {
  return `k${key}`;
}

export function keyOf(jobId: string): Hash {
  return jobId.startsWith('k') ? jobId.slice(1) : jobId;
}

/** Queue counts of a distributed run going on in the workspace, for `pipeline status`. */
export function progressFileOf(cacheDir: string): string {
  return join(cacheDir, 'executor.json');
}
