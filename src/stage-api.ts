// The contract between the engine and stage kinds.
//
// A stage kind is a module that default-exports a `StageKind`, registered by the composition
// root (src/registry.ts; the built-in ones are under stages/). The engine owns
// caching, fingerprints, the store, error policy, progress and the run record; a kind only
// turns inputs into outputs. Two shapes:
//
// - map kinds work per item. Item i's output depends only on item i's input and the stage's
//   params, so adding one item reruns one item. A map kind either reads an
//   external source (`listItems`, e.g. frames) or maps the items of its first dependency
//   (e.g. embed over frames).
// - reduce kinds consume whole artifacts (e.g. train reads every fixlen item and the labels).
//
// Everything a kind reads must reach its fingerprint: declared params (ctx.param refuses
// undeclared keys), upstream artifacts (by hash), `inputs()` for external files such as a
// model, `env()` for library versions that change results, and the kind's own code: `code`
// (its module's import.meta.url) lets the engine hash the compiled module and what it imports
// inside the package, so no hand bump is needed; `version` stays as a salt.
import type { Hash } from './hash.js';

export type { Hash } from './hash.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A run's one-line result, e.g. mAP 0.512, optionally beside a baseline's (mean-pool MLP 0.431). */
export interface Headline {
  name: string;
  value: number;
  baseline?: { name: string; value: number };
}

/** Relative path (under outputs/<stage>/ on checkout) -> object hash in the store. */
export type Tree = Record<string, Hash>;

/** One item's output: files in the store, plus small JSON facts (counts, shapes, warnings). */
export interface ItemOutput {
  tree: Tree;
  meta?: JsonObject;
}

/** A map stage's output: item id -> its output, in id order. `root` is the Merkle root. */
export interface CollectionArtifact {
  type: 'collection';
  root: Hash;
  items: ReadonlyMap<string, ItemOutput>;
}

/** A reduce stage's output: a set of files, plus small JSON facts. */
export interface TreeArtifact {
  type: 'tree';
  root: Hash;
  tree: Tree;
  meta?: JsonObject;
}

/** Whether a path is one of an output's volatile files (see ReduceOutput.volatile). */
export function isVolatile(path: string, volatile: readonly string[] | undefined): boolean {
  return volatile !== undefined && volatile.some((v) => (v.endsWith('/') ? path.startsWith(v) : path === v));
}

export type Artifact = CollectionArtifact | TreeArtifact;

/** Read and write access to the content-addressed store. Objects are immutable once written. */
export interface StoreAccess {
  /** Local path of an object, for reading (read-only file). */
  path(hash: Hash): string;
  read(hash: Hash): Promise<Buffer>;
  readJson<T = unknown>(hash: Hash): Promise<T>;
  /** Writes bytes atomically; returns their hash. Writing an object that exists is a no-op. */
  put(data: Uint8Array | string): Promise<Hash>;
  /** Moves a finished file (written under `tempPath()`) into the store; returns its hash. */
  putFile(path: string): Promise<Hash>;
  /** A fresh path inside the cache's temp folder (same file system as the store), for large outputs. */
  tempPath(suffix?: string): string;
}

export interface ProgressUpdate {
  /** Units done and total, e.g. epochs or frames. */
  done?: number;
  total?: number;
  /** Short status shown beside the stage, e.g. "epoch 12/40 loss 0.231". */
  message?: string;
  /**
   * A finished point of a series the kind reports as it goes (a training epoch), as numbers, so
   * that presenters (the web UI's live page) chart it without parsing `message`. Values the
   * live page charts: train_loss, val_map, val_f1 (null when not measured).
   */
  point?: { series: string; step: number; values: Record<string, number | null> };
}

export interface StageContext {
  /** Stage name in pipeline.yaml (e.g. "embed"). */
  readonly stage: string;
  /** Absolute path of the workspace (the folder holding pipeline.yaml). */
  readonly workspace: string;
  /** Value of a declared param (dotted key). Throws for a key the stage does not declare. */
  param<T = unknown>(key: string): T;
  /** Like param(), with a default when the key is absent from the conf. */
  paramOr<T>(key: string, fallback: T): T;
  /** All declared param values, dotted key -> value. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly store: StoreAccess;
  /**
   * Hashes files through the persistent file-state cache: a file whose (device, inode, size,
   * mtime) is unchanged since it was last hashed is not re-read.
   */
  hashFiles(paths: readonly string[]): Promise<Array<{ hash: Hash; size: number }>>;
  /** Aborted on Ctrl-C or when another item fails under `on_error: fail`. */
  readonly signal: AbortSignal;
  progress(update: ProgressUpdate): void;
  log(level: 'info' | 'warn', message: string): void;
  /** How many items the stage may work on at once (from `--jobs`, default: CPU count). */
  readonly concurrency: number;
  /**
   * A folder that survives between runs of this stage with the same fingerprint (e.g. for
   * training checkpoints); removed by `pipeline gc`.
   */
  scratchDir(): Promise<string>;
}

/** An item of a source map stage, as `listItems` describes it. */
export interface SourceItem {
  id: string;
  /**
   * Everything the item's processing reads, including the content hashes of its files
   * (get them with ctx.hashFiles). The engine hashes it into the item's fingerprint, and
   * hands it back in ItemTask.source. Must be plain JSON (an item task is serialisable).
   */
  source: JsonValue;
}

/** One item to compute. Plain data, so that it could be sent to another process. */
export interface ItemTask {
  id: string;
  /** Hash of what the item reads (source or upstream item output). */
  input: Hash;
  /** For source stages: SourceItem.source. */
  source?: JsonValue;
  /** For derived stages: the upstream stage's output for this item. */
  upstream?: ItemOutput;
}

export interface ItemSink {
  /** Reports an item's output; the engine records it in the cache at once. */
  done(id: string, output: ItemOutput): Promise<void>;
  /** Reports an item's failure; throw ItemError for data problems. Follows the stage's on_error. */
  fail(id: string, error: unknown): Promise<void>;
}

export interface MapContext extends StageContext {
  /** Whole-artifact inputs besides the item dependency (deps after the first). */
  readonly inputs: Readonly<Record<string, Artifact>>;
  /** The kind's input ports (KindBase.ports) -> the upstream artifact pipeline.yaml binds to each. */
  readonly ports: Readonly<Record<string, Artifact>>;
}

export interface ReduceContext extends StageContext {
  /** Upstream artifacts by stage name. */
  readonly inputs: Readonly<Record<string, Artifact>>;
  /** The kind's input ports (KindBase.ports) -> the upstream artifact pipeline.yaml binds to each. */
  readonly ports: Readonly<Record<string, Artifact>>;
  /**
   * Reports a problem with one item found while reducing (e.g. a meta file that is not JSON).
   * Under on_error: fail it throws (stopping the stage); under skip it is recorded and the
   * kind goes on without that item.
   */
  itemError(error: import('./errors.js').ItemError): void;
}

export interface ReduceOutput {
  tree: Tree;
  /** Small facts kept in the run record (e.g. selected epoch, metric values). */
  meta?: JsonObject;
  /** One line for `pipeline runs` and the end of `pipeline run`, e.g. "mAP 0.512", with what it compares to. */
  headline?: Headline;
  /** Lines printed at the end of the run (e.g. where the report is). */
  summary?: string[];
  /**
   * Files (paths, or folder prefixes ending in '/') that carry timings or other facts of the
   * particular run (training seconds, TensorBoard wall times): stored and checked out like the
   * rest, but left out of the artifact's identity (so downstream stages do not rerun for them)
   * and out of `reproduce`'s comparison, which lists them apart.
   */
  volatile?: string[];
}

/**
 * One named input of a kind: what artifact it takes. pipeline.yaml binds each port to an
 * upstream stage (`inputs: {features: fixlen}`, or its deps where exactly one dep's kind
 * writes the port's contract); the engine hands the bound artifact in ctx.ports.
 */
export interface PortSpec {
  /** A map stage's collection (one output per item) or a reduce stage's tree. */
  readonly artifact: 'collection' | 'tree';
  /** The artifact's contract, matched against the upstream kind's `outputContract` (features, labels, frames, model, ...). */
  readonly contract: string;
  /** One line for docs and errors, e.g. "the [L,F] features it trains on". */
  readonly doc: string;
  /** A pipeline may leave it unbound (the kind then finds no entry in ctx.ports). */
  readonly optional?: boolean;
  /** A non-source map kind's port whose items it maps: bound to its first dependency. */
  readonly items?: boolean;
}

interface KindBase {
  /** Registered name, used in pipeline.yaml `uses:`. */
  readonly name: string;
  /** Named inputs: port name -> what it takes (read through ctx.ports). */
  readonly ports?: Readonly<Record<string, PortSpec>>;
  /** The contract of what the kind writes (e.g. 'features'), which downstream ports are matched against. */
  readonly outputContract?: string;
  /** Bump when a change to the kind changes its outputs: part of every fingerprint. */
  readonly version: number;
  /**
   * import.meta.url of the kind's module; the engine hashes it and what it imports into the
   * fingerprint (src/code-identity.ts), so a change to the kind's code makes the stage stale.
   */
  readonly code?: string;
  /** One line for `pipeline dag` and docs. */
  readonly summary: string;
  /**
   * What one item is called in messages ("item x1: ..." by default); a built-in kind's word is
   * in its registration (src/registry.ts), for messages given without importing the kind.
   */
  readonly itemNoun?: string;
  /**
   * Declared params that only affect speed or memory (batch size, threads), not results:
   * readable through ctx.param but left out of the fingerprint.
   */
  readonly perfParams?: readonly string[];
  /**
   * The kind's parameter schema (src/param-schema/types.ts): type, range or choices, default and doc of
   * every key it reads. Declare perfParams from it (`perfKeys(schema)`); the composition root
   * registers the same object with the kind (KindInfo.params) so that pipeline.yaml's params are
   * checked at load.
   */
  readonly params?: import('./param-schema/types.js').ParamSchema;
  /** Versions of libraries or tools that change results (e.g. {onnxruntime: "1.30.0"}). */
  env?(ctx: StageContext): Promise<Record<string, string>> | Record<string, string>;
  /**
   * External files the stage reads beyond its items and deps (e.g. the ONNX model), as
   * name -> content hash; part of the fingerprint. Runs during `status`: read-only and cheap.
   */
  inputs?(ctx: StageContext): Promise<Record<string, Hash>>;
}

export interface MapKind extends KindBase {
  readonly type: 'map';
  /**
   * For source stages: the items, read from outside the workspace's artifacts. Runs during
   * `status`: read-only and cheap (hash through ctx.hashFiles). Omit to map the items of the
   * first dependency.
   */
  listItems?(ctx: StageContext): Promise<SourceItem[]>;
  /**
   * Computes the given items, reporting each through the sink as it finishes (in any order).
   * Must not throw for an item's problem: report it with sink.fail. Items may be batched
   * across item boundaries.
   */
  run(ctx: MapContext, tasks: readonly ItemTask[], sink: ItemSink): Promise<void>;
}

export interface ReduceKind extends KindBase {
  readonly type: 'reduce';
  run(ctx: ReduceContext): Promise<ReduceOutput>;
}

export type StageKind = MapKind | ReduceKind;

/**
 * Helper for map kinds whose items are independent: runs `fn` for each task with at most
 * ctx.concurrency in flight, reporting results and failures through the sink.
 */
export async function runEach(
  ctx: StageContext,
  tasks: readonly ItemTask[],
  sink: ItemSink,
  fn: (task: ItemTask) => Promise<ItemOutput>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && !ctx.signal.aborted) {
      const task = tasks[next++]!;
      let out: ItemOutput;
      try {
        out = await fn(task);
      } catch (e) {
        await sink.fail(task.id, e);
        continue;
      }
      await sink.done(task.id, out);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.concurrency, tasks.length)) }, worker));
}
