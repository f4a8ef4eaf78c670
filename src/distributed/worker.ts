// `pipeline worker`: BullMQ workers, one per map kind's queue, computing item jobs.
//
// For each job: check that this install computes what the job's coordinator would (pipeline
// version, kind version, result-changing library versions, external inputs such as the model
// file); fetch the item's upstream objects from the remote into the worker's own cache
// (verified); run the kind on that one item; send its output objects, then its result entry,
// to the remote; return the small JSON result. A data error (ItemError) is a result, not a
// crash: it is returned (and remembered in the remote) and never retried. Anything else throws,
// so BullMQ retries the job; a worker killed mid-job has its job taken over by another once
// the job's lock expires (stalled-job recovery).
import { isDeepStrictEqual } from 'node:util';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { itemNoun, kindInfo, kindNames as registeredKinds, loadKind } from '../registry.js';
import { makeContext } from '../context.js';
import { StateStore } from '../engine/state.js';
import { ItemError, UserError } from '../errors.js';
import { FileStateCache } from '../file-state.js';
import { Params, type Conf } from '../params.js';
import type { RemoteCache } from '../remote/cache.js';
import type { Listener } from '../events.js';
import type { ItemErrorJson } from '../plan.js';
import type { Manifest } from '../runs.js';
import type { Artifact, ItemOutput, JsonValue, MapKind, ReduceKind, ReduceOutput, StageKind } from '../stage-api.js';
import { LocalStore } from '../store.js';
import { packageVersion } from '../version.js';
import { isReduceJob, JOB_FORMAT, queueName, type ItemJob, type ItemJobResult, type ReduceJob, type ReduceJobResult } from './job.js';
import { bullConnection, checkRedis } from './redis.js';

export interface WorkerOptions {
  redis: string;
  /** The worker's remote cache (over its own local store under cacheDir). */
  remote: (store: LocalStore) => RemoteCache;
  cacheDir: string;
  concurrency: number;
  /** Kind names to take (default: every map kind known). */
  kinds?: readonly string[];
  /** Kinds from outside the built-in registry (`--kinds MODULE`). */
  extraKinds?: readonly StageKind[];
  lockDuration?: number;
  /** Stop after this many jobs (then close). */
  maxJobs?: number;
  log?: (line: string) => void;
}

export interface RunningWorker {
  /** Resolves when the workers have closed (stop() or maxJobs reached). */
  closed: Promise<void>;
  stop(): Promise<void>;
  jobs(): number;
}

/** Taken by default: the registered map kinds. */
const registeredMapKinds = (): string[] => registeredKinds().filter((k) => kindInfo(k)?.type === 'map');

/** A job this install must not compute: failed at once (never retried), with the reason. */
function refuse(why: string): never {
  throw new UnrecoverableError(`${why}; this job needs a worker of the same version: update this worker (or the coordinator) and start it again`);
}
/** Taken only when named (`--stages train,metrics`): a worker trains only where asked to. */
const registeredReduceKinds = (): string[] => registeredKinds().filter((k) => kindInfo(k)?.type === 'reduce');

/** Rebuilds a params tree from dotted leaves (what makeContext reads through Params). */
function treeOf(leaves: Record<string, JsonValue>): Conf {
  const tree: Record<string, JsonValue> = {};
  for (const [key, v] of Object.entries(leaves)) {
    const parts = key.split('.');
    let cur = tree;
    for (const p of parts.slice(0, -1)) {
      if (typeof cur[p] !== 'object' || cur[p] === null || Array.isArray(cur[p])) cur[p] = {};
      cur = cur[p] as Record<string, JsonValue>;
    }
    cur[parts[parts.length - 1]!] = v;
  }
  return tree as Conf;
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  await checkRedis(o.redis);
  const log = o.log ?? (() => {});
  const store = new LocalStore(o.cacheDir, { durable: false });
  const state = new StateStore(o.cacheDir);
  const files = new FileStateCache(state);
  const cache = o.remote(store);
  const extra = new Map((o.extraKinds ?? []).map((k) => [k.name, k]));
  const kindNames = o.kinds && o.kinds.length > 0 ? [...o.kinds] : [...registeredMapKinds(), ...[...extra.values()].filter((k) => k.type === 'map').map((k) => k.name)];
  const anyKind = async (name: string): Promise<StageKind> => {
    const k = extra.get(name) ?? (kindInfo(name) !== undefined ? await loadKind(name) : undefined);
    if (k === undefined) throw new UnrecoverableError(`this worker does not know stage kind '${name}' (kinds: ${[...registeredMapKinds(), ...registeredReduceKinds(), ...extra.keys()].join(', ')})`);
    return k;
  };
  for (const n of kindNames) await anyKind(n).catch((e: Error) => Promise.reject(new UserError(`--stages: ${e.message}`)));

  /** The job's kind from this install, after checking the job's format, pipeline and kind versions. */
  const jobKind = async (d: ItemJob | ReduceJob, type: StageKind['type']): Promise<StageKind> => {
    if (d.format !== JOB_FORMAT) refuse(`job format ${d.format}, this worker reads format ${JOB_FORMAT}`);
    if (d.pipeline !== packageVersion()) refuse(`the job comes from pipeline ${d.pipeline}, this worker runs pipeline ${packageVersion()}`);
    const kind = await anyKind(d.kind);
    if (kind.type !== type) throw new UnrecoverableError(`stage kind '${d.kind}' is not a ${type} kind`);
    if (kind.version !== d.version) refuse(`the job needs stage kind ${d.kind} version ${d.version}, this worker has version ${kind.version}`);
    return kind;
  };

  /** The job's context on this worker, after checking that this install computes what the job's would. */
  const checkedContext = async (d: ItemJob | ReduceJob, kind: StageKind, listener: Listener = () => {}) => {
    const ac = new AbortController();
    const ctx = makeContext({
      stage: d.stage,
      declared: d.declared,
      params: new Params(treeOf(d.params)),
      root: d.workspace,
      confFile: d.confFile,
      store,
      files,
      cacheDir: o.cacheDir,
      signal: ac.signal,
      concurrency: 1,
      listener,
      fpHash: d.fpHash,
    });
    const env = (await kind.env?.(ctx)) ?? {};
    if (!isDeepStrictEqual(env, d.env)) refuse(`library versions differ: the job has ${JSON.stringify(d.env)}, this worker ${JSON.stringify(env)}`);
    const inputs = (await kind.inputs?.(ctx)) ?? {};
    for (const [k, h] of Object.entries(inputs)) {
      if (d.inputs[k] !== h) refuse(`input '${k}' differs here (hash ${h}, the job's is ${d.inputs[k] ?? 'absent'}): point this worker at the same file`);
    }
    return ctx;
  };

  /** A reduce job: fetch every upstream object, run the kind, send its outputs, then its result entry. */
  const processReduce = async (job: Job<ReduceJob, ReduceJobResult>): Promise<ReduceJobResult> => {
    const d = job.data;
    const kind = (await jobKind(d, 'reduce')) as ReduceKind;
    let lastProgress = 0;
    const ctx = await checkedContext(d, kind, (e) => {
      if (e.type !== 'progress' || Date.now() - lastProgress < 500) return;
      lastProgress = Date.now();
      void job.updateProgress(e.update as never).catch(() => {});
    });
    const inputs: Record<string, Artifact> = {};
    for (const [name, out] of Object.entries(d.reduce.deps)) {
      if (out.type === 'tree') {
        await cache.fetch(Object.values(out.tree));
        inputs[name] = { type: 'tree', root: out.root, tree: out.tree, ...(out.meta ? { meta: out.meta } : {}) };
      } else {
        await cache.fetch([out.manifest]);
        const m = await store.readJson<Manifest>(out.manifest);
        await cache.fetch(Object.values(m.items).flatMap((it) => Object.values(it.tree)));
        const items = new Map(Object.entries(m.items).map(([id, it]) => [id, it.meta === undefined ? { tree: it.tree } : { tree: it.tree, meta: it.meta }]));
        inputs[name] = { type: 'collection', root: out.root, items };
      }
    }
    const errors: ItemErrorJson[] = [];
    let out: ReduceOutput;
    try {
      out = await kind.run({
        ...ctx,
        inputs,
        ports: Object.fromEntries(Object.entries(d.reduce.ports ?? {}).flatMap(([port, stage]) => (inputs[stage] ? [[port, inputs[stage]]] : []))),
        itemError: (e: ItemError) => {
          if (d.reduce.onError === 'fail') throw e;
          errors.push(e.toJSON());
        },
      });
    } catch (e) {
      if (e instanceof ItemError) {
        log(`${d.stage}: failed: ${e.describe(kind.itemNoun ?? itemNoun(d.kind))}`);
        return { error: e.toJSON() };
      }
      throw e;
    }
    files.flush();
    await cache.send(Object.values(out.tree));
    const cached = { ...out, ...(errors.length > 0 ? { errors } : {}) };
    await cache.putResult(d.key, { stage: d.stage, item: '', output: cached as never });
    log(`${d.stage} : done`);
    return { output: out, errors };
  };

  let count = 0;
  let stopping: Promise<void> | undefined;
  const process_ = async (job: Job<ItemJob | ReduceJob, ItemJobResult | ReduceJobResult>): Promise<ItemJobResult | ReduceJobResult> => {
    if (isReduceJob(job.data)) return processReduce(job as Job<ReduceJob, ReduceJobResult>);
    const d = job.data;
    const kind = (await jobKind(d, 'map')) as MapKind;
    const ctx = await checkedContext(d, kind);
    if (d.task.upstream) await cache.fetch(Object.values(d.task.upstream.tree));
    let result: ItemJobResult | undefined;
    let crash: unknown;
    await kind.run({ ...ctx, inputs: {}, ports: {} }, [d.task], {
      done: async (_id, output: ItemOutput) => {
        result = { output: output.meta === undefined ? { tree: output.tree } : { tree: output.tree, meta: output.meta } };
      },
      fail: async (id, e) => {
        if (e instanceof ItemError) result = { error: { ...e.toJSON(), item: id } };
        else crash = e;
      },
    });
    files.flush();
    if (crash !== undefined) throw crash;
    if (result === undefined) throw new Error(`stage kind '${d.kind}' reported nothing for item ${d.task.id}`);
    if ('output' in result) await cache.send(Object.values(result.output.tree));
    await cache.putResult(d.key, { stage: d.stage, item: d.task.id, ...result });
    log(`${d.stage} ${d.task.id}: ${'output' in result ? 'done' : `failed: ${result.error.message}`}`);
    return result;
  };

  const workers = kindNames.map(
    (name) =>
      new Worker<ItemJob | ReduceJob, ItemJobResult | ReduceJobResult, string>(queueName(name), process_, {
        connection: bullConnection(o.redis),
        concurrency: o.concurrency,
        lockDuration: o.lockDuration ?? 30_000,
        stalledInterval: Math.max(1000, Math.floor((o.lockDuration ?? 30_000) / 2)),
        maxStalledCount: 2,
      }),
  );
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const stop = (): Promise<void> => {
    stopping ??= Promise.all(workers.map((w) => w.close()))
      .then(() => {
        files.flush();
        state.close();
        cache.close();
      })
      .then(resolveClosed);
    return stopping;
  };
  for (const w of workers) {
    w.on('error', (e) => log(`worker error: ${e.message}`));
    w.on('failed', (job, e) => log(`${job?.data.stage ?? '?'} ${job && !isReduceJob(job.data) ? job.data.task.id : ''}: ${e.message}`));
    w.on('completed', () => {
      count++;
      if (o.maxJobs !== undefined && count >= o.maxJobs) void stop();
    });
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  log(`worker ${process.pid} ready: ${kindNames.map(queueName).join(', ')} (concurrency ${o.concurrency})`);
  return { closed, stop, jobs: () => count };
}
