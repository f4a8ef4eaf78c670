// The engine: evaluates stages in dependency order (fingerprints, items, plan), runs what is
// stale, records results as they finish, materialises outputs and writes the run record.
// `status` and `run --dry-run` share the evaluation and stop before running anything.
import { availableParallelism } from 'node:os';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as yamlStringify } from 'yaml';
import { loadKind } from '../stages/index.js';
import { cmdKind, cmdVersion, listFiles } from './cmd-kind.js';
import { makeContext } from './context.js';
import { LocalExecutor, type Executor } from './executor.js';
import { openDb, type Db, type Statement } from './db.js';
import { ItemError, storageProblem, UserError } from './errors.js';
import type { Listener, StageSummary, RunSummary, ItemCounts } from './events.js';
import { FileStateCache } from './file-state.js';
import { fingerprintHash, type StageFingerprint } from './fingerprint.js';
import { hashJson, hashParts, type Hash } from './hash.js';
import { Checkout } from './outputs.js';
import type { Conf } from './params.js';
import { planStage, type CachedItem, type CachedStage, type ItemErrorJson, type LastState, type PlanItem, type StagePlan } from './plan.js';
import { RunIndex, saveRecord, type Manifest, type OutputRef, type RunRecord, type StageRecord } from './runs.js';
import { stageParams, type Project, type StageSpec } from './spec.js';
import { isVolatile } from './stage-api.js';
import type {
  Artifact,
  ItemOutput,
  ItemSink,
  ItemTask,
  JsonValue,
  MapContext,
  ReduceContext,
  StageContext,
  StageKind,
  Tree,
} from './stage-api.js';
import { LocalStore } from './store.js';
import type { RemoteCache } from './remote/cache.js';
import pLimit from 'p-limit';
import { packageVersion } from './version.js';

export interface StageView {
  name: string;
  spec: StageSpec;
  kind: StageKind;
  fp: StageFingerprint | undefined;
  fpHash: Hash | undefined;
  plan: StagePlan;
  /** Per-item stages: item id -> output, undefined while not computed. Failed items are absent. */
  items?: Map<string, ItemOutput | undefined>;
  /** Known once every item (or the whole result) is. */
  artifact?: Artifact;
  output?: OutputRef;
  failures: ItemErrorJson[];
  /** For source stages: each item's source description. */
  sources?: Map<string, JsonValue>;
  /** Fingerprint parts known even while upstream stages are stale. */
  parts: { kind: string; version: string; env: Record<string, string>; inputs: Record<string, Hash> };
  /** Item id -> input hash, for per-item stages (undefined while upstream is stale). */
  itemInputs?: Map<string, Hash | undefined>;
  cachedStage?: CachedStage;
  /** Results fetched from the remote cache during this evaluation (items, or 1 for a reduce stage). */
  pulled?: number;
}

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

export interface StatusStage {
  name: string;
  state: 'fresh' | 'stale';
  reasons: string[];
  items?: { total: number; stale: number };
}

const sameSet = (a: readonly string[], b: Iterable<string>): boolean => {
  const s = new Set(b);
  return s.size === a.length && a.every((x) => s.has(x));
};

export class Engine {
  readonly project: Project;
  readonly cacheDir: string;
  readonly db: Db;
  readonly store: LocalStore;
  readonly files: FileStateCache;
  readonly runs: RunIndex;
  readonly jobs: number;
  readonly executor: Executor;
  readonly remote: RemoteCache | undefined;
  readonly reduceOnWorkers: boolean;
  readonly #listener: Listener;
  #quarantined: Set<Hash> | undefined;
  #putResult: Statement;
  #getResult: Statement;
  #pendingResults: unknown[][] = [];
  #lastFlush = Date.now();
  readonly #resolveKind: ((spec: StageSpec) => Promise<StageKind> | undefined) | undefined;

  /**
   * `resolveKind` may supply kinds for stages (tests run the engine on bare graphs with
   * kinds of their own); it falls back to the built-in registry when it returns undefined.
   */
  constructor(
    project: Project,
    opts: {
      listener?: Listener;
      jobs?: number;
      resolveKind?: (spec: StageSpec) => Promise<StageKind> | undefined;
      executor?: Executor;
      /** A remote cache: `status` says what is cached there, `run({pull: true})` fetches from it. */
      remote?: RemoteCache;
      /** Run reduce stages of built-in kinds through the executor's runReduce (a GPU worker trains). */
      reduceOnWorkers?: boolean;
    } = {},
  ) {
    this.remote = opts.remote;
    this.reduceOnWorkers = opts.reduceOnWorkers === true;
    this.executor = opts.executor ?? new LocalExecutor();
    this.#resolveKind = opts.resolveKind;
    this.project = project;
    this.cacheDir = join(project.root, 'cache');
    this.db = openDb(this.cacheDir);
    this.store = new LocalStore(this.cacheDir);
    this.store.onPut = (h) => {
      if (this.#quarantined?.delete(h)) this.db.prepare('DELETE FROM quarantine WHERE hash = ?').run(h);
    };
    if (this.remote) this.remote.store = this.store;
    this.store.onCorrupt = (h) => {
      this.db.prepare('INSERT OR REPLACE INTO quarantine(hash, time, reason) VALUES (?, ?, ?)').run(h, Date.now(), 'changed on disk (found when read)');
      this.quarantined.add(h);
    };
    this.files = new FileStateCache(this.db);
    this.runs = new RunIndex(this.db);
    this.jobs = Math.max(1, opts.jobs ?? availableParallelism());
    this.#listener = opts.listener ?? (() => {});
    this.#putResult = this.db.prepare(
      'INSERT OR REPLACE INTO results(key, stage, item, output, error, time) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#getResult = this.db.prepare('SELECT output, error FROM results WHERE key = ?');
  }

  close(): void {
    this.#flushResults(true);
    this.files.flush();
    this.db.close();
  }

  get quarantined(): Set<Hash> {
    this.#quarantined ??= new Set(
      (this.db.prepare('SELECT hash FROM quarantine').pluck().all() as string[]),
    );
    return this.#quarantined;
  }

  // ---------------------------------------------------------------- kinds and contexts

  async #kind(spec: StageSpec): Promise<StageKind> {
    const injected = this.#resolveKind?.(spec);
    if (injected) return injected;
    if (spec.uses) return loadKind(spec.uses);
    return cmdKind(spec, this.project.root, this.store);
  }

  #context(spec: StageSpec, _kind: StageKind, signal: AbortSignal, fpHash?: Hash): StageContext {
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

  // ---------------------------------------------------------------- state

  #lastCache = new Map<string, Promise<(LastState & { output: OutputRef }) | undefined>>();

  #last(name: string): Promise<(LastState & { output: OutputRef }) | undefined> {
    let p = this.#lastCache.get(name);
    if (p === undefined) {
      p = this.#loadLast(name);
      this.#lastCache.set(name, p);
    }
    return p;
  }

  async #loadLast(name: string): Promise<(LastState & { output: OutputRef }) | undefined> {
    const row = this.db.prepare('SELECT fp, fp_hash, output FROM stage_state WHERE name = ?').get(name) as
      | { fp: string; fp_hash: string; output: string }
      | undefined;
    if (!row) return undefined;
    const output = JSON.parse(row.output) as OutputRef;
    const last: LastState & { output: OutputRef } = { fp: JSON.parse(row.fp) as StageFingerprint, fpHash: row.fp_hash, output };
    if (output.type === 'collection') {
      const items = new Map<string, { input: Hash; result: CachedItem }>();
      if (!this.quarantined.has(output.manifest)) {
        try {
          const m = await this.store.readJson<Manifest>(output.manifest);
          for (const [id, it] of Object.entries(m.items)) {
            items.set(id, { input: it.in, result: { output: it.meta === undefined ? { tree: it.tree } : { tree: it.tree, meta: it.meta } } });
          }
          for (const [id, it] of Object.entries(m.errors ?? {})) items.set(id, { input: it.in, result: { error: it.error } });
        } catch {
          // manifest missing: every item is looked up in the result cache instead
        }
      }
      last.items = items;
    }
    return last;
  }

  #lookupItem = (key: Hash): CachedItem | undefined => {
    const row = this.#getResult.get(key) as { output: string | null; error: string | null } | undefined;
    if (!row) return undefined;
    if (row.error !== null) return { error: JSON.parse(row.error) as ItemErrorJson };
    return row.output === null ? undefined : { output: JSON.parse(row.output) as ItemOutput };
  };

  #lookupStage = (key: Hash): CachedStage | undefined => {
    const row = this.#getResult.get(key) as { output: string | null } | undefined;
    return row?.output ? (JSON.parse(row.output) as CachedStage) : undefined;
  };

  /** A whole-stage (reduce) result in the local result cache. */
  cachedStage(key: Hash): CachedStage | undefined {
    return this.#lookupStage(key);
  }

  hasResult(key: Hash): boolean {
    return this.#getResult.get(key) !== undefined;
  }

  /** Records a result (e.g. one pulled from a remote); committed with the next flush. */
  storeResult(key: Hash, stage: string, item: string, output: unknown, error: unknown): void {
    this.#recordResult(key, stage, item, output, error);
  }

  flushResults(): void {
    this.#flushResults(true);
  }

  #recordResult(key: Hash, stage: string, item: string, output: unknown, error: unknown): void {
    this.#pendingResults.push([key, stage, item, output === undefined ? null : JSON.stringify(output), error === undefined ? null : JSON.stringify(error), Date.now()]);
    this.#flushResults(false);
  }

  /** Item results are committed in small batches (at most ~200 ms of work is lost to a kill). */
  #flushResults(force: boolean): void {
    if (this.#pendingResults.length === 0) return;
    if (!force && this.#pendingResults.length < 256 && Date.now() - this.#lastFlush < 200) return;
    const rows = this.#pendingResults;
    this.#pendingResults = [];
    this.#lastFlush = Date.now();
    this.db.transaction(() => {
      for (const r of rows) this.#putResult.run(...r);
    })();
  }

  #saveStageState(name: string, fp: StageFingerprint, fpHash: Hash, output: OutputRef): void {
    this.#flushResults(true);
    this.db
      .prepare('INSERT OR REPLACE INTO stage_state(name, fp, fp_hash, output, time) VALUES (?, ?, ?, ?, ?)')
      .run(name, JSON.stringify(fp), fpHash, JSON.stringify(output), Date.now());
    this.#lastCache.delete(name);
  }

  // ---------------------------------------------------------------- evaluation

  /** Hashes a workspace path dep: a file's hash, or a folder's Merkle hash of its files. */
  #hashPathDep(rel: string): Hash {
    const files = listFiles(this.project.root, rel);
    const hashes = this.files.hashMany(files.map((f) => join(this.project.root, f)));
    if (files.length === 1 && files[0] === rel) return hashes[0]!.hash;
    return hashParts(files.flatMap((f, i) => [f, hashes[i]!.hash]));
  }

  /**
   * Looks up the stage's stale results in the remote cache. With `pull`, fetches them (objects
   * verified) into the local result cache and returns true (the caller plans again); otherwise
   * adds a reason saying how many are there.
   */
  async #consultRemote(view: StageView, pull: boolean): Promise<boolean> {
    const remote = this.remote;
    if (remote === undefined) return false;
    const stale: Array<{ id: string; key: Hash }> =
      view.plan.type === 'map'
        ? (view.plan.itemPlans ?? []).filter((ip) => ip.cached === undefined && ip.key !== undefined).map((ip) => ({ id: ip.id, key: ip.key! }))
        : !view.plan.fresh && view.fpHash !== undefined
          ? [{ id: '', key: view.fpHash }]
          : [];
    if (stale.length === 0) return false;
    let keys: Set<string>;
    try {
      keys = await remote.resultKeys();
    } catch (e) {
      if (pull) throw e;
      this.#listener({ type: 'log', stage: view.name, level: 'warn', message: `cannot list the remote ${remote.remote.url}: ${(e as Error).message}` });
      return false;
    }
    const found = stale.filter((x) => keys.has(x.key));
    if (found.length === 0) return false;
    if (!pull) {
      view.plan.reasons.push(view.plan.type === 'map' ? `${found.length} item${found.length === 1 ? '' : 's'} cached in remote` : 'cached in remote');
      return false;
    }
    let n = 0;
    const limit = pLimit(16);
    await Promise.all(
      found.map((x) =>
        limit(async () => {
          const r = await remote.pullResult(x.key);
          if (r === undefined || (r.output === undefined && r.error === undefined)) return;
          this.#recordResult(x.key, view.name, x.id, r.output, r.error);
          n++;
        }),
      ),
    );
    this.#flushResults(true);
    view.pulled = n;
    return n > 0;
  }

  async #evaluate(spec: StageSpec, views: ReadonlyMap<string, StageView>, force: boolean, signal: AbortSignal, pull = false): Promise<StageView> {
    const kind = await this.#kind(spec);
    const ctx = this.#context(spec, kind, signal);
    const isMap = kind.type === 'map';
    const itemDep = isMap && !kind.listItems ? spec.stageDeps[0] : undefined;

    const perf = new Set(kind.perfParams ?? []);
    const params: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(ctx.params)) if (!perf.has(k)) params[k] = v as JsonValue;
    const env = (await kind.env?.(ctx)) ?? {};
    const inputs: Record<string, Hash> = { ...((await kind.inputs?.(ctx)) ?? {}) };
    for (const p of spec.pathDeps) inputs[p] = this.#hashPathDep(p);
    const deps: Record<string, Hash> = {};
    const staleDeps: string[] = [];
    for (const d of spec.stageDeps) {
      const up = views.get(d);
      if (up?.artifact === undefined) staleDeps.push(d);
      if (d === itemDep) continue;
      if (up?.artifact) deps[d] = up.artifact.root;
    }
    const wholeDepsKnown = spec.stageDeps.every((d) => d === itemDep || views.get(d)?.artifact !== undefined);
    const isCmd = spec.cmd !== undefined && !spec.uses;
    const parts = { kind: kind.name, version: isCmd ? cmdVersion(spec) : String(kind.version), env, inputs };
    const fp: StageFingerprint | undefined = wholeDepsKnown ? { ...parts, params, deps } : undefined;
    const fpHash = fp ? fingerprintHash(fp) : undefined;
    const last = await this.#last(spec.name);

    const view: StageView = { name: spec.name, spec, kind, fp, fpHash, plan: undefined as unknown as StagePlan, failures: [], parts };

    if (isMap) {
      let items: PlanItem[];
      if (kind.listItems) {
        const listed = await kind.listItems(ctx);
        listed.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        view.sources = new Map();
        items = [];
        for (const it of listed) {
          if (view.sources.has(it.id)) throw new Error(`stage kind '${kind.name}' listed item '${it.id}' twice`);
          view.sources.set(it.id, it.source);
          items.push({ id: it.id, input: hashJson(it.source) });
        }
      } else {
        const up = views.get(itemDep!);
        items = [];
        for (const [id, out] of up?.items ?? []) items.push({ id, input: out ? hashJson(out.tree) : undefined });
      }
      view.itemInputs = new Map(items.map((i) => [i.id, i.input]));
      const planInput = {
        type: 'map' as const,
        fp,
        fpHash,
        items,
        staleDeps,
        ...(itemDep ? { itemDep } : {}),
        last,
        lookupItem: this.#lookupItem,
        quarantined: this.quarantined,
        force,
      };
      view.plan = planStage(planInput);
      if (!force && (await this.#consultRemote(view, pull))) view.plan = planStage(planInput);
      view.items = new Map();
      for (const ip of view.plan.itemPlans ?? []) {
        if (ip.cached?.error) view.failures.push(ip.cached.error);
        else view.items.set(ip.id, ip.cached?.output);
      }
      // Unchanged since the last run (same fingerprint, same items, all from the last manifest):
      // reuse its root instead of rehashing every item.
      if (
        last?.output.type === 'collection' &&
        last.fpHash === fpHash &&
        view.plan.fresh &&
        last.items !== undefined &&
        sameSet(items.map((i) => i.id), last.items.keys()) &&
        (view.plan.itemPlans ?? []).every((ip) => ip.cached !== undefined && last.items!.get(ip.id)?.result === ip.cached)
      ) {
        view.output = last.output;
        view.artifact = { type: 'collection', root: last.output.root, items: view.items as Map<string, ItemOutput> };
      } else if ([...view.items.values()].every((o) => o !== undefined) && view.plan.fresh) {
        this.#finishCollection(view);
      }
    } else {
      const planInput = {
        type: 'reduce' as const,
        fp,
        fpHash,
        staleDeps,
        last,
        lookupStage: this.#lookupStage,
        quarantined: this.quarantined,
        force,
      };
      view.plan = planStage(planInput);
      if (!force && (await this.#consultRemote(view, pull))) view.plan = planStage(planInput);
      if (view.plan.cached) this.#finishTree(view, view.plan.cached);
    }
    return view;
  }

  /** Builds and stores the manifest of a per-item stage whose items are all known. */
  #finishCollection(view: StageView): void {
    const manifest: Manifest = { items: {} };
    const roots: Record<string, Tree> = {};
    const inputs = new Map((view.plan.itemPlans ?? []).map((ip) => [ip.id, ip.input]));
    for (const [id, out] of view.items!) {
      if (!out) throw new Error(`internal: item ${id} of ${view.name} has no output`);
      manifest.items[id] = { in: inputs.get(id) ?? '', tree: out.tree, ...(out.meta ? { meta: out.meta } : {}) };
      roots[id] = out.tree;
    }
    if (view.failures.length > 0) {
      manifest.errors = {};
      for (const f of view.failures) manifest.errors[f.item] = { in: inputs.get(f.item) ?? '', error: f };
    }
    const root = hashJson(roots);
    const manifestHash = this.store.putSync(JSON.stringify(manifest));
    view.output = { type: 'collection', root, manifest: manifestHash };
    view.artifact = { type: 'collection', root, items: view.items as Map<string, ItemOutput> };
  }

  #finishTree(view: StageView, result: CachedStage): void {
    // Volatile files (timings) are not part of what the artifact is.
    const identity: Tree = {};
    for (const [p, h] of Object.entries(result.tree)) if (!isVolatile(p, result.volatile)) identity[p] = h;
    const root = hashJson(identity);
    view.cachedStage = result;
    view.failures = result.errors ?? [];
    view.output = {
      type: 'tree',
      root,
      tree: result.tree,
      ...(result.meta ? { meta: result.meta } : {}),
      ...(result.volatile ? { volatile: result.volatile } : {}),
    };
    view.artifact = { type: 'tree', root, tree: result.tree, ...(result.meta ? { meta: result.meta } : {}) };
  }

  // ---------------------------------------------------------------- status

  async status(targets?: readonly string[]): Promise<{ stages: StatusStage[]; views: Map<string, StageView> }> {
    const order = this.#order(targets);
    const views = new Map<string, StageView>();
    const signal = new AbortController().signal;
    const stages: StatusStage[] = [];
    for (const name of order) {
      const spec = this.project.stages.get(name)!;
      const view = await this.#evaluate(spec, views, false, signal);
      views.set(name, view);
      stages.push(statusOf(view));
    }
    this.files.flush();
    return { stages, views };
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

  // ---------------------------------------------------------------- run

  async run(opts: RunOptions = {}): Promise<RunSummary & { record?: RunRecord }> {
    const started = performance.now();
    const order = this.#order(opts.targets);
    const targets = opts.targets && opts.targets.length > 0 ? [...opts.targets] : [...order];
    const forced = (name: string): boolean =>
      opts.force === true || (Array.isArray(opts.force) && (opts.force as readonly string[]).includes(name));
    const runSignal = opts.signal ?? new AbortController().signal;
    const views = new Map<string, StageView>();
    const summaries: StageSummary[] = [];
    const records: Record<string, StageRecord> = {};
    const checkout = new Checkout(this.store, join(this.cacheDir, 'checkout.json'), this.project.root);
    const notes: string[] = [];
    let ok = true;
    let anyRan = false;
    // Temp files of processes that are gone (a kill -9) are never read: remove them now.
    this.store.cleanTemp(0);
    this.#listener({ type: 'run-start', stages: order.map((name) => ({ name, fresh: false })), ...(opts.dryRun ? { dryRun: true } : {}) });

    for (const name of order) {
      const spec = this.project.stages.get(name)!;
      const t0 = performance.now();
      const blocked = spec.stageDeps.filter((d) => {
        const s = summaries.find((x) => x.name === d);
        return s !== undefined && (s.state === 'failed' || s.state === 'skipped');
      });
      if (blocked.length > 0 || runSignal.aborted) {
        const summary: StageSummary = {
          name,
          state: 'skipped',
          seconds: 0,
          ...(blocked.length > 0 ? { error: `upstream ${blocked.join(', ')} did not complete` } : { error: 'interrupted' }),
        };
        summaries.push(summary);
        this.#listener({ type: 'stage-end', summary });
        ok = false;
        continue;
      }

      const given = opts.substitute?.[name];
      if (given) {
        const output: OutputRef =
          given.type === 'tree'
            ? { type: 'tree', root: given.root, tree: given.tree, ...(given.meta ? { meta: given.meta } : {}) }
            : { type: 'collection', root: given.root, manifest: '' };
        views.set(name, { name, spec, kind: undefined as unknown as StageKind, fp: undefined, fpHash: undefined, plan: { type: given.type === 'tree' ? 'reduce' : 'map', fresh: true, reasons: [], fpHash: undefined }, failures: [], parts: { kind: 'given', version: '', env: {}, inputs: {} }, artifact: given, output });
        continue;
      }

      let view: StageView;
      try {
        view = await this.#evaluate(spec, views, forced(name), runSignal, opts.pull === true && !opts.dryRun);
      } catch (e) {
        const summary = this.#failedSummary(name, e, t0);
        summaries.push(summary);
        this.#listener({ type: 'stage-end', summary });
        ok = false;
        continue;
      }
      views.set(name, view);

      if (opts.dryRun) {
        const st = statusOf(view);
        const summary: StageSummary = {
          name,
          state: st.state === 'fresh' ? 'cached' : 'ran',
          seconds: 0,
          ...(view.plan.items ? { items: { total: view.plan.items.total, ran: view.plan.items.stale, cached: view.plan.items.cached, failed: view.plan.items.failed } } : {}),
          wouldRun: st.reasons,
        };
        summaries.push(summary);
        this.#listener({ type: 'stage-end', summary });
        continue;
      }

      let summary: StageSummary;
      try {
        summary = view.kind.type === 'map' ? await this.#runMap(view, views, runSignal, t0) : await this.#runReduce(view, views, runSignal, t0);
      } catch (e) {
        summary = this.#failedSummary(name, e, t0);
        if (runSignal.aborted) {
          summary.state = 'skipped';
          summary.error = 'interrupted';
        }
      }
      if (summary.state === 'ran') anyRan = true;
      if (summary.state === 'failed') ok = false;
      if (view.output && view.fp && view.fpHash) {
        records[name] = this.#stageRecord(view, summary.state !== 'failed');
        if (summary.state !== 'failed' && !opts.detached) {
          try {
            await this.#materialise(checkout, view);
          } catch (e) {
            this.#listener({ type: 'log', stage: name, level: 'warn', message: `could not write outputs: ${(e as Error).message}` });
          }
        }
      }
      if (summary.state !== 'failed') summary.summary = view.cachedStage?.summary ?? summary.summary;
      summaries.push(summary);
      this.#listener({ type: 'stage-end', summary });
      if (summary.summary) notes.push(...summary.summary);
    }
    this.#flushResults(true);
    this.files.flush();
    checkout.save();

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
      const headline = summaries.map((s) => s.headline).filter((h) => h !== undefined).pop();
      const latest = this.runs.latest();
      if (!opts.detached && (anyRan || latest?.id !== runIdValue || !ok)) {
        this.runs.add(runIdValue, ok, (performance.now() - started) / 1000, {
          targets,
          stages: summaries,
          ...(headline ? { headline } : {}),
        });
      }
      if (ok && !opts.detached) this.#writeParamsFile(runIdValue);
    }
    const result: RunSummary & { record?: RunRecord } = {
      run: runIdValue,
      ok: ok && !interrupted,
      interrupted,
      ...(opts.dryRun ? { dryRun: true } : {}),
      stages: summaries,
      seconds: (performance.now() - started) / 1000,
      notes,
      ...(record ? { record } : {}),
    };
    this.#listener({ type: 'run-end', summary: result });
    return result;
  }

  #writeParamsFile(runId: string): void {
    const dir = join(this.project.root, 'outputs');
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, '.params.yaml.tmp');
    writeFileSync(tmp, `# Resolved parameters of run ${runId}\n${yamlStringify(this.project.params.tree)}`);
    renameSync(tmp, join(dir, 'params.yaml'));
  }

  #failedSummary(name: string, e: unknown, t0: number): StageSummary {
    this.#flushResults(true);
    const failures = e instanceof ItemError ? [e.toJSON()] : undefined;
    return {
      name,
      state: 'failed',
      seconds: (performance.now() - t0) / 1000,
      error: describeError(e),
      ...(failures ? { failures } : {}),
    };
  }

  #stageRecord(view: StageView, ok: boolean): StageRecord {
    const s = view.spec;
    return {
      ...(s.uses ? { uses: s.uses } : {}),
      ...(s.cmd ? { cmd: s.cmd } : {}),
      deps: s.stageDeps,
      pathDeps: s.pathDeps,
      params: s.params,
      outs: s.outs,
      onError: s.onError,
      ...(s.set ? { set: s.set } : {}),
      fp: view.fp!,
      fpHash: view.fpHash!,
      ok,
      ...(view.output ? { output: view.output } : {}),
      ...(view.failures.length > 0 ? { failures: view.failures } : {}),
      ...(view.cachedStage?.headline ? { headline: view.cachedStage.headline } : {}),
    };
  }

  /** Where a stage's files go: outputs/<stage>/ (or its single out) for kinds, the workspace for cmd stages. */
  outBase(spec: StageSpec, root = this.project.root): string {
    return spec.cmd === undefined ? join(root, spec.outs[0] ?? join('outputs', spec.name)) : root;
  }

  async #materialise(checkout: Checkout, view: StageView): Promise<void> {
    const tree = await this.treeOf(view.output!);
    checkout.write(this.outBase(view.spec), view.output!.root, tree, { link: view.spec.cmd === undefined });
  }

  /** All files of an output, relative to its base. */
  async treeOf(output: OutputRef): Promise<Tree> {
    if (output.type === 'tree') return output.tree;
    const m = await this.store.readJson<Manifest>(output.manifest);
    const tree: Tree = {};
    for (const [id, it] of Object.entries(m.items)) {
      for (const [p, h] of Object.entries(it.tree)) {
        if (tree[p] !== undefined && tree[p] !== h) throw new Error(`internal: two items write ${p} (one is ${id})`);
        tree[p] = h;
      }
    }
    return tree;
  }

  #checkTree(stage: string, tree: Tree): void {
    for (const [p, h] of Object.entries(tree)) {
      if (typeof h !== 'string' || !this.store.has(h)) {
        throw new Error(`stage ${stage} reported output '${p}' as object ${String(h)}, which is not in the store`);
      }
    }
  }

  async #runMap(view: StageView, views: ReadonlyMap<string, StageView>, runSignal: AbortSignal, t0: number): Promise<StageSummary> {
    const kind = view.kind;
    if (kind.type !== 'map') throw new Error('internal: not a map kind');
    const spec = view.spec;
    const plans = view.plan.itemPlans ?? [];
    const stageAbort = new AbortController();
    const onRunAbort = (): void => stageAbort.abort();
    runSignal.addEventListener('abort', onRunAbort, { once: true });
    const ctxBase = this.#context(spec, kind, stageAbort.signal, view.fpHash);
    const inputs: Record<string, Artifact> = {};
    const itemDep = kind.listItems ? undefined : spec.stageDeps[0];
    // (view.items holds the cached outputs; stale ones are filled in below)

    const cachedFailures = plans.filter((p) => p.cached?.error);
    if (spec.onError === 'fail' && cachedFailures.length > 0) {
      const f = cachedFailures[0]!.cached!.error!;
      runSignal.removeEventListener('abort', onRunAbort);
      throw new UserError(
        `${formatItemError(f)} (remembered from an earlier run of the same input)`,
        'fix the input, or set on_error: skip for this stage, or run with --force to retry',
      );
    }
    const tasks: ItemTask[] = [];
    const upArtifact = itemDep ? views.get(itemDep)?.artifact : undefined;
    if (itemDep && upArtifact?.type !== 'collection') throw new Error(`internal: upstream ${itemDep} of ${spec.name} is not finished`);
    const upstream = upArtifact?.type === 'collection' ? upArtifact.items : undefined;
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
    // Whole-artifact deps besides the item dependency.
    for (const d of spec.stageDeps) if (d !== itemDep) inputs[d] = views.get(d)!.artifact!;
    const ctx: MapContext = { ...ctxBase, inputs };
    const keys = new Map(plans.map((p) => [p.id, p.key!]));
    const pending = new Set(tasks.map((t) => t.id));
    let fatal: unknown;
    let ran = 0;
    let failed = 0;
    const emitItem = (id: string, okItem: boolean): void => {
      this.#listener({ type: 'item', stage: spec.name, item: id, ok: okItem, done: ran + failed, toRun: tasks.length });
    };
    const sink: ItemSink = {
      done: async (id, output) => {
        if (!pending.delete(id)) throw new Error(`stage ${spec.name} reported item '${id}' twice or not asked for`);
        this.#checkTree(spec.name, output.tree);
        const clean: ItemOutput = output.meta === undefined ? { tree: output.tree } : { tree: output.tree, meta: output.meta };
        this.#recordResult(keys.get(id)!, spec.name, id, clean, undefined);
        view.items!.set(id, clean);
        ran++;
        emitItem(id, true);
      },
      fail: async (id, error) => {
        if (!pending.delete(id)) throw new Error(`stage ${spec.name} reported item '${id}' twice or not asked for`);
        failed++;
        if (error instanceof ItemError) {
          const json = { ...error.toJSON(), item: id };
          this.#recordResult(keys.get(id)!, spec.name, id, undefined, json);
          view.items!.delete(id);
          view.failures.push(json);
          this.#listener({ type: 'log', stage: spec.name, level: 'warn', message: formatItemError(json) });
          if (spec.onError === 'fail' && fatal === undefined) {
            fatal = error;
            stageAbort.abort();
          }
        } else {
          view.items!.delete(id);
          if (fatal === undefined) fatal = error;
          stageAbort.abort();
        }
        emitItem(id, false);
      },
    };
    this.#listener({ type: 'stage-start', stage: spec.name, total: plans.length, toRun: tasks.length });
    try {
      if (tasks.length > 0) {
        await this.executor.runItems(kind, ctx, tasks, sink, {
          fp: view.fp!,
          fpHash: view.fpHash!,
          keys,
          declared: spec.params,
          pathDeps: spec.pathDeps,
          confFile: this.project.confFile,
        });
      }
    } catch (e) {
      fatal ??= e;
    } finally {
      runSignal.removeEventListener('abort', onRunAbort);
      this.#flushResults(true);
    }
    const pulled = view.pulled ?? 0;
    const counts: ItemCounts = {
      total: plans.length,
      ran,
      cached: plans.length - tasks.length - cachedFailures.length - pulled,
      failed: failed + cachedFailures.length,
      ...(pulled > 0 ? { pulled } : {}),
    };
    if (fatal === undefined && pending.size > 0 && !runSignal.aborted) {
      fatal = new Error(`stage kind '${kind.name}' finished without reporting ${pending.size} item(s): ${[...pending].slice(0, 5).join(', ')}`);
    }
    if (fatal !== undefined || runSignal.aborted) {
      for (const id of pending) view.items!.delete(id);
      const s = this.#failedSummary(spec.name, fatal ?? new UserError('interrupted'), t0);
      s.items = counts;
      if (view.failures.length > 0) s.failures = view.failures;
      return s;
    }
    // Items the stage dropped (failures under skip) are gone from view.items already. A stage
    // found unchanged by #evaluate already carries its last output.
    if (tasks.length > 0 || view.artifact === undefined) this.#finishCollection(view);
    // Saved whenever it differs from the last state (also when every item came from the cache
    // of an earlier run or from the remote), so the next evaluation takes the cheap path.
    const last = await this.#last(spec.name);
    if (last?.output.type !== 'collection' || last.output.manifest !== (view.output as { manifest?: string }).manifest || last.fpHash !== view.fpHash) {
      this.#saveStageState(spec.name, view.fp!, view.fpHash!, view.output!);
    }
    return {
      name: spec.name,
      state: tasks.length > 0 ? 'ran' : pulled > 0 ? 'pulled' : !view.plan.fresh ? 'ran' : 'cached',
      items: counts,
      seconds: (performance.now() - t0) / 1000,
      ...(view.failures.length > 0 ? { failures: view.failures } : {}),
    };
  }

  async #runReduce(view: StageView, views: ReadonlyMap<string, StageView>, runSignal: AbortSignal, t0: number): Promise<StageSummary> {
    const spec = view.spec;
    if (view.plan.fresh && view.artifact) {
      if (view.fp && view.fpHash) {
        const last = await this.#last(spec.name);
        if (last?.fpHash !== view.fpHash) this.#saveStageState(spec.name, view.fp, view.fpHash, view.output!);
      }
      this.#listener({ type: 'stage-start', stage: spec.name });
      return {
        name: spec.name,
        state: view.pulled ? 'pulled' : 'cached',
        seconds: (performance.now() - t0) / 1000,
        ...(view.failures.length > 0 ? { failures: view.failures } : {}),
        ...(view.cachedStage?.headline ? { headline: view.cachedStage.headline } : {}),
      };
    }
    const kind = view.kind;
    if (kind.type !== 'reduce') throw new Error('internal: not a reduce kind');
    const inputs: Record<string, Artifact> = {};
    for (const d of spec.stageDeps) inputs[d] = views.get(d)!.artifact!;
    const errors: ItemErrorJson[] = [];
    const ctx: ReduceContext = {
      ...this.#context(spec, kind, runSignal, view.fpHash),
      inputs,
      itemError: (e: ItemError) => {
        if (spec.onError === 'fail') throw e;
        errors.push(e.toJSON());
        this.#listener({ type: 'log', stage: spec.name, level: 'warn', message: e.describe() });
      },
    };
    this.#listener({ type: 'stage-start', stage: spec.name });
    const depOutputs = Object.fromEntries(spec.stageDeps.map((d) => [d, views.get(d)!.output]));
    const elsewhere =
      this.reduceOnWorkers &&
      this.executor.runReduce !== undefined &&
      spec.uses !== undefined &&
      Object.values(depOutputs).every((o) => o !== undefined && (o.type === 'tree' || o.manifest !== ''));
    let out: Awaited<ReturnType<typeof kind.run>>;
    if (elsewhere) {
      const r = await this.executor.runReduce!(kind, ctx, {
        fp: view.fp!,
        fpHash: view.fpHash!,
        declared: spec.params,
        pathDeps: spec.pathDeps,
        confFile: this.project.confFile,
        deps: depOutputs as Record<string, OutputRef>,
        onError: spec.onError,
      });
      for (const e of r.errors ?? []) ctx.itemError(new ItemError(e.item, e.message, { ...(e.file ? { file: e.file } : {}), ...(e.hint ? { hint: e.hint } : {}) }));
      const { errors: _errors, ...rest } = r;
      out = rest;
    } else {
      out = await kind.run(ctx);
    }
    if (runSignal.aborted) throw new UserError('interrupted');
    this.#checkTree(spec.name, out.tree);
    const cached: CachedStage = {
      tree: out.tree,
      ...(out.meta ? { meta: out.meta } : {}),
      ...(out.headline ? { headline: out.headline } : {}),
      ...(out.summary ? { summary: out.summary } : {}),
      ...(errors.length > 0 ? { errors } : {}),
      ...(out.volatile && out.volatile.length > 0 ? { volatile: out.volatile } : {}),
    };
    this.#recordResult(view.fpHash!, spec.name, '', cached, undefined);
    this.#finishTree(view, cached);
    this.#saveStageState(spec.name, view.fp!, view.fpHash!, view.output!);
    return {
      name: spec.name,
      state: 'ran',
      seconds: (performance.now() - t0) / 1000,
      ...(errors.length > 0 ? { failures: errors } : {}),
      ...(out.headline ? { headline: out.headline } : {}),
    };
  }
}

export function statusOf(view: StageView): StatusStage {
  const p = view.plan;
  return {
    name: view.name,
    state: p.fresh ? 'fresh' : 'stale',
    reasons: p.fresh ? [] : p.reasons,
    ...(p.items ? { items: { total: p.items.total, stale: p.items.stale } } : {}),
  };
}

export function formatItemError(e: ItemErrorJson): string {
  return `movie ${e.item}: ${e.file ? `${e.file}: ` : ''}${e.message}${e.hint ? ` (${e.hint})` : ''}`;
}

export function describeError(e: unknown): string {
  // A full disk or a read-only cache inside a stage is the machine's problem, said as one.
  e = storageProblem(e) ?? e;
  if (e instanceof ItemError) return e.describe();
  if (e instanceof UserError) return `${e.message}${e.hint ? `\n  fix: ${e.hint}` : ''}`;
  if (e instanceof Error) return `internal error: ${e.stack ?? e.message}`;
  return `internal error: ${String(e)}`;
}

