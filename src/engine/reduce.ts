// Running a whole-stage (reduce) kind. Two paths: fresh (its cached result stands; the stage
// state is saved when it came from an earlier run's cache), or run (here, or on a worker with
// `--reduce-on-workers`), the result recorded under the stage's fingerprint hash.
import { ItemError, UserError } from '../errors.js';
import type { StageSummary } from '../events.js';
import type { CachedStage, ItemErrorJson } from '../plan.js';
import type { OutputRef } from '../runs.js';
import type { ReduceContext, ReduceOutput } from '../stage-api.js';
import { itemNoun } from '../registry.js';
import { finishTree } from './artifacts.js';
import { checkTree, inputsOf, nounOf, portsOf, type ExecutionDeps } from './execute.js';
import type { ReduceView, StageView } from './view.js';

/** ctx.itemError as the engine gives it: throws under on_error: fail, else records and goes on. */
export function itemErrorPolicy(onError: 'fail' | 'skip', record: (e: ItemError) => void): (e: ItemError) => void {
  return (e) => {
    if (onError === 'fail') throw e;
    record(e);
  };
}

export async function runReduce(x: ExecutionDeps, view: ReduceView, views: ReadonlyMap<string, StageView>, runSignal: AbortSignal, t0: number): Promise<StageSummary> {
  const { spec, kind } = view;
  if (view.plan.fresh && view.finished !== undefined && view.id !== undefined) {
    const last = await x.results.last(spec.name);
    if (last?.fpHash !== view.id.fpHash) x.results.saveStageState(spec.name, view.id.fp, view.id.fpHash, view.finished.output);
    x.listener({ type: 'stage-start', stage: spec.name });
    return {
      name: spec.name,
      state: view.pulled > 0 ? 'pulled' : 'cached',
      seconds: (performance.now() - t0) / 1000,
      ...(view.failures.length > 0 ? { failures: view.failures, ...nounOf(itemNoun(spec.uses)) } : {}),
      ...(view.cached?.headline ? { headline: view.cached.headline } : {}),
    };
  }
  const id = view.id;
  if (id === undefined) throw new Error(`internal: ${spec.name} runs before its inputs are known`);
  const errors: ItemErrorJson[] = [];
  const ctx: ReduceContext = {
    ...x.context(spec, runSignal, id.fpHash),
    inputs: inputsOf(spec, views),
    ports: portsOf(spec, views),
    itemError: itemErrorPolicy(spec.onError, (e) => {
      errors.push(e.toJSON());
      x.listener({ type: 'log', stage: spec.name, level: 'warn', message: e.describe(itemNoun(spec.uses)) });
    }),
  };
  x.listener({ type: 'stage-start', stage: spec.name });
  const depOutputs: Record<string, OutputRef | undefined> = Object.fromEntries(spec.stageDeps.map((d) => [d, views.get(d)?.finished?.output]));
  const elsewhere =
    x.reduceOnWorkers &&
    x.executor.runReduce !== undefined &&
    spec.uses !== undefined &&
    Object.values(depOutputs).every((o) => o !== undefined && (o.type === 'tree' || o.manifest !== ''));
  let out: ReduceOutput;
  if (elsewhere) {
    const r = await x.executor.runReduce!(kind, ctx, {
      fp: id.fp,
      fpHash: id.fpHash,
      declared: spec.params,
      pathDeps: spec.pathDeps,
      confFile: x.project.confFile,
      deps: depOutputs as Record<string, OutputRef>,
      ...(spec.ports ? { ports: spec.ports } : {}),
      onError: spec.onError,
    });
    for (const e of r.errors ?? []) ctx.itemError(new ItemError(e.item, e.message, { ...(e.file ? { file: e.file } : {}), ...(e.hint ? { hint: e.hint } : {}) }));
    const { errors: _errors, ...rest } = r;
    out = rest;
  } else {
    out = await kind.run(ctx);
  }
  if (runSignal.aborted) throw new UserError('interrupted');
  checkTree(x.store, spec.name, out.tree);
  const cached: CachedStage = {
    tree: out.tree,
    ...(out.meta ? { meta: out.meta } : {}),
    ...(out.headline ? { headline: out.headline } : {}),
    ...(out.summary ? { summary: out.summary } : {}),
    ...(errors.length > 0 ? { errors } : {}),
    ...(out.volatile && out.volatile.length > 0 ? { volatile: out.volatile } : {}),
  };
  x.results.record(id.fpHash, spec.name, '', cached, undefined);
  view.cached = cached;
  view.failures = errors;
  view.finished = finishTree(cached);
  x.results.saveStageState(spec.name, id.fp, id.fpHash, view.finished.output);
  return {
    name: spec.name,
    state: 'ran',
    seconds: (performance.now() - t0) / 1000,
    ...(errors.length > 0 ? { failures: errors, ...nounOf(itemNoun(spec.uses)) } : {}),
    ...(out.headline ? { headline: out.headline } : {}),
  };
}
