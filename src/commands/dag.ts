import { openProject, type ProjectOptions } from './common.js';

export async function dagCommand(opts: ProjectOptions & { mermaid?: boolean; json?: boolean }): Promise<number> {
  const project = openProject(opts);
  const stages = project.order.map((n) => project.stages.get(n)!);
  if (opts.json) {
    const out = stages.map((s) => ({
      name: s.name,
      ...(s.uses ? { uses: s.uses } : { cmd: s.cmd }),
      deps: s.stageDeps,
      paths: s.pathDeps,
      params: s.params,
      outs: s.outs,
      on_error: s.onError,
    }));
    process.stdout.write(`${JSON.stringify({ stages: out })}\n`);
    return 0;
  }
  if (opts.mermaid) {
    const lines = ['flowchart LR'];
    // Mermaid ids: a matrix variant's '@' (and any other character outside [A-Za-z0-9_-]) becomes '_'; the label keeps the name.
    const id = (name: string): string => name.replace(/[^A-Za-z0-9_-]/g, '_');
    for (const s of stages) lines.push(`  ${id(s.name)}["${s.name}<br/><small>${s.uses ?? 'cmd'}</small>"]`);
    for (const s of stages) {
      for (const d of s.stageDeps) lines.push(`  ${id(d)} --> ${id(s.name)}`);
      for (const p of s.pathDeps) lines.push(`  ${JSON.stringify(p).replace(/[^A-Za-z0-9]/g, '_')}[("${p}")] --> ${id(s.name)}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }
  const width = Math.max(...stages.map((s) => s.name.length));
  for (const s of stages) {
    const what = s.uses ? `uses ${s.uses}` : `cmd: ${s.cmd}`;
    const deps = [...s.stageDeps, ...s.pathDeps];
    process.stdout.write(`${s.name.padEnd(width)}  ${deps.length ? `<- ${deps.join(', ')}` : '(source)'}\n`);
    process.stdout.write(`${' '.repeat(width)}    ${what}; params: ${s.params.join(', ') || '-'}; outs: ${s.outs.join(', ')}${s.onError === 'skip' ? '; on_error: skip' : ''}\n`);
  }
  return 0;
}
