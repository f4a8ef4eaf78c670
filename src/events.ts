// Everything the engine reports, as typed events. The engine never prints: the listr2 UI, the
// plain-line logger and `--json` are presenters of these events.
import type { Headline } from './stage-api.js';
import type { ProgressUpdate } from './stage-api.js';
import type { ItemErrorJson } from './plan.js';
import type { Reason } from './reasons.js';

/** How a stage ended; a dry run says 'would-run' or 'cached' (fresh). */
export type StageState = 'ran' | 'cached' | 'pulled' | 'failed' | 'skipped' | 'would-run';

export interface ItemCounts {
  total: number;
  ran: number;
  cached: number;
  failed: number;
  /** Fetched from the remote cache instead of computed. */
  pulled?: number;
}

export interface StageSummary {
  name: string;
  state: StageState;
  items?: ItemCounts;
  seconds: number;
  /** Item failures (skipped under on_error: skip, or the one that stopped the stage). */
  failures?: ItemErrorJson[];
  /** What the stage's kind calls an item in messages, when not "item". */
  itemNoun?: string;
  /** Why the stage failed, when it did. */
  error?: string;
  /** A dry run: why the stage would run (state 'would-run'); empty for a fresh stage (state 'cached'). */
  wouldRun?: Reason[];
  headline?: Headline;
  summary?: string[];
}

export interface RunSummary {
  run: string | undefined;
  ok: boolean;
  interrupted: boolean;
  dryRun?: boolean;
  stages: StageSummary[];
  seconds: number;
  /** Lines for the end of the run (headline, where outputs are). */
  notes: string[];
}

export type EngineEvent =
  | { type: 'run-start'; stages: Array<{ name: string }>; dryRun?: boolean }
  | { type: 'stage-start'; stage: string; total?: number; toRun?: number }
  | { type: 'item'; stage: string; item: string; ok: boolean; done: number; toRun: number }
  | { type: 'progress'; stage: string; update: ProgressUpdate }
  | { type: 'log'; stage?: string; level: 'info' | 'warn'; message: string }
  | { type: 'stage-end'; summary: StageSummary }
  | { type: 'run-end'; summary: RunSummary };

export type Listener = (e: EngineEvent) => void;
