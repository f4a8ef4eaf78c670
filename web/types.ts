// The shapes the API answers with (docs/UI.md), as the page reads them.
export interface LiveEpoch {
  model: string;
  epoch: number;
  train_loss: number | null;
  val_map: number | null;
  val_f1: number | null;
}
export interface LiveStage {
  name: string;
  state: string;
  items?: { done: number; toRun: number; total?: number; failed: number };
  rate?: number;
  eta?: number;
  progress?: { done?: number; total?: number; message?: string };
  epochs?: LiveEpoch[];
  seconds?: number;
  error?: string;
}
export interface LiveState {
  pid: number;
  started: number;
  updated: number;
  ended?: { run?: string; ok: boolean; interrupted: boolean };
  stages: LiveStage[];
  log: string[];
}
export interface Column {
  key: string;
  label: string;
  group: 'run' | 'param' | 'metric';
}
export interface Row {
  run: string;
  seq: number;
  time: number;
  ok: boolean;
  seconds: number;
  params: Record<string, unknown>;
  metrics: Record<string, number | null>;
  identical?: string;
}
export interface RunsPage {
  total: number;
  matched: number;
  offset: number;
  limit: number;
  sort: string;
  desc: boolean;
  columns: Column[];
  rows: Row[];
}
export interface GenreRow {
  genre: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
  ap: number | null;
}
export interface Scores {
  model: string;
  per_genre: GenreRow[];
  mAP: number | null;
  micro_ap: number | null;
  micro_f1: number;
  macro_f1: number;
  weighted_f1: number;
}
export interface Metrics extends Scores {
  split: string;
  movies: number;
  threshold: number;
  baseline: Scores | null;
  notes: string[];
  genres_without_positives: string[];
}
export interface Published {
  key: string;
  label: string;
  short: string;
  meanAp: number | null;
  rows: Record<string, { precision: number; recall: number; ap: number | null }>;
}
export interface Curve {
  genre: string;
  ap: number | null;
  recall: number[];
  precision: number[];
}
export interface HistoryEpoch {
  epoch: number;
  train_loss?: number | null;
  val_loss?: number | null;
  val_map?: number | null;
  val_weighted_f1?: number | null;
}
export interface History {
  epochs: HistoryEpoch[];
  selected?: { epoch: number; metric: string; value: number | null };
}
export interface ArtifactFile {
  path: string;
  hash: string;
  size: number | null;
  npy?: { dtype: string; shape: number[] };
  url: string;
}
export interface StageDetail {
  name: string;
  uses?: string;
  cmd?: string;
  deps: string[];
  state: string;
  seconds: number | null;
  items?: { total: number; ran: number; cached: number; failed: number };
  failures: Array<{ item: string; file?: string; message: string; hint?: string }>;
  error?: string;
  fpHash: string;
  output?: { type: string; root: string; files: ArtifactFile[]; fileCount: number; bytes: number; bytesCounted?: number; items?: number };
}
export interface RunDetail {
  id: string;
  seq: number;
  time: number;
  seconds: number;
  ok: boolean;
  targets: string[];
  headline: { name: string; value: number; baseline?: { name: string; value: number } } | null;
  versions: Record<string, string>;
  params: Record<string, unknown>;
  metrics: Metrics | null;
  published: Published[];
  curves: { model: Curve[]; baseline: Curve[] | null } | null;
  history: { model: History | null; baseline: History | null };
  stages: StageDetail[];
}
export interface Compare {
  runs: Array<{ id: string; time: number; ok: boolean; mAP: number | null; model: string | null; baseline_mAP: number | null; history: { model: History | null; baseline: History | null } }>;
  params: Array<{ key: string; values: unknown[]; differs: boolean }>;
  changed: string[];
  ap: Array<{ genre: string; values: Array<number | null>; deltas: Array<number | null> }>;
}
export interface StatusStage {
  name: string;
  kind: string;
  cmd?: string;
  deps: string[];
  state: 'fresh' | 'stale' | 'running' | 'failed';
  reasons: string[];
  items?: { total: number; stale: number };
  live?: LiveStage;
  last?: { run: string; state: string; seconds: number; items?: { total: number; ran: number; cached: number; failed: number } };
  output?: { run: string };
}
export interface Status {
  error?: string;
  stages: StatusStage[];
  edges: Array<{ from: string; to: string }>;
  computedAt?: number;
}
