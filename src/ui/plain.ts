// Plain lines, for logs and pipes (stdout is not a terminal).
import type { EngineEvent, RunSummary } from '../events.js';
import { formatSeconds } from '../commands/common.js';
import { ProgressEta } from './eta.js';
import { finalLines, stageLine } from './summary.js';
import { reasonText } from './reasons.js';

export interface Presenter {
  listener(e: EngineEvent): void;
  finish(r: RunSummary): Promise<void>;
}

export function plainPresenter(out: NodeJS.WritableStream = process.stdout, everyMs = 5000): Presenter {
  let width = 8;
  const lastPrint = new Map<string, number>();
  const started = new Map<string, number>();
  const eta = new ProgressEta();
  const write = (s: string): void => {
    out.write(`${s}\n`);
  };
  const throttled = (stage: string, line: string): void => {
    const now = Date.now();
    if (now - (lastPrint.get(stage) ?? 0) < everyMs) return;
    lastPrint.set(stage, now);
    write(line);
  };
  return {
    listener(e) {
      switch (e.type) {
        case 'run-start':
          width = Math.max(8, ...e.stages.map((s) => s.name.length));
          break;
        case 'stage-start':
          started.set(e.stage, Date.now());
          lastPrint.set(e.stage, Date.now());
          if (e.toRun !== undefined && e.toRun > 0) write(`${e.stage}: ${e.toRun} of ${e.total} items to compute`);
          break;
        case 'item': {
          const secs = (Date.now() - (started.get(e.stage) ?? Date.now())) / 1000;
          const rate = secs > 0 ? e.done / secs : 0;
          const eta = rate > 0 ? (e.toRun - e.done) / rate : 0;
          throttled(e.stage, `${e.stage}: ${e.done}/${e.toRun} items (${rate.toFixed(1)}/s, ETA ${Math.round(eta)}s)`);
          break;
        }
        case 'progress': {
          const u = e.update;
          const left = u.done !== undefined && u.total !== undefined ? eta.update(e.stage, u.done, u.total).seconds : undefined;
          if (u.message) throttled(e.stage, `${e.stage}: ${u.message}${left === undefined ? '' : ` (ETA ${formatSeconds(left)})`}`);
          break;
        }
        case 'log':
          write(`${e.stage ? `${e.stage}: ` : ''}${e.level === 'warn' ? 'warning: ' : ''}${e.message}`);
          break;
        case 'stage-end':
          write(stageLine(e.summary, width));
          break;
        case 'run-end':
          break;
      }
    },
    async finish(r) {
      for (const l of finalLines(r)) write(l);
    },
  };
}

export function jsonPresenter(out: NodeJS.WritableStream = process.stdout): Presenter {
  return {
    listener() {},
    async finish(r) {
      out.write(
        `${JSON.stringify({
          run: r.run ?? null,
          ok: r.ok,
          stages: r.stages.map((s) => ({
            name: s.name,
            state: s.state,
            ...(s.items ? { items: s.items } : {}),
            seconds: Math.round(s.seconds * 1000) / 1000,
            ...(s.failures ? { failures: s.failures } : {}),
            ...(s.error ? { error: s.error } : {}),
            ...(s.headline ? { headline: s.headline } : {}),
            ...(s.wouldRun ? { reasons: reasonText(s.wouldRun), details: s.wouldRun } : {}),
          })),
          ...(r.dryRun ? { dry_run: true } : {}),
          ...(r.interrupted ? { interrupted: true } : {}),
        })}\n`,
      );
    },
  };
}
