import { join } from 'node:path';
import { Engine } from '../engine/index.js';
import { acquireLock, LockBusy } from '../lock.js';
import { UserError } from '../errors.js';
import { jsonPresenter, plainPresenter, type Presenter } from '../ui/plain.js';
import { checkStageNames, openProject, type ProjectOptions } from './common.js';
import { livePublisher } from '../web/live-feed.js';
import type { Executor } from '../executor.js';
import { RemoteCache } from '../remote/cache.js';
import { openRemote, remoteUrl } from '../remote/open.js';
import type { Project } from '../spec.js';

export interface RunCommandOptions extends ProjectOptions {
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  jobs?: number;
  wait?: boolean;
  /** Fetch results found in the remote cache (also `remote_pull: true`; implied by --executor bullmq). */
  pull?: boolean;
  remote?: string;
  executor?: 'local' | 'bullmq';
  redis?: string;
  /** With --executor bullmq: train and metrics run as jobs too (a worker started with --stages train,metrics). */
  reduceOnWorkers?: boolean;
  /** -S key=v1,v2 (repeatable): a parameter sweep (src/experiments/sweep.ts). */
  set?: string[];
  /** Set by a sweep for each combination: its presenter, and where the result goes. */
  sweepRun?: { presenter?: Presenter; onResult: (r: Awaited<ReturnType<Engine['run']>>) => void };
}

export async function presenterFor(json: boolean | undefined): Promise<Presenter> {
  if (json) return jsonPresenter();
  if (process.stdout.isTTY && !process.env.CI) {
    const { listrPresenter } = await import('../ui/listr.js');
    return listrPresenter();
  }
  return plainPresenter();
}

/** Aborts on the first Ctrl-C (stop cleanly, keep finished work); exits on the second. */
export function interruptSignal(say: (s: string) => void): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const onSig = (): void => {
    if (ac.signal.aborted) process.exit(130);
    say('stopping: finishing the items in flight (Ctrl-C again to quit at once)');
    ac.abort();
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  return {
    signal: ac.signal,
    dispose: () => {
      // After a first Ctrl-C the command is on its way out: a second one while it finishes
      // (writing the run record, closing the store) still quits with 130, not by the signal's
      // default action.
      if (ac.signal.aborted) return;
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    },
  };
}

/**
 * The remote cache and executor of a run: --remote / PIPELINE_REMOTE / `remote:`; --executor /
 * PIPELINE_EXECUTOR / `executor:` (bullmq needs a remote and Redis, and always pulls, since
 * workers put their outputs in the remote).
 */
async function distributedOptions(
  project: Project,
  opts: RunCommandOptions,
): Promise<{ engine: { remote?: RemoteCache; executor?: Executor; reduceOnWorkers?: boolean }; pull: boolean }> {
  const envExecutor = process.env.PIPELINE_EXECUTOR || undefined;
  if (envExecutor !== undefined && envExecutor !== 'local' && envExecutor !== 'bullmq') {
    throw new UserError(`PIPELINE_EXECUTOR is '${envExecutor}'`, 'set it to local or bullmq');
  }
  const executor = opts.executor ?? (envExecutor as 'local' | 'bullmq' | undefined) ?? project.settings?.executor ?? 'local';
  const url = remoteUrl(opts.remote, project.settings?.remote);
  const pull = opts.pull === true || project.settings?.remotePull === true || executor === 'bullmq';
  if (opts.reduceOnWorkers && executor !== 'bullmq') throw new UserError('--reduce-on-workers needs --executor bullmq', 'add --executor bullmq --redis URL (and start a worker with --stages train,metrics)');
  if (url === undefined) {
    if (executor === 'bullmq') {
      throw new UserError('--executor bullmq needs a remote cache (workers put their outputs there)', "pass --remote URL, set PIPELINE_REMOTE, or add 'remote: URL' to pipeline.yaml (docs/DISTRIBUTED.md)");
    }
    if (opts.pull) throw new UserError('--pull needs a remote cache', "pass --remote URL, set PIPELINE_REMOTE, or add 'remote: URL' to pipeline.yaml");
    return { engine: {}, pull: false };
  }
  const remote = new RemoteCache(openRemote(url, project.root));
  if (executor === 'local') return { engine: { remote }, pull };
  const { BullMQExecutor, progressFileOf } = await import('../distributed/executor.js');
  const { requireRedisUrl } = await import('../distributed/redis.js');
  const redis = requireRedisUrl(opts.redis, project.settings?.redis);
  const bullmq = new BullMQExecutor({ redis, remote, progressFile: progressFileOf(join(project.root, 'cache')) });
  // Redis trouble is said before anything is planned, even when every item turns out cached.
  if (!opts.dryRun) await bullmq.check();
  return {
    engine: { remote, executor: bullmq, reduceOnWorkers: opts.reduceOnWorkers === true },
    pull,
  };
}

export async function runCommand(stages: string[], opts: RunCommandOptions): Promise<number> {
  if (opts.set && opts.set.length > 0) return (await import('../experiments/sweep.js')).sweepCommand(stages, opts, runCommand);
  const project = openProject(opts, { readOnly: opts.dryRun === true });
  checkStageNames(project, stages);
  if (opts.jobs !== undefined && !(opts.jobs >= 1)) throw new UserError('--jobs takes a whole number >= 1');
  const presenter = opts.sweepRun?.presenter ?? (await presenterFor(opts.json));
  const interrupt = interruptSignal((s) => process.stderr.write(`\n${s}\n`));
  let lock: Awaited<ReturnType<typeof acquireLock>> | undefined;
  try {
    if (!opts.dryRun) {
      try {
        lock = await acquireLock(join(project.root, 'cache'), {
          wait: opts.wait !== false,
          signal: interrupt.signal,
          onWait: (holder) => process.stderr.write(`waiting for another pipeline run to finish (${holder}); --no-wait to fail instead\n`),
        });
      } catch (e) {
        if (e instanceof LockBusy) throw new UserError(e.message, 'wait for it to finish, or run without --no-wait to wait');
        throw e;
      }
    }
    const live = opts.dryRun ? undefined : livePublisher(join(project.root, 'cache')); // progress for `pipeline ui` (src/web/live-feed.ts)
    const dist = await distributedOptions(project, opts);
    const engine = new Engine(project, { listener: (e) => {
        presenter.listener(e);
        live?.listener(e);
      }, ...(opts.jobs ? { jobs: opts.jobs } : {}), ...dist.engine, ...(opts.dryRun ? { readOnly: true } : {}) });
    try {
      const result = await engine.run({
        targets: stages,
        force: opts.force ? (stages.length > 0 ? stages : true) : false,
        dryRun: opts.dryRun === true,
        signal: interrupt.signal,
        pull: dist.pull,
      });
      await presenter.finish(result);
      opts.sweepRun?.onResult(result);
      // pipeline.lock, and matrix variants side by side (src/experiments/after-run.ts).
      if (result.ok && result.record && !opts.dryRun) await (await import('../experiments/after-run.js')).afterRun(project, result.record, engine.store, opts.json === true);
      return result.interrupted ? 130 : result.ok ? 0 : 1;
    } finally {
      live?.close();
      engine.close();
      dist.engine.remote?.close();
    }
  } finally {
    lock?.release();
    interrupt.dispose();
  }
}
