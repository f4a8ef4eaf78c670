// The engine: owns a workspace's state (src/engine/state.ts), store and file-state cache, and
// runs its stages. Each stage is evaluated (src/engine/evaluate.ts: fingerprint, items, plan;
// no writes) once its upstream stages are done, then executed (map.ts, reduce.ts); stages whose
// inputs are ready run concurrently (reduce kinds one at a time: they are in-process compute).
// Outputs are checked out as stages finish and the run record is written at the end.
//
//   evaluate.ts  spec + upstream views -> fingerprint, plan (pure reads)
//   map.ts       per-item execution through the executor      reduce.ts  whole-stage execution
//   artifacts.ts manifests, roots, trees                        results.ts the result cache
//   state.ts     every SQL statement                            remote.ts  the remote cache's say
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { join } from 'node:path';
import { itemNoun, loadKind } from '../registry.js';
import { cmdKind } from '../cmd-kind.js';
import { makeContext } from '../context.js';
import { LocalExecutor, type Executor } from '../executor.js';
import type { Listener, StageSummary, RunSummary } from '../events.js';
import { FileStateCache } from '../file-state.js';
import type { Hash } from '../hash.js';
import { Checkout } from '../outputs.js';
import type { CachedStage } from '../plan.js';
import type { Conf } from '../params.js';
import { RunIndex, saveRecord, type Manifest, type OutputRef, type RunRecord, type StageRecord } from '../runs.js';
import { stageParams, type Project, type StageSpec } from '../spec.js';
import type { Artifact, StageContext, StageKind, Tree } from '../stage-api.js';
import { LocalStore } from '../store.js';
import type { RemoteCache } from '../remote/cache.js';
import { packageVersion } from '../version.js';
import { treeOf } from './artifacts.js';
import { stageRecord, writeParamsFile } from './record.js';
import { evaluateStage, type AfterPlan, type EvaluationDeps } from './evaluate.js';
import { failedSummary, type ExecutionDeps } from './execute.js';
import { runMap } from './map.js';
import { runReduce } from './reduce.js';
import { consultRemote } from './remote.js';
import { ResultCache } from './results.js';
import { StateStore } from './state.js';
import { statusOf, type GivenView, type PlannedView, type StageView, type StatusStage } from './view.js';

export type { StageView, StatusStage, PlannedView, MapView, ReduceView, GivenView, Identity, Finished } from './view.js';
export { statusOf } from './view.js';

export interface RunOptions {
  targets?: readonly string[];
  /** Recompute these stages (default none); `true` = every stage of the run. */
  force?: boolean | readonly string[];
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Reproduction: write no outputs, params file or run-index row (the record is still stored). */
  detached?: boolean;
  /** Stages whose output is given instead of computed (e.g. `evaluate` scoring another model). */
  substitute?: Readonly<Record<string, Artifact>>;
  /** Fetch results found in the remote cache instead of computing them (needs the engine's `remote`). */
  pull?: boolean;
}

export interface EngineOptions {
  listener?: Listener;
  jobs?: number;
  /** Kinds for stages (tests run the engine on bare graphs); falls back to the registry when it returns undefined. */
  resolveKind?: (spec: StageSpec) => Promise<StageKind> | undefined;
  executor?: Executor;
  /** A remote cache: `status` says what is cached there, `run({pull: true})` fetches from it. */
  remote?: RemoteCache;
  /** Run reduce stages of built-in kinds through the executor's runReduce (a GPU worker trains). */
  reduceOnWorkers?: boolean;
  /**
   * Read only (`status`, the web UI): the state database refuses writes, new file hashes stay in
   * memory, and only `run({dryRun: true})` runs. A workspace without a cache stays without one.
   */
  readOnly?: boolean;
}

export class Engine {
  readonly project: Project;
  readonly cacheDir: string;
  readonly state: StateStore;
  readonly results: ResultCache;
  readonly store: LocalStore;
  readonly files: FileStateCache;
  readonly runs: RunIndex;
  readonly jobs: number;
  readonly executor: Executor;
  readonly remote: RemoteCache | undefined;
  readonly reduceOnWorkers: boolean;
  readonly readOnly: boolean;
  readonly #listener: Listener;
  readonly #resolveKind: EngineOptions['resolveKind'];

  constructor(project: Project, opts: EngineOptions = {}) {
    this.project = project;
    this.readOnly = opts.readOnly === true;
    this.remote = opts.remote;
    this.reduceOnWorkers = opts.reduceOnWorkers === true;
    this.executor = opts.executor ?? new LocalExecutor();
    this.#resolveKind = opts.resolveKind;
    this.cacheDir = join(project.root, 'cache');
    this.state = new StateStore(this.cacheDir, { readOnly: this.readOnly });
    this.store = new LocalStore(this.cacheDir, { readOnly: this.readOnly });
    this.results = new ResultCache(this.state, this.store);
    this.store.onPut = (h) => this.results.written(h);
    this.store.onCorrupt = (h) => this.results.markCorrupt(h);
    if (this.remote) this.remote.store = this.store;
    this.files = new FileStateCache(this.state);
    this.runs = new RunIndex(this.state);
    this.jobs = Math.max(1, opts.jobs ?? availableParallelism());
    this.#listener = opts.listener ?? (() => {});
  }

  close(): void {
    this.results.flush();
    this.files.flush();
    this.state.close();
  }

  get quarantined(): Set<Hash> {
    return this.results.quarantined;
  }

  /** A whole-stage (reduce) result in the local result cache. */
  cachedStage(key: Hash): CachedStage | undefined {
    return this.results.lookupStage(key);
  }

  hasResult(key: Hash): boolean {
    return this.results.has(key);
  }

  /** Records a result (e.g. one pulled from a remote); committed with the next flush. */
  storeResult(key: Hash, stage: string, item: string, output: unknown, error: unknown): void {
    this.results.record(key, stage, item, output, error);
  }

  flushResults(): void {
    this.results.flush();
  }

  /** Where a stage's files go: outputs/<stage>/ (or its single out) for kinds, the workspace for cmd stages. */
  outBase(spec: StageSpec, root = this.project.root): string {
    return spec.cmd === undefined ? join(root, spec.outs[0] ?? join('outputs', spec.name)) : root;
  }

  /** All files of an output, relative to its base. */
  treeOf(output: OutputRef): Promise<Tree> {
    return treeOf(output, (h) => this.store.readJson<Manifest>(h));
  }

  // ---------------------------------------------------------------- parts

  async #kind(spec: StageSpec): Promise<StageKind> {
    const injected = this.#resolveKind?.(spec);
    if (injected) return injected;
    if (spec.uses) return loadKind(spec.uses);
    return cmdKind(spec, this.project.root, this.store);
  }

  #context(spec: StageSpec, signal: AbortSignal, fpHash?: Hash): StageContext {
    return makeContext({
      stage: spec.name,
      declared: spec.params,
      params: stageParams(this.project.params, spec), // a matrix variant's own values over the conf
      root: this.project.root,
      confFile: this.project.confFile,
      store: this.store,
      files: this.files,
      cacheDir: this.cacheDir,
      signal,
      concurrency: this.jobs,
      listener: this.#listener,
      ...(fpHash ? { fpHash } : {}),
    });
  }

  get #evaluation(): EvaluationDeps {
    return {
      project: this.project,
      results: this.results,
      files: this.files,
      kindOf: (spec) => this.#kind(spec),
      context: (spec, signal, fpHash) => this.#context(spec, signal, fpHash),
    };
  }

  get #execution(): ExecutionDeps {
    return {
      project: this.project,
      results: this.results,
      store: this.store,
      executor: this.executor,
      listener: this.#listener,
      reduceOnWorkers: this.reduceOnWorkers,
      context: (spec, signal, fpHash) => this.#context(spec, signal, fpHash),
    };
  }

  #order(targets?: readonly string[]): string[] {
    const { order, stages } = this.project;
    if (!targets || targets.length === 0) return [...order];
    const need = new Set<string>();
    const add = (n: string): void => {
      if (need.has(n)) return;
      need.add(n);
      for (const d of stages.get(n)?.stageDeps ?? []) add(d);
    };
    for (const t of targets) add(t);
    return order.filter((n) => need.has(n));
  }

  // ---------------------------------------------------------------- status

  /** Every stage's state and reasons; writes nothing (with a read-only engine, not even file hashes). */
  async status(targets?: readonly string[]): Promise<{ stages: StatusStage[]; views: Map<string, StageView> }> {
    const views = new Map<string, StageView>();
    const signal = new AbortController().signal;
    const stages: StatusStage[] = [];
    const afterPlan = this.remote ? consultRemote(this.remote, this.results, this.#listener, false) : undefined;
    for (const name of this.#order(targets)) {
      const view = await evaluateStage(this.#evaluation, this.project.stages.get(name)!, views, false, signal, afterPlan);
      views.set(name, view);
      stages.push(statusOf(view));
    }
    this.files.flush();
    return { stages, views };
  }

  // ---------------------------------------------------------------- run

  async run(opts: RunOptions = {}): Promise<RunSummary & { record?: RunRecord }> {
    if (this.readOnly && !opts.dryRun) throw new Error('internal: a read-only engine only evaluates (status, run --dry-run)');
    const started = performance.now();
    const order = this.#order(opts.targets);
    const targets = opts.targets && opts.targets.length > 0 ? [...opts.targets] : [...order];
    const forced = (name: string): boolean =>
      opts.force === true || (Array.isArray(opts.force) && (opts.force as readonly string[]).includes(name));
    const runSignal = opts.signal ?? new AbortController().signal;
    const views = new Map<string, StageView>();
    const summaries = new Map<string, StageSummary>();
    const records: Record<string, StageRecord> = {};
    const checkout = new Checkout(this.store, join(this.cacheDir, 'checkout.json'), this.project.root);
    const afterPlan: AfterPlan | undefined =
      this.remote ? consultRemote(this.remote, this.results, this.#listener, opts.pull === true && !opts.dryRun) : undefined;
    const reduces = pLimit(1); // reduce kinds compute in this process: one at a time
    // Temp files of processes that are gone (a kill -9) are never read: remove them now.
    if (!this.readOnly) this.store.cleanTemp(0);
    this.#listener({ type: 'run-start', stages: order.map((name) => ({ name })), ...(opts.dryRun ? { dryRun: true } : {}) });

    const end = (summary: StageSummary): StageSummary => {
      summaries.set(summary.name, summary);
      this.#listener({ type: 'stage-end', summary });
      return summary;
    };

    const runStage = async (name: string): Promise<void> => {
      const spec = this.project.stages.get(name)!;
      const t0 = performance.now();
      const blocked = spec.stageDeps.filter((d) => {
        const s = summaries.get(d);
        return s !== undefined && (s.state === 'failed' || s.state === 'skipped');
      });
      if (blocked.length > 0 || runSignal.aborted) {
        end({ name, state: 'skipped', seconds: 0, error: blocked.length > 0 ? `upstream ${blocked.join(', ')} did not complete` : 'interrupted' });
        return;
      }
      const given = opts.substitute?.[name];
      if (given) {
        const output: OutputRef =
          given.type === 'tree'
            ? { type: 'tree', root: given.root, tree: given.tree, ...(given.meta ? { meta: given.meta } : {}) }
            : { type: 'collection', root: given.root, manifest: '' };
        const view: GivenView = { type: 'given', name, spec, finished: { artifact: given, output } };
        views.set(name, view);
        return;
      }
      let view: PlannedView;
      try {
        view = await evaluateStage(this.#evaluation, spec, views, forced(name), runSignal, afterPlan);
      } catch (e) {
        end(failedSummary(this.results, name, e, t0, itemNoun(spec.uses)));
        return;
      }
      views.set(name, view);
      if (opts.dryRun) {
        const p = view.plan;
        end({
          name,
          state: p.fresh ? 'cached' : 'would-run',
          seconds: 0,
          ...(p.type === 'map' ? { items: { total: p.items.total, ran: p.items.stale, cached: p.items.cached, failed: p.items.failed } } : {}),
          wouldRun: p.fresh ? [] : p.reasons,
        });
        return;
      }
      let summary: StageSummary;
      try {
        summary =
          view.type === 'map'
            ? await runMap(this.#execution, view, views, runSignal, t0)
            : await reduces(() => runReduce(this.#execution, view as Extract<PlannedView, { type: 'reduce' }>, views, runSignal, t0));
      } catch (e) {
        summary = failedSummary(this.results, name, e, t0, itemNoun(spec.uses));
        if (runSignal.aborted) {
          summary.state = 'skipped';
          summary.error = 'interrupted';
        }
      }
      if (view.finished && view.id) {
        records[name] = stageRecord(view, summary.state !== 'failed');
        if (summary.state !== 'failed' && !opts.detached) {
          try {
            checkout.write(this.outBase(spec), view.finished.output.root, await this.treeOf(view.finished.output), { link: spec.cmd === undefined });
          } catch (e) {
            this.#listener({ type: 'log', stage: name, level: 'warn', message: `could not write outputs: ${(e as Error).message}` });
          }
        }
      }
      if (summary.state !== 'failed') summary.summary = (view.type === 'reduce' ? view.cached?.summary : undefined) ?? summary.summary;
      end(summary);
    };

    // Each stage starts when its upstream stages have ended.
    const done = new Map<string, Promise<void>>();
    for (const name of order) {
      const deps = (this.project.stages.get(name)!.stageDeps ?? []).map((d) => done.get(d)).filter((p): p is Promise<void> => p !== undefined);
      done.set(name, Promise.all(deps).then(() => runStage(name)));
    }
    await Promise.all(done.values());
    const ordered = order.map((n) => summaries.get(n)).filter((s): s is StageSummary => s !== undefined);
    const ok = ordered.every((s) => s.state !== 'failed' && s.state !== 'skipped');
    const anyRan = ordered.some((s) => s.state === 'ran');
    const notes = ordered.flatMap((s) => s.summary ?? []);
    this.results.flush();
    this.files.flush();
    if (!opts.dryRun) checkout.save();

    const interrupted = runSignal.aborted;
    let runIdValue: string | undefined;
    let record: RunRecord | undefined;
    if (!opts.dryRun && !interrupted && Object.keys(records).length > 0) {
      record = {
        format: 1,
        ok,
        targets,
        params: this.project.params.tree as Conf,
        stages: records,
        versions: { pipeline: packageVersion(), node: process.version },
      };
      runIdValue = saveRecord(this.store, record);
      // The last stage's headline (metrics closes the default DAG) stands for the run.
      const headline = ordered.map((s) => s.headline).filter((h) => h !== undefined).pop();
      const latest = this.runs.latest();
      if (!opts.detached && (anyRan || latest?.id !== runIdValue || !ok)) {
        this.runs.add(runIdValue, ok, (performance.now() - started) / 1000, {
          targets,
          stages: ordered,
          ...(headline ? { headline } : {}),
        });
      }
      if (ok && !opts.detached) writeParamsFile(this.project.root, this.project.params.tree, runIdValue);
    }
    const result: RunSummary & { record?: RunRecord } = {
      run: runIdValue,
      ok: ok && !interrupted,
      interrupted,
      ...(opts.dryRun ? { dryRun: true } : {}),
      stages: ordered,
      seconds: (performance.now() - started) / 1000,
      notes,
      ...(record ? { record } : {}),
    };
    this.#listener({ type: 'run-end', summary: result });
    return result;
  }
}

