import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hashFileSync, type Hash } from '../hash.js';
import { acquireLock } from '../lock.js';
import { loadRecord, type Manifest, type OutputRef } from '../runs.js';
import type { Tree } from '../stage-api.js';
import { UserError } from '../errors.js';
import { formatBytes } from './common.js';
import { openEngine, type WorkspaceOptions } from './runs.js';

export async function verifyCommand(opts: WorkspaceOptions): Promise<number> {
  const engine = openEngine(opts);
  const lock = await acquireLock(engine.cacheDir, { wait: true, onWait: (h) => process.stderr.write(`waiting for another pipeline run to finish (${h})\n`) });
  try {
    let objects = 0;
    let bytes = 0;
    const corrupt: Hash[] = [];
    for (const { hash, size } of engine.store.list()) {
      objects++;
      bytes += size;
      let actual: string;
      try {
        actual = hashFileSync(engine.store.path(hash)).hash;
      } catch (e) {
        actual = `unreadable (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
      }
      if (actual !== hash) {
        corrupt.push(hash);
        engine.store.quarantine(hash);
        engine.state.markQuarantined(hash, `content hashes to ${actual}`);
      }
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ objects, bytes, corrupt })}\n`);
    } else {
      process.stdout.write(`${objects} objects (${formatBytes(bytes)}) checked: ${corrupt.length === 0 ? 'all intact' : `${corrupt.length} corrupt`}\n`);
      for (const h of corrupt) process.stdout.write(`  quarantined ${h} (moved to cache/quarantine/; the next run recomputes what needs it)\n`);
    }
    return corrupt.length === 0 ? 0 : 1;
  } finally {
    lock.release();
    engine.close();
  }
}

function addTree(live: Set<Hash>, tree: Tree | undefined): void {
  for (const h of Object.values(tree ?? {})) live.add(h);
}

async function addOutput(engine: ReturnType<typeof openEngine>, live: Set<Hash>, out: OutputRef | undefined): Promise<void> {
  if (!out) return;
  if (out.type === 'tree') return addTree(live, out.tree);
  live.add(out.manifest);
  try {
    const m = await engine.store.readJson<Manifest>(out.manifest);
    for (const it of Object.values(m.items)) addTree(live, it.tree);
  } catch {
    // manifest already gone: nothing below it to keep
  }
}

export async function gcCommand(opts: WorkspaceOptions & { keepLast?: number; dryRun?: boolean }): Promise<number> {
  // --dry-run computes everything below and removes nothing: each removal is behind `apply`.
  const apply = opts.dryRun !== true;
  const engine = openEngine(opts);
  const lock = await acquireLock(engine.cacheDir, { wait: true, onWait: (h) => process.stderr.write(`waiting for another pipeline run to finish (${h})\n`) });
  try {
    if (opts.keepLast !== undefined && !(Number.isInteger(opts.keepLast) && opts.keepLast >= 0)) throw new UserError(`--keep-last takes a whole number >= 0, got ${opts.keepLast}`, 'e.g. pipeline gc --keep-last 5');
    const rows = engine.runs.list(1_000_000);
    const ids = [...new Set(rows.map((r) => r.id).reverse())];
    const kept = opts.keepLast === undefined ? ids : ids.slice(0, opts.keepLast);
    const live = new Set<Hash>();
    for (const id of kept) {
      try {
        const record = await loadRecord(engine.store, id);
        live.add(id);
        for (const s of Object.values(record.stages)) await addOutput(engine, live, s.output);
      } catch {
        // record already collected
      }
    }
    // The current state of each stage stays usable whatever is kept.
    const states = engine.state.stageStates();
    for (const s of states) await addOutput(engine, live, s.output);

    let removed = 0;
    let freed = 0;
    let keptBytes = 0;
    let keptObjects = 0;
    for (const { hash, size } of [...engine.store.list()]) {
      if (live.has(hash)) {
        keptObjects++;
        keptBytes += size;
        continue;
      }
      if (apply) engine.store.remove(hash);
      removed++;
      freed += size;
    }
    // Cached results that point at removed objects would be hits on nothing: drop them.
    const rowsToDrop: string[] = [];
    for (const r of engine.state.resultOutputs()) {
      const tree = (JSON.parse(r.output) as { tree?: Tree }).tree ?? {};
      if (Object.values(tree).some((h) => !live.has(h))) rowsToDrop.push(r.key);
    }
    if (apply) engine.state.deleteResults(rowsToDrop);
    const keptRunIds = new Set(kept);
    const runsToDrop = ids.filter((id) => !keptRunIds.has(id));
    const runsDropped = apply ? engine.state.deleteRuns(runsToDrop) : runsToDrop.length;
    // Scratch folders (training checkpoints) of fingerprints no stage holds now, and quarantined objects.
    const current = new Set(states.map((s) => `${s.name}-${s.fpHash}`));
    const scratch = join(engine.cacheDir, 'scratch');
    let scratchRemoved = 0;
    if (existsSync(scratch)) {
      for (const d of readdirSync(scratch)) {
        if (!current.has(d)) {
          if (apply) rmSync(join(scratch, d), { recursive: true, force: true });
          scratchRemoved++;
        }
      }
    }
    if (apply) {
      rmSync(join(engine.cacheDir, 'quarantine'), { recursive: true, force: true });
      engine.store.cleanTemp(0);
    }
    const report = {
      ...(apply ? {} : { dry_run: true }),
      removed,
      freed,
      kept: { objects: keptObjects, bytes: keptBytes, runs: kept.length },
      runsDropped,
      resultsDropped: rowsToDrop.length,
      scratchRemoved,
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(
        `${apply ? 'removed' : 'would remove'} ${removed} objects, ${apply ? 'freed' : 'freeing'} ${formatBytes(freed)}; ${apply ? 'kept' : 'would keep'} ${keptObjects} objects (${formatBytes(keptBytes)}) of ${kept.length} run${kept.length === 1 ? '' : 's'}` +
          `${runsDropped ? `; ${apply ? 'forgot' : 'would forget'} ${runsDropped} older run${runsDropped === 1 ? '' : 's'}` : ''}${apply ? '' : ' (dry run: nothing removed)'}\n`,
      );
    }
    return 0;
  } finally {
    lock.release();
    engine.close();
  }
}
