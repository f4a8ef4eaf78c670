// The StageContext a kind runs with: declared params (and nothing else), the store, hashing
// through the file-state cache, progress and logs as events, a scratch folder. One factory,
// used by the engine and by tests that call a kind directly.
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { UserError } from './errors.js';
import type { Listener } from './events.js';
import type { FileStateCache } from './file-state.js';
import type { Hash } from './hash.js';
import type { Params } from './params.js';
import type { JsonValue, StageContext, StoreAccess } from './stage-api.js';

export interface ContextOptions {
  stage: string;
  /** Declared param keys (a section declares every key below it). */
  declared: readonly string[];
  params: Params;
  root: string;
  /** The parameter file, for messages. */
  confFile: string;
  store: StoreAccess;
  files: FileStateCache;
  cacheDir: string;
  signal: AbortSignal;
  concurrency: number;
  listener: Listener;
  fpHash?: Hash;
}

export function makeContext(o: ContextOptions): StageContext {
  const params: Record<string, JsonValue> = {};
  for (const key of o.declared) Object.assign(params, o.params.leaves(key));
  const declares = (key: string): boolean => o.declared.some((d) => key === d || key.startsWith(`${d}.`));
  const confName = relative(o.root, o.confFile) || o.confFile;
  const undeclared = (key: string): UserError =>
    new UserError(`stage '${o.stage}' reads param '${key}', which pipeline.yaml does not declare`, `add '${key.split('.')[0]}' (or '${key}') to the stage's params`);
  return {
    stage: o.stage,
    workspace: o.root,
    params,
    store: o.store,
    signal: o.signal,
    concurrency: o.concurrency,
    param<T>(key: string): T {
      if (!declares(key)) throw undeclared(key);
      const v = o.params.get(key);
      if (v === undefined) throw new UserError(`param '${key}' (read by stage '${o.stage}') is not set in ${confName}`, `add it to ${confName}`);
      return v as T;
    },
    paramOr<T>(key: string, fallback: T): T {
      // An undeclared key is refused even when the conf lacks it: otherwise a kind could read
      // a value that never reaches its fingerprint as soon as someone sets it.
      if (!declares(key)) throw undeclared(key);
      const v = o.params.get(key);
      return v === undefined ? fallback : (v as T);
    },
    async hashFiles(paths: readonly string[]) {
      return o.files.hashManyAsync(paths);
    },
    progress(update) {
      o.listener({ type: 'progress', stage: o.stage, update });
    },
    log(level, message) {
      o.listener({ type: 'log', stage: o.stage, level, message });
    },
    async scratchDir() {
      const d = join(o.cacheDir, 'scratch', `${o.stage}-${o.fpHash ?? 'unplanned'}`);
      mkdirSync(d, { recursive: true });
      return d;
    },
  };
}
