// The one place where stale reasons (src/reasons.ts) become text.
import type { Reason } from '../reasons.js';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const fmt = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v));

/** One reason as short phrases (an `items` reason may say up to three things). */
export function reasonLines(r: Reason): string[] {
  switch (r.type) {
    case 'never-run':
      return ['never run'];
    case 'forced':
      return ['forced (--force)'];
    case 'upstream-stale':
      return [`upstream ${r.stage} is stale`];
    case 'kind':
      return [`stage kind changed: ${r.from} -> ${r.to}`];
    case 'code':
      if (r.kind === 'cmd') return ['command changed'];
      return [r.first ? 'stage code changed (the fingerprint now holds a hash of the kind\'s compiled code, which earlier versions did not record: a one-time rerun)' : 'stage code changed'];
    case 'param':
      return [`param ${r.key}: ${fmt(r.from)} -> ${fmt(r.to)}`];
    case 'env':
      return [`${r.key} ${r.from ?? '(none)'} -> ${r.to ?? '(none)'}`];
    case 'input':
      return [`input ${r.name} ${r.change}`];
    case 'dep':
      return [r.change === 'added' ? `now depends on ${r.stage}` : r.change === 'removed' ? `no longer depends on ${r.stage}` : `upstream ${r.stage} changed`];
    case 'port':
      return [`input ${r.port} now reads ${r.to ?? '(its dep)'} (was ${r.from ?? 'its dep'})`];
    case 'items': {
      const out: string[] = [];
      if (r.added > 0) out.push(`${plural(r.added, 'item')} added`);
      if (r.removed > 0) out.push(`${plural(r.removed, 'item')} removed`);
      if (r.changed > 0) out.push(`${plural(r.changed, 'item')} changed`);
      return out;
    }
    case 'waiting':
      return [`${plural(r.count, 'item')} ${r.count === 1 ? 'waits' : 'wait'} on upstream ${r.on}`];
    case 'missing':
      return [r.count === undefined ? 'cached result missing or quarantined' : `${plural(r.count, 'cached result')} missing or quarantined`];
    case 'not-cached':
      return [r.count === undefined ? 'not in the cache' : `${plural(r.count, 'item')} not in the cache`];
    case 'remote':
      return [r.count === undefined ? 'cached in remote' : `${plural(r.count, 'item')} cached in remote`];
    default: {
      const never: never = r;
      return [`(unknown reason ${JSON.stringify(never)})`];
    }
  }
}

/** Reasons as the phrases `status` and a dry run print. */
export function reasonText(reasons: readonly Reason[]): string[] {
  return reasons.flatMap(reasonLines);
}
