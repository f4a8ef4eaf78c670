// Running a per-item stage. Three paths: fresh and unchanged (nothing to do), fresh from the
// cache of earlier runs (the new manifest is written and the stage state saved), and items to
// compute (through the executor, each result recorded as it arrives).
import { ItemError, UserError } from '../errors.js';
import type { ItemCounts, StageSummary } from '../events.js';
import type { ItemOutput, ItemSink, ItemTask, MapContext } from '../stage-api.js';
import type { LocalStore } from '../store.js';
import { itemNoun } from '../registry.js';
import { formatItemError } from '../ui/errors.js';
import { finishCollection } from './artifacts.js';
import { checkTree, failedSummary, inputsOf, nounOf, portsOf, writeManifest, type ExecutionDeps } from './execute.js';
import type { MapView, StageView } from './view.js';

/**
 * The engine's guard around what a map kind reports: each asked-for item once, its files in the
 * store. Test helpers wrap their recording sinks in it too.
 */
export function checkedSink(stage: string, store: LocalStore, ids: Iterable<string>, inner: ItemSink): ItemSink & { pending: Set<string> } {
  const pending = new Set(ids);
  const claim = (id: string): void => {
    if (!pending.delete(id)) throw new Error(`stage ${stage} reported item '${id}' twice or not asked for`);
  };
  return {
    pending,
    done: async (id, output) => {
      claim(id);
      checkTree(store, stage, output.tree);
      await inner.done(id, output.meta === undefined ? { tree: output.tree } : { tree: output.tree, meta: output.meta });
    },
    fail: async (id, error) => {
      claim(id);
      await inner.fail(id, error);
    },
  };
}

/** Saves the stage's state when it differs from the last one, so the next evaluation takes the cheap path. */
async function saveState(x: ExecutionDeps, view: MapView): Promise<void> {
  if (view.unchanged || view.finished === undefined || view.id === undefined) return;
  await writeManifest(x.store, view);
  const last = await x.results.last(view.name);
  const out = view.finished.output;
  if (last?.output.type !== 'collection' || out.type !== 'collection' || last.output.manifest !== out.manifest || last.fpHash !== view.id.fpHash) {
    x.results.saveStageState(view.name, view.id.fp, view.id.fpHash, out);
  }
}

export async function runMap(x: ExecutionDeps, view: MapView, views: ReadonlyMap<string, StageView>, runSignal: AbortSignal, t0: number): Promise<StageSummary> {
  const { kind, spec } = view;
  const noun = itemNoun(spec.uses);
  const plans = view.plan.itemPlans;
  const cachedFailures = plans.filter((p) => p.cached?.error);
  if (spec.onError === 'fail' && cachedFailures.length > 0) {
    throw new UserError(
      `${formatItemError(cachedFailures[0]!.cached!.error!, noun)} (remembered from an earlier run of the same input)`,
      'fix the input, or set on_error: skip for this stage, or run with --force to retry',
    );
  }
  const tasks: ItemTask[] = [];
  let upstream: ReadonlyMap<string, ItemOutput> | undefined;
  if (view.itemDep !== undefined) {
    const up = views.get(view.itemDep)?.finished?.artifact;
    if (up?.type !== 'collection') throw new Error(`internal: upstream ${view.itemDep} of ${spec.name} is not finished`);
    upstream = up.items;
  }
  for (const p of plans) {
    if (p.cached !== undefined) continue;
    const task: ItemTask = { id: p.id, input: p.input! };
    if (view.sources) task.source = view.sources.get(p.id)!;
    else {
      const up = upstream?.get(p.id);
      if (!up) throw new Error(`internal: no upstream output for item ${p.id} of ${spec.name}`);
      task.upstream = up;
    }
    tasks.push(task);
  }
  const pulled = view.pulled;
  const counts = (ran: number, failed: number): ItemCounts => ({
    total: plans.length,
    ran,
    cached: plans.length - tasks.length - cachedFailures.length - pulled,
    failed: failed + cachedFailures.length,
    ...(pulled > 0 ? { pulled } : {}),
  });

  x.listener({ type: 'stage-start', stage: spec.name, total: plans.length, toRun: tasks.length });
  if (tasks.length === 0) {
    // Fresh: every item is cached (here, or pulled from the remote during evaluation).
    if (view.finished === undefined) view.finished = finishCollection(spec.name, view.items, view.itemInputs, view.failures);
    await saveState(x, view);
    return {
      name: spec.name,
      state: pulled > 0 ? 'pulled' : view.plan.fresh ? 'cached' : 'ran',
      items: counts(0, 0),
      seconds: (performance.now() - t0) / 1000,
      ...(view.failures.length > 0 ? { failures: view.failures, ...nounOf(noun) } : {}),
    };
  }

  const stageAbort = new AbortController();
  const onRunAbort = (): void => stageAbort.abort();
  runSignal.addEventListener('abort', onRunAbort, { once: true });
  const ctx: MapContext = {
    ...x.context(spec, stageAbort.signal, view.id!.fpHash),
    inputs: inputsOf(spec, views, view.itemDep),
    ports: portsOf(spec, views),
  };
  const keys = new Map(plans.map((p) => [p.id, p.key!]));
  let fatal: unknown;
  let ran = 0;
  let failed = 0;
  const emitItem = (id: string, okItem: boolean): void => {
    x.listener({ type: 'item', stage: spec.name, item: id, ok: okItem, done: ran + failed, toRun: tasks.length });
  };
  const sink = checkedSink(spec.name, x.store, tasks.map((t) => t.id), {
    done: async (id, output) => {
      x.results.record(keys.get(id)!, spec.name, id, output, undefined);
      view.items.set(id, output);
      ran++;
      emitItem(id, true);
    },
    fail: async (id, error) => {
      failed++;
      view.items.delete(id);
      if (error instanceof ItemError) {
        const json = { ...error.toJSON(), item: id };
        x.results.record(keys.get(id)!, spec.name, id, undefined, json);
        view.failures.push(json);
        x.listener({ type: 'log', stage: spec.name, level: 'warn', message: formatItemError(json, noun) });
        if (spec.onError === 'fail' && fatal === undefined) {
          fatal = error;
          stageAbort.abort();
        }
      } else {
        if (fatal === undefined) fatal = error;
        stageAbort.abort();
      }
      emitItem(id, false);
    },
  });
  const pending = sink.pending;
  try {
    await x.executor.runItems(kind, ctx, tasks, sink, {
      fp: view.id!.fp,
      fpHash: view.id!.fpHash,
      keys,
      declared: spec.params,
      pathDeps: spec.pathDeps,
      confFile: x.project.confFile,
    });
  } catch (e) {
    fatal ??= e;
  } finally {
    runSignal.removeEventListener('abort', onRunAbort);
    x.results.flush();
  }
  if (fatal === undefined && pending.size > 0 && !runSignal.aborted) {
    fatal = new Error(`stage kind '${kind.name}' finished without reporting ${pending.size} item(s): ${[...pending].slice(0, 5).join(', ')}`);
  }
  if (fatal !== undefined || runSignal.aborted) {
    for (const id of pending) view.items.delete(id);
    const s = failedSummary(x.results, spec.name, fatal ?? new UserError('interrupted'), t0, noun);
    s.items = counts(ran, failed);
    if (view.failures.length > 0) s.failures = view.failures;
    return s;
  }
  // Items the stage dropped (failures under skip) are gone from view.items already.
  view.finished = finishCollection(spec.name, view.items, view.itemInputs, view.failures);
  view.unchanged = false;
  await saveState(x, view);
  return {
    name: spec.name,
    state: 'ran',
    items: counts(ran, failed),
    seconds: (performance.now() - t0) / 1000,
    ...(view.failures.length > 0 ? { failures: view.failures, ...nounOf(noun) } : {}),
  };
}
