// Crash torture: `kill -9` at uniform random moments of a small demo run, each followed by a
// resumed run, and kills during `checkout`, `gc`, `push` and `pull`, each followed by the same
// command again. After every kill it checks what a user relies on (docs/RELIABILITY.md):
//
//   - the resumed command succeeds (exit 0);
//   - every stage of a resumed run has the output root of an uninterrupted run (run ids are
//     not compared: a run record also names the volatile files, whose bytes differ between any
//     two trainings: docs/RELIABILITY.md);
//   - `pipeline verify` finds no corrupt object;
//   - cache/tmp holds nothing, and no temporary file (`*.tmp`, a checkout's `.pipeline-tmp/`)
//     is left in cache/ or outputs/ (--tmp-grace-ms N: cache/tmp files of dead processes younger
//     than N ms are listed apart, not failures);
//   - outputs/ holds exactly the files of an uninterrupted run (after checkout, and after the
//     resumed run), byte for byte;
//   - after gc, the kept run is still whole (rerunning it recomputes nothing); after push or
//     pull, a fresh workspace pulls the run and checks it out byte for byte.
//
// The harness, shared by the bench (bench/torture.ts, the command line) and the test
// (test/reliability-torture.test.ts, a short version of about 10 kills in `npm test`).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { hashFileSync } from '../src/hash.js';
import { loadRecord } from '../src/runs.js';
import { LocalStore } from '../src/store.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CLI = join(ROOT, 'bin', 'pipeline.js');

export type TortureOp = 'run' | 'checkout' | 'gc' | 'push' | 'pull';
export const TORTURE_OPS: readonly TortureOp[] = ['run', 'checkout', 'gc', 'push', 'pull'];

export interface TortureOptions {
  /** kill -9 during `pipeline run` (each in a fresh workspace). */
  kills: number;
  /** kill -9 during each other command of `ops`. */
  opKills: number;
  ops: readonly TortureOp[];
  seed: string;
  /** -p key=value pairs of the demo run (e.g. dataset.movies=16). */
  params: readonly string[];
  /** Parent folder of the workspaces (default: the OS temp folder). */
  dir?: string;
  keep?: boolean;
  log?: (line: string) => void;
  /**
   * Files in cache/tmp of a dead process younger than this are reported in `pending`, not as
   * failures (default 0: every file there is a failure). The engine removes such files once
   * they are 60 s old, at the start of a run or in gc.
   */
  tmpGraceMs?: number;
}

export interface KillRecord {
  op: TortureOp;
  /** ms after the start at which the kill was sent. */
  atMs: number;
  /** The command had already finished (the kill came too late to interrupt it). */
  finishedFirst: boolean;
}

export interface TortureReport {
  kills: KillRecord[];
  failures: string[];
  /** cache/tmp files left by killed processes within tmpGraceMs (see TortureOptions). */
  pending: string[];
  /** Uninterrupted durations (ms) the kill moments were drawn from. */
  durations: Partial<Record<TortureOp, number>>;
  runId: string;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the CLI in its own process group (so that the kill reaches any child it started). */
function start(cwd: string, args: readonly string[]): { done: Promise<CliResult>; kill: () => void; exited: () => boolean } {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => {
      exited = true;
      res({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
  return {
    done,
    exited: () => exited,
    kill: () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

const cli = (cwd: string, args: readonly string[]): Promise<CliResult> => start(cwd, args).done;

function lastJson<T>(stdout: string): T | undefined {
  const line = stdout.trim().split('\n').at(-1);
  try {
    return line === undefined ? undefined : (JSON.parse(line) as T);
  } catch {
    return undefined;
  }
}

/** Every file under dir (relative path -> content hash), temp names included. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = hashFileSync(p).hash;
    }
  };
  walk(dir);
  return out;
}

/**
 * Temporary files left anywhere in the workspace's cache/ and outputs/, and anything in
 * cache/tmp (those of dead processes younger than graceMs apart, in `pending`).
 */
function leftovers(ws: string, graceMs: number): { found: string[]; pending: string[] } {
  const found: string[] = [];
  const pending: string[] = [];
  const tmp = join(ws, 'cache', 'tmp');
  if (existsSync(tmp)) {
    for (const f of readdirSync(tmp)) {
      const pid = Number(f.split('-')[0]);
      let young = false;
      try {
        young = Date.now() - statSync(join(tmp, f)).mtimeMs < graceMs && !alive(pid);
      } catch {
        continue; // removed meanwhile
      }
      (young ? pending : found).push(`cache/tmp/${f}`);
    }
  }
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && e.name === '.pipeline-tmp') found.push(`${relative(ws, p)}/`);
      else if (e.isDirectory()) {
        if (p !== tmp) walk(p);
      } else if (/\.tmp$|\.pipeline-tmp$/.test(e.name)) found.push(relative(ws, p));
    }
  };
  walk(join(ws, 'cache'));
  walk(join(ws, 'outputs'));
  return { found, pending };
}

function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function diffSnapshots(want: Record<string, string>, got: Record<string, string>): string[] {
  const d: string[] = [];
  for (const [p, h] of Object.entries(want)) if (got[p] !== h) d.push(got[p] === undefined ? `missing ${p}` : `different ${p}`);
  for (const p of Object.keys(got)) if (want[p] === undefined) d.push(`extra ${p}`);
  return d;
}

interface Expected {
  /** The uninterrupted run in the reference workspace (later: the latest run of the same params there). */
  runId: string;
  roots: Record<string, string>;
  outputs: Record<string, string>;
}

/** Output roots of a run, from its record in the workspace's store (what `pipeline show` prints). */
async function rootsOf(ws: string, run: string): Promise<Record<string, string> | string> {
  try {
    const record = await loadRecord(new LocalStore(join(ws, 'cache')), run);
    return Object.fromEntries(Object.entries(record.stages).map(([k, v]) => [k, v.output?.root ?? '']));
  } catch (e) {
    return `the record of run ${run}: ${(e as Error).message}`;
  }
}

/**
 * Left out of the byte comparison: the train stage's volatile files (wall times: history.json,
 * TensorBoard events) and params.yaml, whose first line names the run.
 */
function comparable(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).filter(([p]) => !/(^|\/)(history\.json$|tensorboard\/)|^params\.yaml$/.test(p)));
}

export async function torture(o: TortureOptions): Promise<TortureReport> {
  const log = o.log ?? ((): void => {});
  const rng = seedrandom.alea(o.seed);
  const work = mkdtempSync(join(o.dir ?? tmpdir(), 'pipeline-torture-'));
  const runArgs = ['run', '--json', ...o.params.flatMap((p) => ['-p', p])];
  const failures: string[] = [];
  const kills: KillRecord[] = [];
  const pending: string[] = [];
  const durations: TortureReport['durations'] = {};
  let n = 0;
  const workspace = (name: string): string => {
    const ws = join(work, `${name}-${n++}`);
    mkdirSync(join(ws, 'conf'), { recursive: true });
    writeFileSync(join(ws, 'pipeline.yaml'), readFileSync(join(ROOT, 'pipeline.yaml')));
    writeFileSync(join(ws, 'conf', 'default.yaml'), readFileSync(join(ROOT, 'conf', 'default.yaml')));
    return ws;
  };
  const fail = (what: string, k: KillRecord | undefined, msg: string): void => {
    const line = `${what}${k === undefined ? '' : ` (kill -9 at ${k.atMs.toFixed(0)} ms${k.finishedFirst ? ', after it had finished' : ''})`}: ${msg}`;
    failures.push(line);
    log(`FAIL ${line}`);
  };
  /** Starts args, kills it at a uniform moment of [0, durationMs], waits for it to end. */
  const killDuring = async (op: TortureOp, ws: string, args: readonly string[], durationMs: number): Promise<KillRecord> => {
    const p = start(ws, args);
    const atMs = rng() * durationMs;
    await Promise.race([sleep(atMs), p.done]);
    const finishedFirst = p.exited();
    p.kill();
    await p.done;
    const k = { op, atMs, finishedFirst };
    kills.push(k);
    return k;
  };
  const checkWorkspace = async (what: string, ws: string, k: KillRecord | undefined, exp: Expected, opts: { outputs: boolean }): Promise<void> => {
    const v = await cli(ws, ['verify', '--json']);
    const vj = lastJson<{ corrupt: unknown[] }>(v.stdout);
    if (v.code !== 0 || vj === undefined || vj.corrupt.length > 0) fail(what, k, `verify: exit ${v.code} ${v.stdout.trim()} ${v.stderr.trim()}`);
    const left = leftovers(ws, o.tmpGraceMs ?? 0);
    if (left.found.length > 0) fail(what, k, `left behind: ${left.found.join(', ')}`);
    pending.push(...left.pending.map((f) => `${what}: ${f}`));
    if (opts.outputs) {
      const d = diffSnapshots(comparable(exp.outputs), comparable(snapshot(join(ws, 'outputs'))));
      if (d.length > 0) fail(what, k, `outputs/ differs from an uninterrupted run's: ${d.slice(0, 8).join(', ')}${d.length > 8 ? ', ...' : ''}`);
    }
  };
  const checkRun = async (what: string, ws: string, k: KillRecord | undefined, r: CliResult, exp: Expected): Promise<void> => {
    const j = lastJson<{ run: string; ok: boolean }>(r.stdout);
    if (r.code !== 0 || j?.ok !== true) return fail(what, k, `the resumed run failed: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    const roots = await rootsOf(ws, j.run);
    if (typeof roots === 'string') return fail(what, k, roots);
    for (const [stage, root] of Object.entries(exp.roots)) {
      if (roots[stage] !== root) fail(what, k, `stage ${stage}: output root ${roots[stage]}, uninterrupted ${root}`);
    }
  };

  try {
    // The uninterrupted run everything is compared with; its workspace then serves checkout and gc.
    const base = workspace('reference');
    const ref = await cli(base, runArgs);
    const refJson = lastJson<{ run: string; ok: boolean }>(ref.stdout);
    if (ref.code !== 0 || refJson?.ok !== true) throw new Error(`the uninterrupted run failed (exit ${ref.code}):\n${ref.stdout}\n${ref.stderr}`);
    durations.run = ref.ms;
    const roots = await rootsOf(base, refJson.run);
    if (typeof roots === 'string') throw new Error(roots);
    const exp: Expected = { runId: refJson.run, roots, outputs: snapshot(join(base, 'outputs')) };
    log(`uninterrupted run ${exp.runId}: ${(ref.ms / 1000).toFixed(1)} s, ${Object.keys(exp.outputs).length} output files`);
    await checkWorkspace('uninterrupted run', base, undefined, exp, { outputs: true });

    if (o.ops.includes('run')) {
      for (let i = 0; i < o.kills; i++) {
        const ws = workspace('run');
        const k = await killDuring('run', ws, runArgs, durations.run);
        const again = await cli(ws, runArgs);
        const what = `run kill ${i + 1}/${o.kills}`;
        await checkRun(what, ws, k, again, exp);
        await checkWorkspace(what, ws, k, exp, { outputs: true });
        log(`${what}: at ${(k.atMs / 1000).toFixed(2)} s${k.finishedFirst ? ' (had finished)' : ''}, resumed in ${(again.ms / 1000).toFixed(1)} s`);
        if (!o.keep) rmSync(ws, { recursive: true, force: true });
      }
    }

    if (o.ops.includes('checkout') && o.opKills > 0) {
      const t = performance.now();
      rmSync(join(base, 'outputs'), { recursive: true, force: true });
      const c = await cli(base, ['checkout', exp.runId]);
      durations.checkout = performance.now() - t;
      if (c.code !== 0) fail('checkout', undefined, `exit ${c.code}: ${c.stderr.trim()}`);
      for (let i = 0; i < o.opKills; i++) {
        rmSync(join(base, 'outputs'), { recursive: true, force: true });
        const k = await killDuring('checkout', base, ['checkout', exp.runId], durations.checkout);
        const again = await cli(base, ['checkout', exp.runId, '--json']);
        const what = `checkout kill ${i + 1}/${o.opKills}`;
        if (again.code !== 0) fail(what, k, `checkout again: exit ${again.code}: ${again.stderr.trim()}`);
        await checkWorkspace(what, base, k, exp, { outputs: true });
        log(`${what}: at ${(k.atMs / 1000).toFixed(2)} s${k.finishedFirst ? ' (had finished)' : ''}`);
      }
    }

    if (o.ops.includes('gc') && o.opKills > 0) {
      for (let i = 0; i < o.opKills; i++) {
        // Garbage to collect: a run with another train seed; gc --keep-last 1 keeps it alone.
        const other = [...runArgs, '-p', `train.seed=${101 + i}`];
        const r = await cli(base, other);
        const otherId = lastJson<{ run: string }>(r.stdout)?.run;
        if (r.code !== 0 || otherId === undefined) {
          fail(`gc ${i + 1}`, undefined, `the run to collect after failed: ${r.stderr.trim()}`);
          continue;
        }
        if (durations.gc === undefined) {
          // Measure gc on a copy of the same state: a dry run costs what a real one does, minus removals.
          const d = await cli(base, ['gc', '--keep-last', '1', '--dry-run']);
          durations.gc = d.ms;
        }
        const k = await killDuring('gc', base, ['gc', '--keep-last', '1'], durations.gc);
        const again = await cli(base, ['gc', '--keep-last', '1', '--json']);
        const what = `gc kill ${i + 1}/${o.opKills}`;
        if (again.code !== 0) fail(what, k, `gc again: exit ${again.code}: ${again.stderr.trim()}`);
        // The kept run is whole: rerunning it recomputes nothing and gives the same id.
        const kept = await cli(base, other);
        const kj = lastJson<{ run: string; stages: Array<{ name: string; state: string }> }>(kept.stdout);
        if (kept.code !== 0 || kj?.run !== otherId) fail(what, k, `the kept run did not come back: exit ${kept.code} ${kept.stderr.trim()}`);
        else {
          const ran = kj.stages.filter((s) => s.state === 'ran').map((s) => s.name);
          if (ran.length > 0) fail(what, k, `the kept run recomputed ${ran.join(', ')} after gc`);
        }
        await checkWorkspace(what, base, k, exp, { outputs: false });
        log(`${what}: at ${(k.atMs / 1000).toFixed(2)} s${k.finishedFirst ? ' (had finished)' : ''}`);
      }
      // What gc removed is recomputed to the same results.
      const back = await cli(base, runArgs);
      await checkRun('run after gc', base, undefined, back, exp);
      await checkWorkspace('run after gc', base, undefined, exp, { outputs: true });
      // gc --keep-last 1 dropped the reference run's record: push and pull this one.
      exp.runId = lastJson<{ run: string }>(back.stdout)?.run ?? exp.runId;
    }

    /** A fresh workspace pulls the run from the remote and checks it out: whole, byte for byte. */
    const checkRemote = async (what: string, remote: string, k: KillRecord): Promise<void> => {
      const ws = workspace('pulled');
      const p = await cli(ws, ['pull', exp.runId, '--remote', remote, '--json']);
      if (p.code !== 0) return fail(what, k, `pull into a fresh workspace: exit ${p.code}: ${p.stderr.trim()}`);
      const c = await cli(ws, ['checkout', exp.runId]);
      if (c.code !== 0) return fail(what, k, `checkout of the pulled run: exit ${c.code}: ${c.stderr.trim()}`);
      await checkWorkspace(what, ws, k, exp, { outputs: true });
      if (!o.keep) rmSync(ws, { recursive: true, force: true });
    };

    if (o.ops.includes('push') && o.opKills > 0) {
      for (let i = 0; i < o.opKills; i++) {
        const remote = join(work, `remote-push-${i}`);
        mkdirSync(remote, { recursive: true });
        if (durations.push === undefined) {
          const probe = join(work, 'remote-probe');
          mkdirSync(probe, { recursive: true });
          durations.push = (await cli(base, ['push', exp.runId, '--remote', probe])).ms;
          rmSync(probe, { recursive: true, force: true });
        }
        const k = await killDuring('push', base, ['push', exp.runId, '--remote', remote], durations.push);
        const again = await cli(base, ['push', exp.runId, '--remote', remote, '--json']);
        const what = `push kill ${i + 1}/${o.opKills}`;
        if (again.code !== 0) fail(what, k, `push again: exit ${again.code}: ${again.stderr.trim()}`);
        else await checkRemote(what, remote, k);
        await checkWorkspace(what, base, k, exp, { outputs: false });
        log(`${what}: at ${(k.atMs / 1000).toFixed(2)} s${k.finishedFirst ? ' (had finished)' : ''}`);
      }
    }

    if (o.ops.includes('pull') && o.opKills > 0) {
      const remote = join(work, 'remote-pull');
      mkdirSync(remote, { recursive: true });
      const pushed = await cli(base, ['push', exp.runId, '--remote', remote]);
      if (pushed.code !== 0) fail('pull', undefined, `push to set up the remote: exit ${pushed.code}: ${pushed.stderr.trim()}`);
      for (let i = 0; i < o.opKills && pushed.code === 0; i++) {
        const ws = workspace('pull');
        if (durations.pull === undefined) {
          const probe = workspace('pull-probe');
          durations.pull = (await cli(probe, ['pull', exp.runId, '--remote', remote])).ms;
          rmSync(probe, { recursive: true, force: true });
        }
        const k = await killDuring('pull', ws, ['pull', exp.runId, '--remote', remote], durations.pull);
        const again = await cli(ws, ['pull', exp.runId, '--remote', remote, '--json']);
        const what = `pull kill ${i + 1}/${o.opKills}`;
        if (again.code !== 0) fail(what, k, `pull again: exit ${again.code}: ${again.stderr.trim()}`);
        else {
          const c = await cli(ws, ['checkout', exp.runId]);
          if (c.code !== 0) fail(what, k, `checkout of the pulled run: exit ${c.code}: ${c.stderr.trim()}`);
          await checkWorkspace(what, ws, k, exp, { outputs: true });
        }
        log(`${what}: at ${(k.atMs / 1000).toFixed(2)} s${k.finishedFirst ? ' (had finished)' : ''}`);
        if (!o.keep) rmSync(ws, { recursive: true, force: true });
      }
    }
    return { kills, failures, pending, durations, runId: exp.runId };
  } finally {
    if (o.keep) log(`workspaces kept under ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}
