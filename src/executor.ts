// Where item tasks run. LocalExecutor: in this process, the kind's own run() with at most
// --jobs items in flight. BullMQExecutor (distributed/executor.ts): one job per item on Redis,
// computed by `pipeline worker` processes that put outputs in the remote cache. An ItemTask is
// plain data (stage kind, params, input hashes), never a closure over local state.
import type { StageFingerprint } from './fingerprint.js';
import type { Hash } from './hash.js';
import type { ItemErrorJson } from './plan.js';
import type { OutputRef } from './runs.js';
import type { ItemSink, ItemTask, MapContext, MapKind, ReduceContext, ReduceKind, ReduceOutput } from './stage-api.js';

/** What a distributed executor needs to describe a stage's work as jobs. */
export interface JobContextBase {
  fp: StageFingerprint;
  fpHash: Hash;
  declared: readonly string[];
  /** Path deps of the stage (their hashes are in fp.inputs beside the kind's own inputs). */
  pathDeps: readonly string[];
  confFile: string;
}

/** ... for a map stage's items. */
export interface ItemJobContext extends JobContextBase {
  /** Item id -> cache key (the job id). */
  keys: ReadonlyMap<string, Hash>;
}

/** ... for a reduce stage (train, metrics) as one job. */
export interface ReduceJobContext extends JobContextBase {
  /** The upstream outputs by stage name, as the run record holds them (manifests, trees). */
  deps: Readonly<Record<string, OutputRef>>;
  /** The kind's ports -> the upstream stage bound to each (StageSpec.ports). */
  ports?: Readonly<Record<string, string>>;
  onError: 'fail' | 'skip';
}

export interface Executor {
  /** Computes the tasks of one map stage, reporting each item through the sink as it finishes. */
  runItems(kind: MapKind, ctx: MapContext, tasks: readonly ItemTask[], sink: ItemSink, job?: ItemJobContext): Promise<void>;
  /**
   * Runs a reduce stage elsewhere (`run --reduce-on-workers`); item problems found on the way
   * come back in `errors` (under on_error: skip) for the engine to record.
   */
  runReduce?(kind: ReduceKind, ctx: ReduceContext, job: ReduceJobContext): Promise<ReduceOutput & { errors?: ItemErrorJson[] }>;
}

export class LocalExecutor implements Executor {
  async runItems(kind: MapKind, ctx: MapContext, tasks: readonly ItemTask[], sink: ItemSink): Promise<void> {
    await kind.run(ctx, tasks, sink);
  }
}
