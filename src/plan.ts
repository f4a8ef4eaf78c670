// The planner: for one stage, which items are fresh (their result is cached) and which must be
// computed, and why. Pure: everything it needs (fingerprints, item inputs, the stage's last
// state, a cache lookup) is passed in, so it is tested on bare data and shared by `status`,
// `run --dry-run` and `run`.
import { diffFingerprints, itemKey, type StageFingerprint } from './fingerprint.js';
import type { Headline } from './stage-api.js';
import type { Hash } from './hash.js';
import type { Reason } from './reasons.js';
import type { ItemOutput, JsonObject, Tree } from './stage-api.js';

export interface ItemErrorJson {
  item: string;
  file?: string;
  message: string;
  hint?: string;
}

/** A cached result: an output, or a data failure remembered for this exact input. */
export interface CachedItem {
  output?: ItemOutput;
  error?: ItemErrorJson;
}

export interface CachedStage {
  tree: Tree;
  meta?: JsonObject;
  headline?: Headline;
  summary?: string[];
  errors?: ItemErrorJson[];
  volatile?: string[];
}

export interface LastState {
  fp: StageFingerprint;
  fpHash: Hash;
  /** Per-item stages: item id -> input hash and result, as of the last completed run. */
  items?: ReadonlyMap<string, { input: Hash; result: CachedItem }>;
}

export interface PlanItem {
  id: string;
  /** Undefined while the upstream item is itself stale. */
  input: Hash | undefined;
}

export interface MapPlanInput {
  type: 'map';
  /** Undefined when it depends on a stale whole-artifact input. */
  fp: StageFingerprint | undefined;
  fpHash: Hash | undefined;
  items: readonly PlanItem[];
  /** Upstream stages that are stale (for reasons). */
  staleDeps: readonly string[];
  /** The stage that feeds the items, when not a source stage. */
  itemDep?: string;
  last: LastState | undefined;
  lookupItem(key: Hash): CachedItem | undefined;
  quarantined: ReadonlySet<Hash>;
  force: boolean;
}

export interface ReducePlanInput {
  type: 'reduce';
  fp: StageFingerprint | undefined;
  fpHash: Hash | undefined;
  staleDeps: readonly string[];
  last: LastState | undefined;
  lookupStage(key: Hash): CachedStage | undefined;
  quarantined: ReadonlySet<Hash>;
  force: boolean;
}

export interface ItemPlan {
  id: string;
  input: Hash | undefined;
  key: Hash | undefined;
  cached: CachedItem | undefined;
}

export interface ItemTally {
  total: number;
  stale: number;
  cached: number;
  failed: number;
}

/** A per-item stage's plan: every item's cache key and cached result (if any). */
export interface MapPlan {
  type: 'map';
  fresh: boolean;
  reasons: Reason[];
  fpHash: Hash | undefined;
  items: ItemTally;
  itemPlans: ItemPlan[];
}

/** A whole-stage plan: fresh with its cached result, or stale. */
export type ReducePlan =
  | { type: 'reduce'; fresh: true; reasons: Reason[]; fpHash: Hash; cached: CachedStage }
  | { type: 'reduce'; fresh: false; reasons: Reason[]; fpHash: Hash | undefined };

export type StagePlan = MapPlan | ReducePlan;

function usable(tree: Tree | undefined, quarantined: ReadonlySet<Hash>): boolean {
  if (quarantined.size === 0 || tree === undefined) return true;
  for (const h of Object.values(tree)) if (quarantined.has(h)) return false;
  return true;
}

export function planStage(input: MapPlanInput): MapPlan;
export function planStage(input: ReducePlanInput): ReducePlan;
export function planStage(input: MapPlanInput | ReducePlanInput): StagePlan {
  return input.type === 'map' ? planMap(input) : planReduce(input);
}

const upstreamStale = (staleDeps: readonly string[]): Reason[] => staleDeps.map((stage) => ({ type: 'upstream-stale', stage }));

function fingerprintReasons(fp: StageFingerprint | undefined, last: LastState | undefined, staleDeps: readonly string[]): Reason[] {
  if (last === undefined) return [{ type: 'never-run' }];
  if (fp === undefined) return upstreamStale(staleDeps);
  return diffFingerprints(last.fp, fp);
}

function planMap(p: MapPlanInput): MapPlan {
  const sameStage = p.last !== undefined && p.fpHash !== undefined && p.last.fpHash === p.fpHash;
  const itemPlans: ItemPlan[] = [];
  let stale = 0;
  let failed = 0;
  let waiting = 0;
  let missing = 0;
  for (const it of p.items) {
    if (it.input === undefined || p.fpHash === undefined) {
      itemPlans.push({ id: it.id, input: it.input, key: undefined, cached: undefined });
      stale++;
      if (it.input === undefined) waiting++;
      continue;
    }
    const key = itemKey(p.fpHash, it.id, it.input);
    let cached: CachedItem | undefined;
    if (!p.force) {
      // Cheap path first: the stage and the item's input are as they were last time.
      const prev = sameStage ? p.last!.items?.get(it.id) : undefined;
      cached = prev !== undefined && prev.input === it.input ? prev.result : p.lookupItem(key);
      if (cached?.output !== undefined && !usable(cached.output.tree, p.quarantined)) cached = undefined;
    }
    if (cached === undefined) {
      stale++;
      if (sameStage && p.last!.items?.get(it.id)?.input === it.input) missing++;
    } else if (cached.error !== undefined) {
      failed++;
    }
    itemPlans.push({ id: it.id, input: it.input, key, cached });
  }

  const reasons: Reason[] = [];
  if (stale > 0 || p.force) {
    if (p.force) reasons.push({ type: 'forced' });
    if (p.last === undefined) reasons.push({ type: 'never-run' });
    else {
      reasons.push(...(p.fp === undefined ? upstreamStale(p.staleDeps) : diffFingerprints(p.last.fp, p.fp)));
      const prevItems = p.last.items ?? new Map();
      let added = 0;
      let changed = 0;
      for (const it of p.items) {
        const prev = prevItems.get(it.id);
        if (prev === undefined) added++;
        else if (it.input !== undefined && prev.input !== it.input) changed++;
      }
      const present = new Set(p.items.map((i) => i.id));
      let removed = 0;
      for (const id of prevItems.keys()) if (!present.has(id)) removed++;
      if (added + removed + changed > 0) reasons.push({ type: 'items', added, removed, changed });
      if (waiting > 0 && p.itemDep !== undefined) reasons.push({ type: 'waiting', count: waiting, on: p.itemDep });
      if (missing > 0) reasons.push({ type: 'missing', count: missing });
    }
  } else if (p.last !== undefined && p.fp !== undefined) {
    // Fresh, but possibly from an earlier run's cache rather than the last one.
    const removed = [...(p.last.items?.keys() ?? [])].filter((id) => !p.items.some((i) => i.id === id)).length;
    if (removed > 0) reasons.push({ type: 'items', added: 0, removed, changed: 0 });
  }
  if (reasons.length === 0 && stale > 0) reasons.push({ type: 'not-cached', count: stale });

  return {
    type: 'map',
    fresh: stale === 0 && !p.force && reasons.length === 0,
    reasons,
    fpHash: p.fpHash,
    items: { total: p.items.length, stale, cached: p.items.length - stale - failed, failed },
    itemPlans,
  };
}

function planReduce(p: ReducePlanInput): ReducePlan {
  let cached: CachedStage | undefined;
  if (p.fpHash !== undefined && !p.force) {
    cached = p.lookupStage(p.fpHash);
    if (cached !== undefined && !usable(cached.tree, p.quarantined)) cached = undefined;
  }
  if (cached !== undefined && p.fpHash !== undefined) return { type: 'reduce', fresh: true, reasons: [], fpHash: p.fpHash, cached };
  const reasons: Reason[] = [];
  if (p.force) reasons.push({ type: 'forced' });
  reasons.push(...fingerprintReasons(p.fp, p.last, p.staleDeps));
  if (reasons.length === 0) reasons.push(p.last?.fpHash === p.fpHash ? { type: 'missing' } : { type: 'not-cached' });
  return { type: 'reduce', fresh: false, reasons, fpHash: p.fpHash };
}
