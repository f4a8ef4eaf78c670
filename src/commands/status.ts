import { Engine } from '../engine.js';
import { checkStageNames, openProject, type ProjectOptions } from './common.js';

export async function statusCommand(stages: string[], opts: ProjectOptions & { json?: boolean; exitCode?: boolean }): Promise<number> {
  const project = openProject(opts);
  checkStageNames(project, stages);
  const engine = new Engine(project);
  try {
    const { stages: report } = await engine.status(stages);
    const stale = report.filter((s) => s.state === 'stale').length;
    // --exit-code: CI gates on it (1 when anything is stale), as `git diff --exit-code` does.
    const code = opts.exitCode && stale > 0 ? 1 : 0;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ stages: report })}\n`);
      return code;
    }
    const width = Math.max(8, ...report.map((s) => s.name.length));
    for (const s of report) {
      const items = s.items ? ` (${s.items.stale} of ${s.items.total} items to compute)` : '';
      process.stdout.write(`${s.name.padEnd(width)}  ${s.state}${s.state === 'stale' ? items : ''}\n`);
      for (const r of s.reasons) process.stdout.write(`${' '.repeat(width)}    - ${r}\n`);
    }
    process.stdout.write(stale === 0 ? 'everything is up to date\n' : `${stale} stage${stale === 1 ? '' : 's'} stale: \`pipeline run\` brings ${stale === 1 ? 'it' : 'them'} up to date\n`);
    return code;
  } finally {
    engine.close();
  }
}
