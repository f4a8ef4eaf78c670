// Where item tasks run. Today: in this process, the kind's own run() with at most --jobs items
// in flight. The seam exists so that a distributed executor (a job queue such as BullMQ on
// Redis, with `pipeline worker` processes on other machines pulling item tasks and putting
// their outputs in a shared store) can replace it: an ItemTask is plain data (stage kind,
// params, input hashes), never a closure over local state.
import type { ItemSink, ItemTask, MapContext, MapKind } from './stage-api.js';

export interface Executor {
  /** Computes the tasks of one map stage, reporting each item through the sink as it finishes. */
  runItems(kind: MapKind, ctx: MapContext, tasks: readonly ItemTask[], sink: ItemSink): Promise<void>;
}

export class LocalExecutor implements Executor {
  async runItems(kind: MapKind, ctx: MapContext, tasks: readonly ItemTask[], sink: ItemSink): Promise<void> {
    await kind.run(ctx, tasks, sink);
  }
}
