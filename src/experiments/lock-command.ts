// `pipeline reproduce --lock [FILE]` and `pipeline checkout --lock [FILE]`: the lock file
// (lock-file.ts) as the thing to re-execute or restore, instead of a run id.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from '../yaml.js';
import { projectFromRecord } from '../commands/reproduce.js';
import { interruptSignal, presenterFor } from '../commands/run.js';
import { openEngine, type WorkspaceOptions } from '../commands/runs.js';
import { Engine } from '../engine/index.js';
import { UserError } from '../errors.js';
import { diffFingerprints } from '../fingerprint.js';
import { acquireLock } from '../lock.js';
import { Checkout } from '../outputs.js';
import { specFromRecord } from '../runs.js';
import { isVolatile, type Tree } from '../stage-api.js';
import { hashJson } from '../hash.js';
import { readLockFile, recordFromLock } from './lock-file.js';
import { reasonText } from '../ui/reasons.js';

export interface LockStageCheck {
  stage: string;
  /** ran | cached | failed | skipped, as in `run --json`. */
  state: string;
  expected: string;
  actual: string | null;
  /** Why the stage's fingerprint differs from the lock's (code, params, environment, inputs). */
  changed?: string[];
}

export async function reproduceLockCommand(file: string | undefined, opts: WorkspaceOptions & { cache?: boolean }): Promise<number> {
  const base = openEngine(opts);
  let lockPath: string;
  let record;
  try {
    const got = readLockFile(base.project.root, file);
    lockPath = got.file;
    record = recordFromLock(got.lock);
  } finally {
    base.close();
  }
  const project = projectFromRecord(base.project, record);
  const interrupt = interruptSignal((s) => process.stderr.write(`\n${s}\n`));
  const lock = await acquireLock(join(project.root, 'cache'), {
    wait: true,
    signal: interrupt.signal,
    onWait: (holder) => process.stderr.write(`waiting for another pipeline run to finish (${holder})\n`),
  });
  try {
    const presenter = await presenterFor(opts.json);
    const engine = new Engine(project, { listener: (e) => presenter.listener(e) });
    let result;
    try {
      result = await engine.run({ force: opts.cache === false, detached: true, signal: interrupt.signal });
      if (!opts.json) await presenter.finish({ ...result, notes: [] });
    } finally {
      engine.close();
    }
    const checks: LockStageCheck[] = [];
    for (const name of project.order) {
      const s = record.stages[name]!;
      const got = result.record?.stages[name];
      const state = result.stages.find((x) => x.name === name)?.state ?? 'skipped';
      const changed = got ? diffFingerprints(s.fp, got.fp) : [];
      checks.push({
        stage: name,
        state,
        expected: s.output!.root,
        actual: got?.output?.root ?? null,
        ...(changed.length > 0 ? { changed: reasonText(changed) } : {}),
      });
    }
    const identical = result.ok && checks.every((c) => c.actual === c.expected);
    const rel = lockPath.startsWith(project.root) ? lockPath.slice(project.root.length + 1) : lockPath;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ lock: rel, identical, ran: checks.filter((c) => c.state === 'ran').map((c) => c.stage), stages: checks })}\n`);
    } else {
      for (const c of checks) {
        const same = c.actual === c.expected;
        process.stdout.write(`${c.stage}: ${c.state}, root ${c.actual ?? '(none)'} ${same ? '= lock' : `!= lock ${c.expected}`}\n`);
        for (const why of c.changed ?? []) process.stdout.write(`    ${why}\n`);
      }
      process.stdout.write(
        identical
          ? `${rel} reproduced: every stage's output root is the lock's${opts.cache === false ? ' (recomputed without the cache)' : ''}\n`
          : `${rel} NOT reproduced: ${result.ok ? `${checks.filter((c) => c.actual !== c.expected).length} stage(s) differ` : 'the reproduction did not complete'}\n`,
      );
    }
    return identical ? 0 : 1;
  } finally {
    lock.release();
    interrupt.dispose();
  }
}

export async function checkoutLockCommand(file: string | undefined, opts: WorkspaceOptions & { to?: string }): Promise<number> {
  const engine = openEngine(opts);
  try {
    const { file: lockPath, lock } = readLockFile(engine.project.root, file);
    const record = recordFromLock(lock);
    const root = engine.project.root;
    const to = resolve(process.cwd(), opts.to ?? 'outputs');
    const isDefault = to === join(root, 'outputs');
    // Every tree first, so that nothing is written when something is missing.
    const trees = new Map<string, Tree>();
    const missing: string[] = [];
    for (const [name, s] of Object.entries(record.stages)) {
      const out = s.output!;
      let tree: Tree;
      if (out.type === 'collection') {
        if (!engine.store.exists(out.manifest)) {
          missing.push(`${name} (its manifest ${out.manifest})`);
          continue;
        }
        tree = await engine.treeOf(out);
      } else {
        // The whole tree (timing files too) from the result cache when it holds this result.
        tree = out.tree;
        const cached = engine.cachedStage(s.fpHash);
        if (cached) {
          const identity: Tree = {};
          for (const [p, h] of Object.entries(cached.tree)) if (!isVolatile(p, cached.volatile)) identity[p] = h;
          if (hashJson(identity) === out.root) tree = cached.tree;
        }
      }
      const absent = Object.entries(tree).filter(([, h]) => !engine.store.exists(h));
      if (absent.length > 0) missing.push(`${name} (${absent.length} file${absent.length === 1 ? '' : 's'}, e.g. ${absent[0]![0]})`);
      else trees.set(name, tree);
    }
    if (missing.length > 0) {
      throw new UserError(
        `the cache does not hold every output of ${lockPath.startsWith(root) ? lockPath.slice(root.length + 1) : lockPath}: ${missing.join(', ')}`,
        'fetch them with `pipeline pull` (remote cache), or recompute them with `pipeline reproduce --lock`',
      );
    }
    const checkout = isDefault
      ? new Checkout(engine.store, join(engine.cacheDir, 'checkout.json'), root)
      : new Checkout(engine.store, join(to, '.pipeline-checkout.json'), to);
    const stages: Array<{ name: string; files: number; written: number; removed: number }> = [];
    let written = 0;
    for (const [name, s] of Object.entries(record.stages)) {
      const spec = specFromRecord(name, s);
      const tree = trees.get(name)!;
      const r = checkout.write(isDefault ? engine.outBase(spec) : join(to, name), s.output!.root, tree, { link: spec.uses !== undefined || !isDefault });
      written += r.written;
      stages.push({ name, files: Object.keys(tree).length, written: r.written, removed: r.removed });
      if (!opts.json) process.stdout.write(`${name}: ${Object.keys(tree).length} files${r.written ? ` (${r.written} written)` : ''}${r.removed ? `, ${r.removed} removed` : ''}\n`);
    }
    checkout.save();
    mkdirSync(to, { recursive: true });
    const tmp = join(to, '.params.yaml.tmp');
    writeFileSync(tmp, `# Resolved parameters of pipeline.lock\n${stringify(record.params)}`);
    renameSync(tmp, join(to, 'params.yaml'));
    if (opts.json) process.stdout.write(`${JSON.stringify({ lock: lockPath, to, written, stages })}\n`);
    else process.stdout.write(`pipeline.lock checked out to ${opts.to ?? 'outputs'} (${written} files written)\n`);
    return 0;
  } finally {
    engine.close();
  }
}
