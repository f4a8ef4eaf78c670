// Why a stage is stale, as data. The planner and the fingerprint diff produce these; text for
// people is rendered in one place (src/ui/reasons.ts), and `--json` carries both.
import type { JsonValue } from './stage-api.js';

export type Change = 'added' | 'removed' | 'changed';

export type Reason =
  /** No completed run of this stage is recorded. */
  | { type: 'never-run' }
  /** `--force` names this stage (or every stage). */
  | { type: 'forced' }
  /** An upstream stage is stale, so this stage's fingerprint is not known yet. */
  | { type: 'upstream-stale'; stage: string }
  /** The stage uses another kind than last time. */
  | { type: 'kind'; from: string; to: string }
  /** The kind's code changed (its version salt or the hash of its compiled modules); for a cmd stage, its command. */
  | { type: 'code'; kind: string; /** The last run predates code identity (its fingerprint has no code hash): a one-time rerun. */ first?: true }
  /** A declared param's value; undefined = unset. */
  | { type: 'param'; key: string; from?: JsonValue; to?: JsonValue }
  /** A library or tool version that changes results. */
  | { type: 'env'; key: string; from?: string; to?: string }
  /** An external input (a file the kind reads, or a path dep). */
  | { type: 'input'; name: string; change: Change }
  /** A whole-artifact upstream dependency. */
  | { type: 'dep'; stage: string; change: Change }
  /** An explicitly bound port (pipeline.yaml `inputs:`) now reads another stage; undefined = unbound. */
  | { type: 'port'; port: string; from?: string; to?: string }
  /** Items of a per-item stage, compared with its last run. */
  | { type: 'items'; added: number; removed: number; changed: number }
  /** Items whose upstream item is itself stale. */
  | { type: 'waiting'; count: number; on: string }
  /** Results the last run recorded that are gone (deleted, or quarantined as corrupt); no count = the stage's one result. */
  | { type: 'missing'; count?: number }
  /** Results not in the local cache, for no other reason found; no count = the stage's one result. */
  | { type: 'not-cached'; count?: number }
  /** Results that the remote cache holds (`run --pull` fetches them); no count = the stage's one result. */
  | { type: 'remote'; count?: number };

export type ReasonType = Reason['type'];
