// A 2x2 sweep on the demo (`pipeline run -S train.lr=0.001,0.0003 -S fixlen.length=64,128`)
// against the same four runs done one by one (`pipeline run -p ...` four times in one
// workspace), each from an empty cache; with --isolated also four runs each in a workspace of
// its own (nothing shared: what a grid costs without a shared cache). Prints the wall times,
// their ratio, and how many times each stage ran.
//
//   node dist/bench/sweep.js [--movies 200] [--conf FILE] [--isolated] [--keep]
//   node dist/bench/sweep.js --tiny        # 10 movies, 2 epochs: a quick check that it works
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TINY_DEMO_CONF } from '../fixtures-lib/experiment-runs.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CLI = join(ROOT, 'bin', 'pipeline.js');

const { values } = parseArgs({
  options: {
    movies: { type: 'string' },
    conf: { type: 'string' },
    tiny: { type: 'boolean', default: false },
    isolated: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const AXES = [
  ['train.lr', ['0.001', '0.0003']],
  ['fixlen.length', values.tiny ? ['8', '16'] : ['64', '128']],
] as const;
const combos = AXES[0][1].flatMap((a) => AXES[1][1].map((b) => [`${AXES[0][0]}=${a}`, `${AXES[1][0]}=${b}`]));

const dirs: string[] = [];
function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-bench-sweep-'));
  dirs.push(dir);
  copyFileSync(join(ROOT, 'pipeline.yaml'), join(dir, 'pipeline.yaml'));
  mkdirSync(join(dir, 'conf'));
  copyFileSync(join(ROOT, 'conf', 'default.yaml'), join(dir, 'conf', 'default.yaml'));
  writeFileSync(join(dir, 'conf', 'bench.yaml'), values.tiny ? TINY_DEMO_CONF : values.movies ? `dataset: {movies: ${Number(values.movies)}}\n` : '{}\n');
  return dir;
}
const confArgs = (): string[] => ['--conf', values.conf ? resolve(values.conf) : 'conf/bench.yaml'];

interface RunJson {
  stages: Array<{ name: string; state: string }>;
}

function cli(dir: string, args: string[]): { seconds: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} failed in ${dir}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
  return { seconds, stdout: r.stdout };
}

/** Stage name -> how many of the runs ran it, from the run index. */
function ranCounts(dir: string): Record<string, number> {
  const runs = JSON.parse(cli(dir, ['runs', '--json']).stdout) as { runs: Array<{ ran: string[] }> };
  const out: Record<string, number> = {};
  for (const r of runs.runs) for (const s of r.ran) out[s] = (out[s] ?? 0) + 1;
  return out;
}

function oneByOne(): { seconds: number; ran: Record<string, number> } {
  const dir = workspace();
  let seconds = 0;
  for (const c of combos) seconds += cli(dir, ['run', '--json', ...confArgs(), ...c.flatMap((p) => ['-p', p])]).seconds;
  return { seconds, ran: ranCounts(dir) };
}

function sweep(): { seconds: number; ran: Record<string, number> } {
  const dir = workspace();
  const { seconds } = cli(dir, ['run', '--json', ...confArgs(), ...AXES.flatMap(([k, vs]) => ['-S', `${k}=${vs.join(',')}`])]);
  return { seconds, ran: ranCounts(dir) };
}

function isolated(): { seconds: number; ran: Record<string, number> } {
  let seconds = 0;
  const ran: Record<string, number> = {};
  for (const c of combos) {
    const dir = workspace();
    seconds += cli(dir, ['run', '--json', ...confArgs(), ...c.flatMap((p) => ['-p', p])]).seconds;
    for (const [k, v] of Object.entries(ranCounts(dir))) ran[k] = (ran[k] ?? 0) + v;
  }
  return { seconds, ran };
}

try {
  const a = oneByOne();
  const b = sweep();
  const c = values.isolated ? isolated() : undefined;
  const stages = [...new Set([...Object.keys(a.ran), ...Object.keys(b.ran)])];
  console.log(`2x2 sweep ${AXES.map(([k, vs]) => `${k}=${vs.join(',')}`).join(' x ')} on the demo${values.tiny ? ' (--tiny)' : values.movies ? ` (${values.movies} movies)` : ''}, each from an empty cache`);
  console.log('| what | wall s | vs one by one | stages run (of 4 combinations) |');
  console.log('|---|---:|---:|---|');
  const ranText = (r: Record<string, number>): string => stages.map((s) => `${s} ${r[s] ?? 0}`).join(', ');
  console.log(`| four runs one by one, one workspace | ${a.seconds.toFixed(1)} | 1.00x | ${ranText(a.ran)} |`);
  console.log(`| pipeline run -S (one sweep) | ${b.seconds.toFixed(1)} | ${(b.seconds / a.seconds).toFixed(2)}x | ${ranText(b.ran)} |`);
  if (c) console.log(`| four runs, each its own workspace (nothing shared) | ${c.seconds.toFixed(1)} | ${(c.seconds / a.seconds).toFixed(2)}x | ${ranText(c.ran)} |`);
} finally {
  if (values.keep) console.log(`workspaces kept: ${dirs.join(' ')}`);
  else for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
