// The shapes of a loaded project (src/spec.ts loads it): its stages as pipeline.yaml declares
// them once checked (StageSpec), the project (Project, ProjectSettings), the loader's options,
// and the workspace's file names.
import type { Params } from './params.js';
import type { JsonValue } from './stage-api.js';

export type OnError = 'fail' | 'skip';

export interface StageSpec {
  name: string;
  /** A registered stage kind (src/registry.ts), or undefined for a cmd stage. */
  uses?: string;
  cmd?: string;
  description?: string;
  /** Upstream stage names, in declared order. */
  stageDeps: string[];
  /**
   * The kind's input ports -> the upstream stage bound to each (src/ports.ts): pipeline.yaml's
   * `inputs:`, else the one dep whose kind writes the port's contract. {} for cmd stages.
   */
  ports: Record<string, string>;
  /**
   * The bindings `inputs:` chose that deps alone do not decide (several deps write the port's
   * contract). Unlike the rest of `ports`, they change what the stage reads without changing its
   * deps' hashes, so they belong in its fingerprint; absent where deps decide every port.
   */
  explicitPorts?: Record<string, string>;
  /** Workspace-relative file or folder paths the stage reads. */
  pathDeps: string[];
  /** Declared param keys (dotted; a section declares all keys below it). */
  params: string[];
  /** Workspace-relative output paths. */
  outs: string[];
  onError: OnError;
  /**
   * Param values this stage sees instead of the conf's (dotted key -> value): a `matrix:`
   * variant's own values, which its downstream variants inherit. Only declared keys reach the
   * fingerprint, as always.
   */
  set?: Record<string, JsonValue>;
  /** A `matrix:` variant: the stage it was expanded from, and its values (for dag and reports). */
  matrix?: { of: string; values: Record<string, JsonValue> };
}

export interface Project {
  /** Absolute workspace folder. */
  root: string;
  specFile: string;
  confFile: string;
  params: Params;
  stages: ReadonlyMap<string, StageSpec>;
  /** Stage names in a topological order (stable: declaration order among ready stages). */
  order: string[];
  /** Top-level settings for sharing and distributing work (docs/DISTRIBUTED.md). */
  settings?: ProjectSettings;
}

export interface ProjectSettings {
  /** Remote cache URL (`s3://bucket/prefix`, a folder, or `file://...`); PIPELINE_REMOTE and --remote override it. */
  remote?: string;
  /** Fetch results found in the remote cache instead of computing them (`run --pull`). */
  remotePull?: boolean;
  /** Where map-stage items run: `local` (default) or `bullmq`. */
  executor?: 'local' | 'bullmq';
  /** Redis URL for the bullmq executor; PIPELINE_REDIS and --redis override it. */
  redis?: string;
}

export interface LoadOptions {
  /** Workspace folder; default: the nearest folder upward from cwd holding pipeline.yaml. */
  root?: string;
  confLayers?: readonly string[];
  overrides?: readonly string[];
  /** Read only (`status`, the web UI): remember nothing under cache/ (e.g. that the spec passed its schema). */
  readOnly?: boolean;
}

export const SPEC_FILE = 'pipeline.yaml';
export const DEFAULT_CONF = 'conf/default.yaml';
