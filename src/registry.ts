// What the core is told by the composition root (stages/main.ts): the stage kinds it can run,
// the commands of the domain, and the domain's reader of results reports. The core imports no
// stage kind and no domain module; everything it needs from them reaches it through here.
//
//   registerKind(name, info)  a kind's shape (map or reduce, source or not), what one of its items
//                             is called in messages, its ports and parameter schema, its
//                             capabilities, and `load()`, which imports its module only when a
//                             stage of that kind is planned or run, so that `pipeline status` and
//                             `--help` stay fast.
//   registerCommands(hook)    adds commander subcommands to the program (`before`: the core
//                             command they are listed before in --help).
//   registerScores(info)      the results report's reader (runs table, web UI, matrix summary).
import type { Command } from 'commander';
import type { ParamSchema } from './param-schema/types.js';
import type { RunRecord } from './runs.js';
import type { Project } from './spec.js';
import type { PortSpec, StageKind } from './stage-api.js';

export interface KindInfo {
  type: 'map' | 'reduce';
  /** For map kinds: true when the kind lists its own items (listItems) instead of mapping its first dependency. */
  source: boolean;
  /** Imports the kind's module (once); the engine and workers call it through loadKind. */
  load(): Promise<StageKind>;
  /** What one item is called in messages ("item x1: bad.jpg: not a JPEG"); default "item". */
  itemNoun?: string;
  /**
   * The kind's input ports (the same object as the kind's `ports`): pipeline.yaml's bindings
   * are checked against them at load, without importing the kind.
   */
  ports?: Readonly<Record<string, PortSpec>>;
  /** The contract of what the kind writes (the kind's `outputContract`), matched against downstream ports. */
  outputContract?: string;
  /**
   * The kind's parameter schema (the same object as the kind's `params`): stages' declared params
   * are checked against it at load, without importing the kind.
   */
  params?: ParamSchema;
  /** What the kind's output is, for kinds that look for an upstream stage by it (an evaluator's `scores`). */
  provides?: readonly string[];
  /**
   * The kind scores what an upstream stage produced, and `pipeline evaluate` may rerun it on
   * another input of that capability (e.g. another trained model) without retraining.
   */
  evaluator?: {
    /** The capability (`provides`) of the dependency it scores. */
    scores: string;
    /** The dotted param the command's `--split` sets. */
    splitParam: string;
  };
}

const kinds = new Map<string, KindInfo>();
const loaded = new Map<string, Promise<StageKind>>();

/** Registers a stage kind; registering a name again replaces it (the last registration wins). */
export function registerKind(name: string, info: KindInfo): void {
  kinds.set(name, info);
  loaded.delete(name);
}

export function kindInfo(name: string): KindInfo | undefined {
  return kinds.get(name);
}

/** Registered kind names, in registration order. */
export function kindNames(): string[] {
  return [...kinds.keys()];
}

/** The registered kinds' parameter schemas (kind -> its `params`), in registration order; kinds without one left out. */
export function kindParamSchemas(): Map<string, ParamSchema> {
  const out = new Map<string, ParamSchema>();
  for (const [name, info] of kinds) if (info.params) out.set(name, info.params);
  return out;
}

/** What an item of a kind is called in messages: the kind's own word, else "item". */
export function itemNoun(kind: string | undefined): string {
  return (kind === undefined ? undefined : kinds.get(kind)?.itemNoun) ?? 'item';
}

/** The kind's module (imported once), checked against its registration. */
export function loadKind(name: string): Promise<StageKind> {
  let p = loaded.get(name);
  if (p === undefined) {
    const info = kinds.get(name);
    if (info === undefined) return Promise.reject(new Error(`no stage kind '${name}' is registered (kinds: ${kindNames().join(', ')})`));
    p = info.load().then((kind) => {
      if (kind?.name !== name) throw new Error(`the module of stage kind '${name}' exports kind '${String(kind?.name)}'`);
      if (kind.type !== info.type || (kind.type === 'map' && (kind.listItems !== undefined) !== info.source)) {
        throw new Error(`stage kind '${name}' does not match its registration (type/source)`);
      }
      if (kind.ports !== info.ports || kind.outputContract !== info.outputContract) {
        throw new Error(`stage kind '${name}' does not match its registration (ports/outputContract: declare the same objects in both)`);
      }
      if (kind.params !== info.params) {
        throw new Error(`stage kind '${name}' does not match its registration (params: declare the same schema object in both)`);
      }
      return kind;
    });
    loaded.set(name, p);
  }
  return p;
}

/** The core's command-line helpers a hook may use (passed in, so that a hook imports no CLI module). */
export interface CliHelpers {
  /** Adds --conf and -p/--param, as the core's project commands have them. */
  withProjectOptions(cmd: Command): Command;
}

export interface CommandHook {
  /** Adds the commands (program.command(...)); may also set the program's description. */
  add(program: Command, cli: CliHelpers): void;
  /** The core command the added commands are listed before in --help (default: after all). */
  before?: string;
}

const hooks: CommandHook[] = [];

export function registerCommands(hook: CommandHook): void {
  hooks.push(hook);
}

export function commandHooks(): readonly CommandHook[] {
  return hooks;
}

/** Reads objects of the store (the web UI's workspace reader, or an engine's store). */
export interface ObjectReader {
  readJson<T = unknown>(hash: string): Promise<T>;
  read(hash: string): Promise<Buffer>;
}

/** One metric of a results report, as the runs table shows it. */
export interface ScoreEntry {
  key: string;
  value: number | null;
  /** A per-class value, shown only with the detail option (`runs --table --<detail>`). */
  detail?: boolean;
}

/**
 * The domain's reader of its results report (e.g. a metrics stage's JSON report). Everything
 * the core shows of a run's results beyond the headline comes from it.
 */
export interface ScoresReader {
  /** The stages of a record whose output holds a report, with the report's hash, in record order. */
  reportStages(record: RunRecord): Array<{ name: string; hash: string }>;
  /** A report's metrics for the runs table, in display order (higher is better for each). */
  entries(report: unknown): ScoreEntry[];
  /** A metric key's column header (the key without a stage prefix). */
  label(key: string): string;
  /** Side by side after a run with `matrix:` variants: lines to print (may write a file under outputs/). */
  matrixReport?(project: Pick<Project, 'root' | 'stages' | 'order'>, record: RunRecord, store: ObjectReader): Promise<string[]>;
  /** The web UI's part of a run's page (its keys follow `params` in /api/runs/ID). */
  runView?(record: RunRecord, store: ObjectReader): Promise<Record<string, unknown>>;
  /** The web UI's part of a comparison: fields per run (oldest first), and keys after `changed`. */
  compareView?(records: readonly RunRecord[], store: ObjectReader): Promise<{ runs: Array<Record<string, unknown>>; extra: Record<string, unknown> }>;
}

export interface ScoresInfo {
  /**
   * The option of `runs --table` that adds the per-class columns (`--NAME`), also the web
   * API's query parameter (`/api/runs?NAME=1`).
   */
  detail: { name: string; description: string };
  /** Imports the reader's module (once). */
  load(): Promise<ScoresReader>;
}

let scores: ScoresInfo | undefined;
let scoresLoaded: Promise<ScoresReader> | undefined;

export function registerScores(info: ScoresInfo): void {
  scores = info;
  scoresLoaded = undefined;
}

export function scoresInfo(): ScoresInfo | undefined {
  return scores;
}

/** The reader, or undefined when the composition root registered none. */
export function loadScores(): Promise<ScoresReader | undefined> {
  if (scores === undefined) return Promise.resolve(undefined);
  scoresLoaded ??= scores.load();
  return scoresLoaded;
}
