// The job a coordinator queues for one map-stage item: plain data, small (hashes, never bytes).
// The worker loads the kind from its own install and refuses a job whose pipeline version,
// kind version, result-changing library versions (env) or external inputs (a model file's
// hash) differ from its own: nothing it could compute under another version is ever used.
import type { Hash } from '../hash.js';
import type { ItemErrorJson } from '../plan.js';
import type { OutputRef } from '../runs.js';
import type { ItemOutput, ItemTask, JsonValue, ReduceOutput } from '../stage-api.js';

export const JOB_FORMAT = 1;

export interface ItemJob {
  format: typeof JOB_FORMAT;
  pipeline: string;
  kind: string;
  version: number;
  stage: string;
  /** The coordinator's workspace (source files are read in place there, on a shared file system). */
  workspace: string;
  confFile: string;
  declared: string[];
  /** Every declared param value (speed-only ones too), dotted key -> value. */
  params: Record<string, JsonValue>;
  env: Record<string, string>;
  inputs: Record<string, Hash>;
  fpHash: Hash;
  key: Hash;
  task: ItemTask;
}

/** A job's return value: the output, or a data failure (not retried: it follows on_error). */
export type ItemJobResult = { output: ItemOutput } | { error: ItemErrorJson };

/** A reduce stage (train, metrics) as one job (`run --reduce-on-workers`): job id = its fingerprint hash. */
export interface ReduceJob extends Omit<ItemJob, 'task'> {
  reduce: {
    /** Upstream outputs as the run record holds them: the worker fetches manifests and objects. */
    deps: Record<string, OutputRef>;
    /** The kind's ports -> upstream stage names (StageSpec.ports). */
    ports?: Record<string, string>;
    onError: 'fail' | 'skip';
  };
}

export type ReduceJobResult = { output: ReduceOutput; errors: ItemErrorJson[] } | { error: ItemErrorJson };

export function isReduceJob(d: ItemJob | ReduceJob): d is ReduceJob {
  return (d as ReduceJob).reduce !== undefined;
}

/** Queue name per kind, so that a worker can take some kinds only (`--stages embed`). */
export function queueName(kind: string): string {
  return `pipeline-${kind}`;
}
