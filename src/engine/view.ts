// What evaluation knows about one stage: its fingerprint (once its whole-artifact inputs are
// known), its plan, and its result once known. A view is one of three shapes: a per-item stage,
// a whole-stage (reduce) stage, or an artifact given instead of computed (`evaluate` scores a
// model from another run).
import type { StageFingerprint } from '../fingerprint.js';
import type { Hash } from '../hash.js';
import type { CachedStage, ItemErrorJson, MapPlan, ReducePlan } from '../plan.js';
import type { Reason } from '../reasons.js';
import type { OutputRef } from '../runs.js';
import type { StageSpec } from '../spec.js';
import type { Artifact, ItemOutput, JsonValue, MapKind, ReduceKind } from '../stage-api.js';

/** A stage's fingerprint and its hash, known once every whole-artifact input is. */
export interface Identity {
  fp: StageFingerprint;
  fpHash: Hash;
}

/** Fingerprint parts known even while upstream stages are stale (reproduce compares them). */
export type FingerprintParts = Pick<StageFingerprint, 'kind' | 'version' | 'code' | 'env' | 'inputs'>;

/** A stage's result: the artifact downstream stages read and the reference records keep. */
export interface Finished {
  artifact: Artifact;
  output: OutputRef;
  /**
   * A collection's manifest (JSON text) when it is not in the store yet: evaluation only hashes
   * it; a run writes it before anything refers to it.
   */
  manifest?: string;
}

interface ViewCommon {
  name: string;
  spec: StageSpec;
  parts: FingerprintParts;
  /** Undefined while a whole-artifact input is stale. */
  id: Identity | undefined;
  /** Item failures: remembered ones from the plan, then those of this run. */
  failures: ItemErrorJson[];
  /** Results fetched from the remote cache during evaluation (items, or 1 for a reduce stage). */
  pulled: number;
  /** Undefined until every item (or the whole result) is known. */
  finished: Finished | undefined;
}

export interface MapView extends ViewCommon {
  type: 'map';
  kind: MapKind;
  plan: MapPlan;
  /** The stage whose items this one maps; undefined for a source stage. */
  itemDep: string | undefined;
  /** Item id -> output, undefined while not computed. Failed items are absent. */
  items: Map<string, ItemOutput | undefined>;
  /** Item id -> input hash (undefined while its upstream item is stale). */
  itemInputs: Map<string, Hash | undefined>;
  /** Source stages: each item's source description. */
  sources: Map<string, JsonValue> | undefined;
  /** True when the result is the stage's last recorded one (nothing to save). */
  unchanged: boolean;
}

export interface ReduceView extends ViewCommon {
  type: 'reduce';
  kind: ReduceKind;
  plan: ReducePlan;
  /** The cached result this view was finished from. */
  cached: CachedStage | undefined;
}

export interface GivenView {
  type: 'given';
  name: string;
  spec: StageSpec;
  finished: Finished;
}

export type StageView = MapView | ReduceView | GivenView;
export type PlannedView = MapView | ReduceView;

export interface StatusStage {
  name: string;
  state: 'fresh' | 'stale';
  reasons: Reason[];
  items?: { total: number; stale: number };
}

export function statusOf(view: PlannedView): StatusStage {
  const p = view.plan;
  return {
    name: view.name,
    state: p.fresh ? 'fresh' : 'stale',
    reasons: p.fresh ? [] : p.reasons,
    ...(p.type === 'map' ? { items: { total: p.items.total, stale: p.items.stale } } : {}),
  };
}
