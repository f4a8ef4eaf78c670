import { join } from 'node:path';
import { Engine } from '../engine.js';
import { acquireLock, LockBusy } from '../lock.js';
import { UserError } from '../errors.js';
import { jsonPresenter, plainPresenter, type Presenter } from '../ui/plain.js';
import { checkStageNames, openProject, type ProjectOptions } from './common.js';

export interface RunCommandOptions extends ProjectOptions {
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  jobs?: number;
  wait?: boolean;
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
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    },
  };
}

export async function runCommand(stages: string[], opts: RunCommandOptions): Promise<number> {
  const project = openProject(opts);
  checkStageNames(project, stages);
  if (opts.jobs !== undefined && !(opts.jobs >= 1)) throw new UserError('--jobs takes a whole number >= 1');
  const presenter = await presenterFor(opts.json);
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
    const engine = new Engine(project, { listener: (e) => presenter.listener(e), ...(opts.jobs ? { jobs: opts.jobs } : {}) });
    try {
      const result = await engine.run({
        targets: stages,
        force: opts.force ? (stages.length > 0 ? stages : true) : false,
        dryRun: opts.dryRun === true,
        signal: interrupt.signal,
      });
      await presenter.finish(result);
      return result.interrupted ? 130 : result.ok ? 0 : 1;
    } finally {
      engine.close();
    }
  } finally {
    lock?.release();
    interrupt.dispose();
  }
}
