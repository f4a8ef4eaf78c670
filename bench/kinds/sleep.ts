// A trivial map kind for the distributed benches: N items (dataset-free), each waits `ms` and
// stores its id. Loaded by the bench's coordinator (Engine resolveKind) and by its workers
// (`pipeline worker --kinds dist/bench/kinds/sleep.js`).
import { setTimeout as sleep } from 'node:timers/promises';
import { runEach, type MapKind, type StageKind } from '../../src/stage-api.js';

export const SLEEP_KIND: MapKind = {
  name: 'bench-sleep',
  type: 'map',
  version: 1,
  summary: 'bench: each item waits a fixed time and stores its id',
  async listItems(ctx) {
    const n = Number(process.env.BENCH_ITEMS ?? 0);
    const ms = Number(process.env.BENCH_MS ?? 0);
    void ctx;
    return Array.from({ length: n }, (_, i) => ({ id: `i${String(i).padStart(7, '0')}`, source: { i, ms } }));
  },
  async run(ctx, tasks, sink) {
    await runEach(ctx, tasks, sink, async (t) => {
      const { ms } = t.source as { ms: number };
      if (ms > 0) await sleep(ms);
      return { tree: { [`${t.id}.txt`]: await ctx.store.put(t.id) } };
    });
  },
};

const kinds: StageKind[] = [SLEEP_KIND];
export default kinds;
