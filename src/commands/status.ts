import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueProgress } from '../distributed/executor.js';
import { RemoteCache } from '../remote/cache.js';
import { openRemote, remoteUrl } from '../remote/open.js';
import { Engine } from '../engine/index.js';
import { reasonText } from '../ui/reasons.js';
import { checkStageNames, openProject, type ProjectOptions } from './common.js';

export async function statusCommand(stages: string[], opts: ProjectOptions & { json?: boolean; exitCode?: boolean; remote?: string }): Promise<number> {
  const project = openProject(opts, { readOnly: true });
  checkStageNames(project, stages);
  const url = remoteUrl(opts.remote, project.settings?.remote);
  const remote = url === undefined ? undefined : new RemoteCache(openRemote(url, project.root));
  // Read only: status changes nothing in the workspace (not even the file-state cache).
  const engine = new Engine(project, { readOnly: true, ...(remote ? { remote } : {}) });
  try {
    const { stages: report } = await engine.status(stages);
    const queue = distributedProgress(join(project.root, 'cache'));
    const stale = report.filter((s) => s.state === 'stale').length;
    // --exit-code: CI gates on it (1 when anything is stale), as `git diff --exit-code` does.
    const code = opts.exitCode && stale > 0 ? 1 : 0;
    if (opts.json) {
      const stages = report.map((s) => ({ ...s, reasons: reasonText(s.reasons), details: s.reasons }));
      process.stdout.write(`${JSON.stringify({ stages, ...(queue ? { distributed: queue } : {}) })}\n`);
      return code;
    }
    if (queue) {
      process.stdout.write(
        `a distributed run is going on (pid ${queue.pid}): stage ${queue.stage}: ${queue.queued} queued, ${queue.running} running, ${queue.done} done` +
          `${queue.failed ? `, ${queue.failed} failed` : ''} of ${queue.total} items\n`,
      );
    }
    const width = Math.max(8, ...report.map((s) => s.name.length));
    for (const s of report) {
      const items = s.items ? ` (${s.items.stale} of ${s.items.total} items to compute)` : '';
      process.stdout.write(`${s.name.padEnd(width)}  ${s.state}${s.state === 'stale' ? items : ''}\n`);
      for (const r of reasonText(s.reasons)) process.stdout.write(`${' '.repeat(width)}    - ${r}\n`);
    }
    process.stdout.write(stale === 0 ? 'everything is up to date\n' : `${stale} stage${stale === 1 ? '' : 's'} stale: \`pipeline run\` brings ${stale === 1 ? 'it' : 'them'} up to date\n`);
    return code;
  } finally {
    engine.close();
    remote?.close();
  }
}

/** The queue counts a running `pipeline run --executor bullmq` writes (cache/executor.json), while it runs. */
function distributedProgress(cacheDir: string): QueueProgress | undefined {
  try {
    const p = JSON.parse(readFileSync(join(cacheDir, 'executor.json'), 'utf8')) as QueueProgress;
    process.kill(p.pid, 0);
    return Date.now() - p.time < 60_000 ? p : undefined;
  } catch {
    return undefined;
  }
}
