// The remote cache seen from evaluation: which of a stale stage's results the remote holds.
// `status` only says so (a reason); `run --pull` fetches them (objects verified) into the local
// result cache, and the stage is planned again.
import pLimit from 'p-limit';
import type { Listener } from '../events.js';
import type { Hash } from '../hash.js';
import type { RemoteCache } from '../remote/cache.js';
import type { AfterPlan } from './evaluate.js';
import type { ResultCache } from './results.js';
import type { PlannedView } from './view.js';

function staleKeys(view: PlannedView): Array<{ id: string; key: Hash }> {
  if (view.plan.type === 'map') {
    return view.plan.itemPlans.filter((ip) => ip.cached === undefined && ip.key !== undefined).map((ip) => ({ id: ip.id, key: ip.key! }));
  }
  return !view.plan.fresh && view.id !== undefined ? [{ id: '', key: view.id.fpHash }] : [];
}

export function consultRemote(remote: RemoteCache, results: ResultCache, listener: Listener, pull: boolean): AfterPlan {
  return async (view) => {
    const stale = staleKeys(view);
    if (stale.length === 0) return false;
    let keys: Set<string>;
    try {
      keys = await remote.resultKeys();
    } catch (e) {
      if (pull) throw e;
      listener({ type: 'log', stage: view.name, level: 'warn', message: `cannot list the remote ${remote.remote.url}: ${(e as Error).message}` });
      return false;
    }
    const found = stale.filter((x) => keys.has(x.key));
    if (found.length === 0) return false;
    if (!pull) {
      view.plan.reasons.push(view.plan.type === 'map' ? { type: 'remote', count: found.length } : { type: 'remote' });
      return false;
    }
    let n = 0;
    const limit = pLimit(16);
    await Promise.all(
      found.map((x) =>
        limit(async () => {
          const r = await remote.pullResult(x.key);
          if (r === undefined || (r.output === undefined && r.error === undefined)) return;
          results.record(x.key, view.name, x.id, r.output, r.error);
          n++;
        }),
      ),
    );
    results.flush();
    view.pulled = n;
    return n > 0;
  };
}
