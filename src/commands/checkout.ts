import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from '../yaml.js';
import { Checkout } from '../outputs.js';
import { loadRecord, specFromRecord } from '../runs.js';
import { openEngine, type WorkspaceOptions } from './runs.js';

export async function checkoutCommand(run: string, opts: WorkspaceOptions & { to?: string; remote?: string; link?: boolean }): Promise<number> {
  const engine = openEngine(opts);
  try {
    const { optionalRemoteCache } = await import('./remote.js');
    const { resolveRunAnywhere } = await import('../remote/sync.js');
    const cache = optionalRemoteCache(engine, opts.remote);
    const row = await resolveRunAnywhere(engine, run, cache).finally(() => cache?.close());
    const record = await loadRecord(engine.store, row.id);
    const root = engine.project.root;
    const to = resolve(process.cwd(), opts.to ?? 'outputs');
    const isDefault = to === join(root, 'outputs');
    // The default target shares the run's own checkout state, so it stays incremental.
    // --link: hard links (opt-in); else PIPELINE_CHECKOUT's method, copy by default (src/outputs.ts).
    const method = opts.link === true ? { method: 'link' as const } : {};
    const checkout = isDefault
      ? new Checkout(engine.store, join(engine.cacheDir, 'checkout.json'), root, method)
      : new Checkout(engine.store, join(to, '.pipeline-checkout.json'), to, method);
    let files = 0;
    const stages: Array<{ name: string; files: number; written: number; removed: number }> = [];
    const say = (s: string): void => {
      if (!opts.json) process.stdout.write(s);
    };
    for (const [name, s] of Object.entries(record.stages)) {
      if (!s.output) continue;
      const spec = specFromRecord(name, s);
      const base = isDefault ? engine.outBase(spec) : spec.uses ? join(to, name) : join(to, name);
      const tree = await engine.treeOf(s.output);
      const r = checkout.write(base, s.output.root, tree, { link: spec.uses !== undefined || !isDefault });
      files += r.written;
      stages.push({ name, files: Object.keys(tree).length, written: r.written, removed: r.removed });
      say(`${name}: ${Object.keys(tree).length} files${r.written ? ` (${r.written} written)` : ''}${r.removed ? `, ${r.removed} removed` : ''}\n`);
    }
    checkout.save();
    mkdirSync(to, { recursive: true });
    const tmp = join(to, '.params.yaml.tmp');
    writeFileSync(tmp, `# Resolved parameters of run ${row.id}\n${stringify(record.params)}`);
    renameSync(tmp, join(to, 'params.yaml'));
    if (opts.json) process.stdout.write(`${JSON.stringify({ run: row.id, to, written: files, stages })}\n`);
    say(`run ${row.id} checked out to ${opts.to ?? 'outputs'} (${files} files written)\n`);
    return 0;
  } finally {
    engine.close();
  }
}
