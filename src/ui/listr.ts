// The terminal UI: a listr2 task per stage, an item bar with rate and ETA while a stage works,
// stage timings at the end. Driven entirely by engine events.
import { Listr, type ListrTaskWrapper } from 'listr2';
import { formatSeconds } from '../commands/common.js';
import type { EngineEvent, RunSummary, StageSummary } from '../events.js';
import { ProgressEta } from './eta.js';
import type { Presenter } from './plain.js';
import { finalLines } from './summary.js';
import { reasonText } from './reasons.js';

interface StageTask {
  /** Settles the task's promise; set up before listr starts the task, so no event is lost. */
  done: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
  task?: ListrTaskWrapper<unknown, never, never>;
  started?: number;
  /** Title and output to apply when the task attaches (events may come first). */
  title?: string;
  output?: string;
  skipped?: string;
  end?: StageSummary;
}

function deferred(): Pick<StageTask, 'done' | 'resolve' | 'reject'> {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { done, resolve, reject };
}

function bar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function listrPresenter(): Presenter {
  const stages = new Map<string, StageTask>();
  let listr: Listr | undefined;
  let running: Promise<unknown> | undefined;
  const eta = new ProgressEta();

  const show = (name: string, text: string): void => {
    const st = stages.get(name);
    if (!st) return;
    st.output = text;
    if (st.task) st.task.output = text;
  };
  const retitle = (st: StageTask, title: string): void => {
    st.title = title;
    if (st.task) st.task.title = title;
  };

  return {
    listener(e: EngineEvent) {
      switch (e.type) {
        case 'run-start': {
          for (const s of e.stages) stages.set(s.name, deferred());
          listr = new Listr(
            e.stages.map((s) => ({
              title: s.name,
              task: (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
                const st = stages.get(s.name)!;
                st.task = task;
                if (st.title) task.title = st.title;
                if (st.output && (!st.end || st.end.wouldRun)) task.output = st.output;
                if (st.skipped) task.skip(st.skipped);
                return st.done;
              },
              // A dry run's reasons stay under each stage; a real run's progress line goes.
              rendererOptions: { persistentOutput: e.dryRun === true, outputBar: 1 },
            })) as never,
            // The command handles Ctrl-C itself (stop cleanly, keep finished work); listr2's own
            // handler would exit the process at once.
            {
              concurrent: true,
              exitOnError: false,
              registerSignalListeners: false,
              rendererOptions: { collapseSubtasks: false, collapseErrors: false },
            } as never,
          );
          running = listr.run().catch(() => undefined);
          break;
        }
        case 'stage-start': {
          const st = stages.get(e.stage);
          if (st) st.started = Date.now();
          if (e.toRun) show(e.stage, `${e.toRun} of ${e.total} items to compute`);
          break;
        }
        case 'item': {
          const st = stages.get(e.stage);
          const secs = (Date.now() - (st?.started ?? Date.now())) / 1000;
          const rate = secs > 0 ? e.done / secs : 0;
          const eta = rate > 0 ? (e.toRun - e.done) / rate : 0;
          show(e.stage, `${bar(e.done, e.toRun)} ${e.done}/${e.toRun} items  ${rate.toFixed(1)}/s  ETA ${formatSeconds(eta)}`);
          break;
        }
        case 'progress': {
          const u = e.update;
          const parts: string[] = [];
          if (u.done !== undefined && u.total !== undefined) {
            // done may be fractional (epochs part-way through): the bar shows it, the count is whole.
            const left = eta.update(e.stage, u.done, u.total).seconds;
            parts.push(`${bar(u.done, u.total)} ${Math.floor(u.done)}/${u.total}${left === undefined ? '' : `  ETA ${formatSeconds(left)}`}`);
          }
          if (u.message) parts.push(u.message);
          show(e.stage, parts.join('  '));
          break;
        }
        case 'log':
          if (e.stage) show(e.stage, `${e.level === 'warn' ? 'warning: ' : ''}${e.message}`);
          break;
        case 'stage-end': {
          const s = e.summary;
          const st = stages.get(s.name);
          if (!st) break;
          st.end = s;
          const items = s.items ? ` — ${s.items.ran} ran, ${s.items.cached} cached${s.items.failed ? `, ${s.items.failed} failed` : ''}` : '';
          if (s.wouldRun !== undefined) {
            retitle(st, `${s.name}  ${s.state === 'would-run' ? `would run${s.items ? ` (${s.items.ran} of ${s.items.total} items)` : ''}` : 'fresh'}`);
            if (s.wouldRun.length > 0) show(s.name, reasonText(s.wouldRun).join('; '));
          } else {
            retitle(st, `${s.name}  ${s.state} ${formatSeconds(s.seconds)}${items}`);
          }
          if (s.state === 'failed') st.reject(new Error(`${s.name}: ${(s.error ?? 'failed').split('\n')[0]}`));
          else if (s.state === 'skipped') {
            st.skipped = `${s.name}  skipped (${s.error ?? 'not run'})`;
            st.task?.skip(st.skipped);
            st.resolve();
          } else st.resolve();
          break;
        }
        case 'run-end':
          for (const [, st] of stages) if (!st.end) st.resolve();
          break;
      }
    },
    async finish(r: RunSummary) {
      await running;
      for (const l of finalLines(r)) process.stdout.write(`${l}\n`);
    },
  };
}
