// The live feed: a running `pipeline run` keeps a small summary of its progress (stages, item
// counts, rate, ETA, training epochs) and writes it to cache/live.json at most every ~200 ms;
// `pipeline ui` polls that one file and streams it to the page with server-sent events.
//
// A file rather than a socket: the run never waits on a reader (no reader may be there), a UI
// started in the middle of a run sees where it is at once, and a UI on another port or started
// twice reads the same thing. The file is written to a temp name and renamed, so a reader never
// sees half of it. Each event costs a few field updates; the JSON is built only when written.
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineEvent, Listener, StageState } from '../events.js';
import { isAlive } from '../store.js';

export const LIVE_FILE = 'live.json';
export const PUBLISH_EVERY_MS = 200;

export interface LiveEpoch {
  model: string;
  epoch: number;
  train_loss: number | null;
  val_map: number | null;
  val_f1: number | null;
}

export interface LiveStage {
  name: string;
  state: 'pending' | 'running' | StageState;
  /** Items of a map stage: done of toRun (total in the collection). */
  items?: { done: number; toRun: number; total?: number; failed: number };
  /** Items per second and seconds left, for a running map stage. */
  rate?: number;
  eta?: number;
  /** Units of the stage's own progress (epochs, scored items). */
  progress?: { done?: number; total?: number; message?: string };
  epochs?: LiveEpoch[];
  seconds?: number;
  started?: number;
  error?: string;
}

export interface LiveState {
  format: 1;
  pid: number;
  started: number;
  updated: number;
  /** Set once the run ended: its id (undefined when interrupted before a record), ok. */
  ended?: { run: string | undefined; ok: boolean; interrupted: boolean };
  stages: LiveStage[];
  log: string[];
}

const num = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export interface LivePublisher {
  listener: Listener;
  /** Writes the last state now (the end of a run is written at once anyway). */
  close(): void;
  /** Time spent in the listener and in writes, in ms, and how many writes (for the bench). */
  readonly costMs: number;
  readonly writes: number;
}

/**
 * Removes the temp files of runs that were killed between writing the feed and renaming it
 * (kill -9): their pid is no longer alive. A live run's temp file is left alone.
 */
function removeDeadTemps(cacheDir: string): void {
  let names: string[];
  try {
    names = readdirSync(cacheDir);
  } catch {
    return; // no cache/ yet
  }
  for (const n of names) {
    const m = /^live\.json\.(\d+)\.tmp$/.exec(n);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !isAlive(pid)) rmSync(join(cacheDir, n), { force: true });
  }
}

/** The publisher a `pipeline run` attaches beside its presenter. */
export function livePublisher(cacheDir: string, opts: { everyMs?: number } = {}): LivePublisher {
  const everyMs = opts.everyMs ?? PUBLISH_EVERY_MS;
  const file = join(cacheDir, LIVE_FILE);
  const tmp = join(cacheDir, `${LIVE_FILE}.${process.pid}.tmp`);
  removeDeadTemps(cacheDir);
  const state: LiveState = { format: 1, pid: process.pid, started: Date.now(), updated: Date.now(), stages: [], log: [] };
  const byName = new Map<string, LiveStage>();
  let timer: NodeJS.Timeout | undefined;
  let lastWrite = 0;
  let cost = 0;
  let writes = 0;
  let enabled = true;

  const write = (): void => {
    timer = undefined;
    if (!enabled) return;
    const t0 = performance.now();
    state.updated = Date.now();
    lastWrite = state.updated;
    writes++;
    try {
      writeFileSync(tmp, JSON.stringify(state));
      renameSync(tmp, file);
    } catch {
      // cache/ removed under a running run, or a full disk: the feed is best-effort, the run is not
    }
    cost += performance.now() - t0;
  };
  const schedule = (): void => {
    if (timer !== undefined) return;
    const wait = Math.max(0, everyMs - (Date.now() - lastWrite));
    timer = setTimeout(write, wait);
    timer.unref();
  };
  const stage = (name: string): LiveStage => {
    let s = byName.get(name);
    if (!s) {
      s = { name, state: 'pending' };
      byName.set(name, s);
      state.stages.push(s);
    }
    return s;
  };

  const listener: Listener = (e: EngineEvent) => {
    if (!enabled) return;
    const t0 = performance.now();
    let now = false;
    switch (e.type) {
      case 'run-start':
        if (e.dryRun) {
          enabled = false; // a dry run runs nothing: nothing to watch
          return;
        }
        for (const s of e.stages) stage(s.name);
        now = true;
        break;
      case 'stage-start': {
        const s = stage(e.stage);
        s.state = 'running';
        s.started = Date.now();
        if (e.toRun !== undefined) s.items = { done: 0, toRun: e.toRun, ...(e.total !== undefined ? { total: e.total } : {}), failed: 0 };
        now = true;
        break;
      }
      case 'item': {
        const s = stage(e.stage);
        s.items ??= { done: 0, toRun: e.toRun, failed: 0 };
        s.items.done = e.done;
        s.items.toRun = e.toRun;
        if (!e.ok) s.items.failed++;
        const secs = (Date.now() - (s.started ?? Date.now())) / 1000;
        s.rate = secs > 0 ? e.done / secs : 0;
        s.eta = s.rate > 0 ? (e.toRun - e.done) / s.rate : undefined;
        break;
      }
      case 'progress': {
        const s = stage(e.stage);
        const { point, ...progress } = e.update;
        s.progress = progress;
        // A finished epoch, as the kind reports it (numbers, not its message's text).
        if (point) {
          s.epochs ??= [];
          s.epochs.push({ model: point.series, epoch: point.step, train_loss: num(point.values.train_loss), val_map: num(point.values.val_map), val_f1: num(point.values.val_f1) });
          now = true;
        }
        break;
      }
      case 'log':
        state.log.push(`${e.stage ? `${e.stage}: ` : ''}${e.message}`);
        if (state.log.length > 50) state.log.splice(0, state.log.length - 50);
        break;
      case 'stage-end': {
        const s = stage(e.summary.name);
        s.state = e.summary.state;
        s.seconds = e.summary.seconds;
        if (e.summary.items) s.items = { done: e.summary.items.ran + e.summary.items.cached, toRun: e.summary.items.total, total: e.summary.items.total, failed: e.summary.items.failed };
        if (e.summary.error) s.error = e.summary.error;
        delete s.eta;
        now = true;
        break;
      }
      case 'run-end':
        state.ended = { run: e.summary.run, ok: e.summary.ok, interrupted: e.summary.interrupted };
        cost += performance.now() - t0;
        if (timer) clearTimeout(timer);
        write();
        return;
    }
    cost += performance.now() - t0;
    // Stage boundaries and epochs are worth a write soon; anything else waits for the next tick.
    if (now && Date.now() - lastWrite >= everyMs) {
      if (timer) clearTimeout(timer);
      write();
    } else schedule();
  };

  return {
    listener,
    close() {
      if (timer) {
        clearTimeout(timer);
        write();
      }
    },
    get costMs() {
      return cost;
    },
    get writes() {
      return writes;
    },
  };
}

/** Reads cache/live.json when it changed since `since` (its mtime); undefined otherwise. */
export function readLive(cacheDir: string, since = 0): { mtime: number; state: LiveState | undefined } | undefined {
  const file = join(cacheDir, LIVE_FILE);
  let mtime: number;
  try {
    mtime = statSync(file).mtimeMs;
  } catch {
    return since === 0 ? undefined : { mtime: 0, state: undefined };
  }
  if (mtime === since) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as LiveState;
    return { mtime, state: withLiveness(state) };
  } catch {
    return undefined; // replaced between stat and read: the next poll reads it
  }
}

/** A run that stopped without writing its end (killed) is reported as interrupted. */
export function withLiveness(s: LiveState): LiveState {
  if (s.ended || isAlive(s.pid)) return s;
  return { ...s, ended: { run: undefined, ok: false, interrupted: true } };
}
