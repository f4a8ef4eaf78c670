// Parameter sweeps: `pipeline run -S train.lr=0.001,0.0003 -S fixlen.length=64,128` runs every
// combination (a grid; the first -S varies slowest), each an ordinary run with its values as
// `-p` overrides, so each is a run record of its own. Stages whose fingerprint is the same for
// several combinations (embed, here) are computed by the first and found in the cache by the
// others: nothing is computed twice.
//
// Resuming: a sweep keeps cache/sweeps/<key>.json (key: the targets, the -S values and every
// other param option), rewritten atomically after each combination finishes. Stopped by Ctrl-C
// or a kill, the same command again skips each combination that finished and whose stages are
// all still cached (checked as `pipeline status` does), and runs the rest.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from '../yaml.js';
import { ConfigError, didYouMean, type Diagnostic } from '../diagnostics.js';
import { Engine } from '../engine/index.js';
import { UserError } from '../errors.js';
import { hashJson } from '../hash.js';
import type { RunSummary } from '../events.js';
import type { RunRecord } from '../runs.js';
import type { Headline, JsonValue } from '../stage-api.js';
import type { Project } from '../spec.js';

/** One -S option: a param key and the values it takes. */
export interface SweepAxis {
  key: string;
  values: JsonValue[];
}

/** A combination: param key -> value, in axis order. */
export type Combination = Record<string, JsonValue>;

function parseValue(raw: string): JsonValue {
  const doc = parseDocument(raw);
  if (doc.errors.length > 0) return raw;
  return (doc.toJS() as JsonValue | undefined) ?? null;
}

/**
 * Parses `key=v1,v2,...` options. A value list written as YAML flow (`key=[[0.7,0.3],[0.8,0.2]]`)
 * keeps commas inside values; otherwise values are split on commas and read as YAML scalars,
 * like `-p`. Throws ConfigError naming every bad option.
 */
export function parseSweepOptions(options: readonly string[]): SweepAxis[] {
  const problems: Diagnostic[] = [];
  const axes: SweepAxis[] = [];
  for (const o of options) {
    const eq = o.indexOf('=');
    const key = eq > 0 ? o.slice(0, eq).trim() : '';
    if (eq <= 0 || key === '') {
      problems.push({ message: `-S ${o}: expected key=value1,value2,..., e.g. -S train.lr=0.001,0.0003` });
      continue;
    }
    const rhs = o.slice(eq + 1).trim();
    let values: JsonValue[];
    const asList = rhs.startsWith('[') ? parseValue(rhs) : undefined;
    if (Array.isArray(asList)) values = asList;
    else values = rhs.split(',').map((v) => v.trim()).filter((v) => v !== '').map(parseValue);
    if (values.length === 0) {
      problems.push({ message: `-S ${o}: no values after '=' (e.g. -S ${key}=1,2)` });
      continue;
    }
    const seen = new Set<string>();
    const dup = values.find((v) => {
      const s = JSON.stringify(v);
      if (seen.has(s)) return true;
      seen.add(s);
      return false;
    });
    if (dup !== undefined) problems.push({ message: `-S ${o}: value ${JSON.stringify(dup)} is listed twice` });
    if (axes.some((a) => a.key === key)) problems.push({ message: `-S ${key} is given twice; list all its values in one -S (e.g. -S ${key}=a,b,c)` });
    axes.push({ key, values });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return axes;
}

/** Every combination of the axes, the first axis varying slowest. */
export function grid(axes: readonly SweepAxis[]): Combination[] {
  let out: Combination[] = [{}];
  for (const a of axes) out = out.flatMap((c) => a.values.map((v) => ({ ...c, [a.key]: v })));
  return out;
}

/** Checks the axes against the project's params: keys exist, values keep the key's type. */
export function checkAxes(project: Project, axes: readonly SweepAxis[], pinned: readonly string[]): void {
  const problems: Diagnostic[] = [];
  const names = project.params.allNames();
  const pinnedKeys = new Set(pinned.map((p) => p.slice(0, Math.max(0, p.indexOf('='))).trim()));
  for (const a of axes) {
    const current = project.params.get(a.key);
    if (current === undefined) {
      const hint = didYouMean(a.key, names);
      problems.push({ message: `-S ${a.key}: unknown parameter '${a.key}'${hint ? ` (did you mean '${hint}'?)` : ''}` });
      continue;
    }
    if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
      problems.push({ message: `-S ${a.key}: '${a.key}' is a section; sweep one of its keys (e.g. ${a.key}.${Object.keys(current)[0] ?? 'key'})` });
      continue;
    }
    if (pinnedKeys.has(a.key)) problems.push({ message: `-S ${a.key} and -p ${a.key} both set it; keep one` });
    const kind = (v: JsonValue): string => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);
    for (const v of a.values) {
      if (current !== null && v !== null && kind(v) !== kind(current)) {
        problems.push({ message: `-S ${a.key}: '${a.key}' expects a ${kind(current)} (now ${JSON.stringify(current)}), got ${JSON.stringify(v)}` });
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** `-p` strings for a combination (values as JSON, which YAML reads back unchanged). */
export function overridesOf(c: Combination): string[] {
  return Object.entries(c).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
}

export function describeCombination(c: Combination): string {
  return Object.entries(c)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

// ---------------------------------------------------------------- resume state

interface SweepState {
  format: 1;
  /** What the key covers, for a reader. */
  targets: string[];
  axes: SweepAxis[];
  params: string[];
  conf: string[];
  /** Finished combinations: canonical JSON of the combination -> run id. */
  done: Record<string, string>;
}

export class SweepStateFile {
  readonly path: string;
  readonly state: SweepState;
  constructor(cacheDir: string, spec: Omit<SweepState, 'format' | 'done'>) {
    const key = hashJson({ targets: [...spec.targets].sort(), axes: spec.axes, params: spec.params, conf: spec.conf });
    this.path = join(cacheDir, 'sweeps', `${key}.json`);
    let done: Record<string, string> = {};
    try {
      const old = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<SweepState>;
      if (old.format === 1 && old.done && typeof old.done === 'object') done = old.done;
    } catch {
      // no sweep of this command yet (or an unreadable file: start over)
    }
    this.state = { format: 1, ...spec, done };
  }

  runOf(c: Combination): string | undefined {
    return this.state.done[hashJson(c)];
  }

  finish(c: Combination, run: string): void {
    this.state.done[hashJson(c)] = run;
    mkdirSync(join(this.path, '..'), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(tmp, this.path);
  }
}

// ---------------------------------------------------------------- the sweep

export interface SweepRun {
  run: string | null;
  params: Combination;
  ok: boolean;
  headline: Headline | null;
  /** Finished by an earlier invocation of the same sweep and still cached: not run again. */
  resumed?: boolean;
  interrupted?: boolean;
  /** A dry run: the stages that would run. */
  wouldRun?: string[];
}

export interface SweepResult {
  ok: boolean;
  interrupted: boolean;
  runs: SweepRun[];
}

/** What the sweep needs from `pipeline run`: one ordinary run with extra `-p` overrides. */
export interface SweepHooks {
  /** Loads the project with these overrides (the caller's --conf and -p included). */
  project(overrides: readonly string[]): Project;
  /** Runs once; resolves with the engine's result (undefined when it stopped before running). */
  runOnce(overrides: readonly string[], index: number, total: number): Promise<(RunSummary & { record?: RunRecord }) | undefined>;
  /** Called before each combination, for the presenter. */
  announce?(c: Combination, index: number, total: number, resumed: string | undefined): void;
  /** Whether a stop was asked for (Ctrl-C, kill): no further combination starts. */
  stopped(): boolean;
}

export interface SweepOptions {
  targets: readonly string[];
  sets: readonly string[];
  params: readonly string[];
  conf: readonly string[];
  dryRun?: boolean;
}

function headlineOf(r: RunSummary): Headline | null {
  return r.stages.map((s) => s.headline).filter((h) => h !== undefined).pop() ?? null;
}

/** Whether every target stage of a finished combination is still cached (no side effects). */
async function stillCached(project: Project, targets: readonly string[]): Promise<boolean> {
  const engine = new Engine(project);
  try {
    const st = await engine.status(targets);
    return st.stages.every((s) => s.state === 'fresh');
  } finally {
    engine.close();
  }
}

export async function runSweep(opts: SweepOptions, hooks: SweepHooks): Promise<SweepResult> {
  const axes = parseSweepOptions(opts.sets);
  const base = hooks.project([]);
  checkAxes(base, axes, opts.params);
  const combos = grid(axes);
  const state = new SweepStateFile(join(base.root, 'cache'), { targets: [...opts.targets], axes, params: [...opts.params], conf: [...opts.conf] });
  const runs: SweepRun[] = [];
  let interrupted = false;
  for (let i = 0; i < combos.length; i++) {
    const c = combos[i]!;
    if (hooks.stopped()) {
      interrupted = true;
      break;
    }
    const overrides = overridesOf(c);
    const earlier = opts.dryRun ? undefined : state.runOf(c);
    if (earlier !== undefined && (await stillCached(hooks.project(overrides), opts.targets))) {
      hooks.announce?.(c, i, combos.length, earlier);
      const engine = new Engine(base);
      let headline: Headline | null = null;
      try {
        // Its index row may be gone: the record still names the result, without a headline.
        const found = engine.runs.find(earlier);
        if (found.ok) headline = found.value.summary.headline ?? null;
      } finally {
        engine.close();
      }
      runs.push({ run: earlier, params: c, ok: true, headline, resumed: true });
      continue;
    }
    hooks.announce?.(c, i, combos.length, undefined);
    const r = await hooks.runOnce(overrides, i, combos.length);
    if (r === undefined) {
      interrupted = true;
      runs.push({ run: null, params: c, ok: false, headline: null, interrupted: true });
      break;
    }
    runs.push({
      run: r.run ?? null,
      params: c,
      ok: r.ok,
      headline: headlineOf(r),
      ...(r.interrupted ? { interrupted: true } : {}),
      ...(opts.dryRun ? { wouldRun: r.stages.filter((s) => s.state === 'would-run').map((s) => s.name) } : {}),
    });
    if (r.interrupted) {
      interrupted = true;
      break;
    }
    if (r.ok && r.run && !opts.dryRun) state.finish(c, r.run);
  }
  return { ok: !interrupted && runs.length === combos.length && runs.every((r) => r.ok), interrupted, runs };
}

/** Refuses options that do not combine with a sweep. */
export function checkSweepFlags(o: { force?: boolean }): void {
  if (o.force) {
    throw new UserError(
      '--force does not combine with -S: a sweep reuses what its combinations share',
      'recompute first with `pipeline run --force STAGE`, then run the sweep',
    );
  }
}

// ---------------------------------------------------------------- the command

/** The slice of `pipeline run`'s options a sweep reads and passes on. */
export interface SweepCommandOptions {
  workspace?: string;
  conf?: string[];
  param?: string[];
  set?: string[];
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** A presenter that shows nothing (a --json sweep prints one object at the end). */
export interface QuietPresenter {
  listener(e: unknown): void;
  finish(r: unknown): Promise<void>;
}

type RunOnceCommand<O> = (
  stages: string[],
  opts: O & { sweepRun: { presenter?: QuietPresenter; onResult: (r: RunSummary & { record?: RunRecord }) => void } },
) => Promise<number>;

/**
 * `pipeline run -S ...`: each combination through `runOnce` (the ordinary run command, with the
 * combination's -p overrides), then the sweep's summary: one JSON object with --json, else
 * the table of its runs.
 */
export async function sweepCommand<O extends SweepCommandOptions>(stages: string[], opts: O, runOnce: RunOnceCommand<O>): Promise<number> {
  checkSweepFlags(opts);
  const { loadProject } = await import('../spec.js');
  const projectWith = (overrides: readonly string[]): Project =>
    loadProject({ ...(opts.workspace ? { root: opts.workspace } : {}), confLayers: opts.conf ?? [], overrides: [...(opts.param ?? []), ...overrides] });
  let stop = false;
  const onSig = (): void => {
    stop = true;
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  const say = (s: string): void => {
    if (!opts.json) process.stdout.write(`${s}\n`);
  };
  let result: SweepResult;
  try {
    result = await runSweep(
      { targets: stages, sets: opts.set ?? [], params: opts.param ?? [], conf: opts.conf ?? [], ...(opts.dryRun ? { dryRun: true } : {}) },
      {
        project: projectWith,
        stopped: () => stop,
        announce(c, i, total, resumed) {
          say(`${i > 0 ? '\n' : ''}sweep ${i + 1}/${total}: ${describeCombination(c)}${resumed ? ` — finished earlier as run ${resumed}, still cached: skipped` : ''}`);
        },
        async runOnce(overrides) {
          let got: (RunSummary & { record?: RunRecord }) | undefined;
          await runOnce(stages, {
            ...opts,
            set: [],
            param: [...(opts.param ?? []), ...overrides],
            sweepRun: {
              ...(opts.json ? { presenter: { listener() {}, async finish() {} } } : {}),
              onResult: (r) => {
                got = r;
              },
            },
          });
          return got;
        },
      },
    );
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
  }
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({
        ok: result.ok,
        ...(result.interrupted ? { interrupted: true } : {}),
        ...(opts.dryRun ? { dry_run: true } : {}),
        runs: result.runs.map((r) => ({ run: r.run, params: r.params, ok: r.ok, headline: r.headline, ...(r.resumed ? { resumed: true } : {}), ...(r.interrupted ? { interrupted: true } : {}), ...(r.wouldRun ? { would_run: r.wouldRun } : {}) })),
      })}\n`,
    );
  } else if (!opts.dryRun) {
    const ids = result.runs.map((r) => r.run).filter((r): r is string => r !== null);
    say('');
    say(`sweep: ${result.runs.filter((r) => r.ok).length} of ${grid(parseSweepOptions(opts.set ?? [])).length} combinations ok${result.interrupted ? '; interrupted: the same command continues where it stopped' : ''}`);
    if (ids.length > 0) {
      const { buildRunsTable } = await import('./table.js');
      const { renderTable } = await import('./table-format.js');
      const engine = new Engine(projectWith([]));
      try {
        process.stdout.write(renderTable(await buildRunsTable(engine, { runs: ids }), 'text'));
      } finally {
        engine.close();
      }
    }
  }
  return result.interrupted ? 130 : result.ok ? 0 : 1;
}
