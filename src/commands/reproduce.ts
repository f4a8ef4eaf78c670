import { join } from 'node:path';
import { Engine, type StageView } from '../engine/index.js';
import { UserError } from '../errors.js';
import { acquireLock } from '../lock.js';
import { Params } from '../params.js';
import { loadRecord, specFromRecord, type Manifest, type OutputRef, type RunRecord } from '../runs.js';
import { bindRecordPorts } from '../ports.js';
import type { Project, StageSpec } from '../spec.js';
import type { LocalStore } from '../store.js';
import { isVolatile, type Tree } from '../stage-api.js';
import { presenterFor, interruptSignal } from './run.js';
import { openEngine, type WorkspaceOptions } from './runs.js';

export interface Mismatch {
  stage: string;
  item?: string;
  path: string;
  expected: string | null;
  actual: string | null;
}

/** The pipeline exactly as the record has it: its stages and its resolved params. */
export function projectFromRecord(base: Project, record: RunRecord): Project {
  const stages = new Map<string, StageSpec>();
  for (const [name, s] of Object.entries(record.stages)) stages.set(name, specFromRecord(name, s));
  bindRecordPorts(stages);
  const order: string[] = [];
  const done = new Set<string>();
  while (order.length < stages.size) {
    const before = order.length;
    for (const [name, s] of stages) {
      if (!done.has(name) && s.stageDeps.every((d) => done.has(d) || !stages.has(d))) {
        done.add(name);
        order.push(name);
      }
    }
    if (order.length === before) throw new Error('internal: cycle in a run record');
  }
  return { ...base, params: new Params(record.params), stages, order };
}

async function manifestOf(store: LocalStore, out: OutputRef | undefined): Promise<Manifest | undefined> {
  return out?.type === 'collection' ? store.readJson<Manifest>(out.manifest) : undefined;
}

/** What changed since the run among the things a reproduction cannot change: code and inputs. */
async function changedInputs(store: LocalStore, record: RunRecord, views: Map<string, StageView>): Promise<{ errors: string[]; warnings: string[] }> {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const [name, s] of Object.entries(record.stages)) {
    const v = views.get(name);
    if (!v || v.type === 'given') continue;
    if (v.parts.kind !== s.fp.kind || v.parts.version !== s.fp.version) {
      errors.push(`stage ${name}: its code changed since the run (version ${s.fp.version} -> ${v.parts.version})`);
    } else if (s.fp.code !== undefined && v.parts.code !== s.fp.code) {
      errors.push(`stage ${name}: its code changed since the run (the kind's compiled modules hash ${v.parts.code ?? '(none)'} now, ${s.fp.code} in the run)`);
    }
    for (const k of new Set([...Object.keys(s.fp.inputs), ...Object.keys(v.parts.inputs)])) {
      if (s.fp.inputs[k] !== v.parts.inputs[k]) errors.push(`stage ${name}: input ${k} changed since the run`);
    }
    for (const k of new Set([...Object.keys(s.fp.env), ...Object.keys(v.parts.env)])) {
      if (s.fp.env[k] !== v.parts.env[k]) warnings.push(`stage ${name}: ${k} is ${v.parts.env[k] ?? '(none)'} now, ${s.fp.env[k] ?? '(none)'} in the run; outputs may differ`);
    }
    if (v.type === 'map' && v.sources !== undefined) {
      const m = await manifestOf(store, s.output);
      if (!m) continue;
      const then = new Map<string, string>();
      for (const [id, it] of Object.entries(m.items)) then.set(id, it.in);
      for (const [id, it] of Object.entries(m.errors ?? {})) then.set(id, it.in);
      const changed: string[] = [];
      for (const [id, h] of v.itemInputs) if (then.has(id) && then.get(id) !== h) changed.push(id);
      const added = [...v.itemInputs.keys()].filter((id) => !then.has(id));
      const removed = [...then.keys()].filter((id) => !v.itemInputs.has(id));
      const list = (ids: string[]): string => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`;
      if (changed.length) errors.push(`stage ${name}: items changed since the run: ${list(changed)}`);
      if (added.length) errors.push(`stage ${name}: items added since the run: ${list(added)}`);
      if (removed.length) errors.push(`stage ${name}: items removed since the run: ${list(removed)}`);
    }
  }
  return { errors, warnings };
}

function compareTrees(stage: string, item: string | undefined, a: Tree, b: Tree, out: Mismatch[], volatile?: { list: string[]; paths: string[] }): void {
  for (const p of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (a[p] === b[p]) continue;
    if (volatile && isVolatile(p, volatile.list)) volatile.paths.push(`${stage}: ${p}`);
    else out.push({ stage, ...(item ? { item } : {}), path: p, expected: a[p] ?? null, actual: b[p] ?? null });
  }
}

/** Output hashes that differ (volatile files, which carry timings, are listed apart in `timings`). */
export async function compareRecords(store: LocalStore, expected: RunRecord, actual: RunRecord, timings: string[] = []): Promise<Mismatch[]> {
  const out: Mismatch[] = [];
  for (const [name, s] of Object.entries(expected.stages)) {
    const a = s.output;
    const b = actual.stages[name]?.output;
    if (!a) continue;
    if (!b) {
      out.push({ stage: name, path: '(whole stage)', expected: a.root, actual: null });
      continue;
    }
    if (a.root === b.root && (a.type !== 'tree' || b.type !== 'tree' || a.volatile === undefined)) continue;
    if (a.type === 'tree' && b.type === 'tree') compareTrees(name, undefined, a.tree, b.tree, out, { list: a.volatile ?? [], paths: timings });
    else {
      const ma = await manifestOf(store, a);
      const mb = await manifestOf(store, b);
      if (!ma || !mb) {
        out.push({ stage: name, path: '(output type)', expected: a.type, actual: b.type });
        continue;
      }
      for (const id of new Set([...Object.keys(ma.items), ...Object.keys(mb.items)])) {
        compareTrees(name, id, ma.items[id]?.tree ?? {}, mb.items[id]?.tree ?? {}, out);
      }
    }
  }
  return out;
}

export async function reproduceCommand(run: string, opts: WorkspaceOptions & { cache?: boolean; remote?: string }): Promise<number> {
  const base = openEngine(opts);
  let row;
  let record: RunRecord;
  try {
    const { optionalRemoteCache } = await import('./remote.js');
    const { resolveRunAnywhere } = await import('../remote/sync.js');
    const cache = optionalRemoteCache(base, opts.remote);
    row = await resolveRunAnywhere(base, run, cache).finally(() => cache?.close());
    record = await loadRecord(base.store, row.id);
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
    const checker = new Engine(project);
    let problems;
    try {
      const { views } = await checker.status();
      problems = await changedInputs(checker.store, record, views);
    } finally {
      checker.close();
    }
    for (const w of problems.warnings) process.stderr.write(`warning: ${w}\n`);
    if (problems.errors.length > 0) {
      throw new UserError(
        `cannot reproduce run ${row.id}: its inputs changed since\n  ${problems.errors.join('\n  ')}`,
        'restore those inputs (or check out the code of that run), then reproduce again',
      );
    }
    const presenter = await presenterFor(opts.json);
    const engine = new Engine(project, { listener: (e) => presenter.listener(e) });
    let mismatches: Mismatch[];
    const timings: string[] = [];
    let result;
    try {
      result = await engine.run({ force: opts.cache === false, detached: true, signal: interrupt.signal });
      if (!opts.json) await presenter.finish({ ...result, notes: [] });
      mismatches = result.record ? await compareRecords(engine.store, record, result.record, timings) : [];
    } finally {
      engine.close();
    }
    const failed = !result.ok || !result.record;
    const identical = !failed && mismatches.length === 0;
    const report = {
      run: row.id,
      identical,
      mismatches,
      ...(timings.length > 0 ? { timings_differ: timings } : {}),
      ...(failed ? { error: 'the reproduction did not complete' } : {}),
    };
    if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else if (identical) {
      process.stdout.write(`run ${row.id} reproduced: every output hash is identical${opts.cache === false ? ' (recomputed without the cache)' : ''}\n`);
      if (timings.length > 0) process.stdout.write(`  (files that record timings differ, as they should: ${timings.join(', ')})\n`);
    }
    else {
      process.stdout.write(`run ${row.id} NOT reproduced: ${failed ? 'the reproduction failed' : `${mismatches.length} output${mismatches.length === 1 ? '' : 's'} differ`}\n`);
      for (const m of mismatches.slice(0, 30)) {
        process.stdout.write(`  ${m.stage}${m.item ? ` ${m.item}` : ''}: ${m.path}: expected ${m.expected ?? '(none)'}, got ${m.actual ?? '(none)'}\n`);
      }
    }
    return identical ? 0 : 1;
  } finally {
    lock.release();
    interrupt.dispose();
  }
}
