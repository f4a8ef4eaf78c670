// The first impression: the whole demo pipeline on a fresh workspace (empty cache), then a
// second `pipeline run` that must find everything cached. Baseline in the same run: a bare
// `pipeline --help` (process start and CLI parsing), which bounds what a no-op run can cost.
//
//   node dist/bench/e2e-demo.js [--clone]   (--clone: also time `git clone` + `npm ci` of this checkout)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const { values } = parseArgs({ options: { clone: { type: 'boolean', default: false } } });

function timed(cwd: string, cmd: string, args: string[]): { secs: number; stdout: string; rssMiB: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop()!.split(' ');
  return { secs: Number(last[0]), rssMiB: Number(last[1]) / 1024, stdout: r.stdout };
}

const rows: string[] = [];
let appRoot = ROOT;
let tmpClone: string | undefined;
if (values.clone) {
  tmpClone = mkdtempSync(join(tmpdir(), 'pipeline-bench-clone-'));
  const clone = timed(tmpdir(), 'git', ['clone', '-q', ROOT, tmpClone]);
  const ci = timed(tmpClone, 'npm', ['ci', '--no-audit', '--no-fund']);
  rows.push(`| git clone | ${clone.secs.toFixed(1)} s | |`);
  rows.push(`| npm ci (install + build) | ${ci.secs.toFixed(1)} s | |`);
  appRoot = tmpClone;
}

const ws = mkdtempSync(join(tmpdir(), 'pipeline-bench-e2e-'));
try {
  cpSync(join(appRoot, 'pipeline.yaml'), join(ws, 'pipeline.yaml'));
  cpSync(join(appRoot, 'conf'), join(ws, 'conf'), { recursive: true });
  const cli = join(appRoot, 'bin', 'pipeline.js');
  const help = timed(ws, process.execPath, [cli, '--help']);
  const first = timed(ws, process.execPath, [cli, 'run', '--json']);
  const second = timed(ws, process.execPath, [cli, 'run', '--json']);
  const j1 = JSON.parse(first.stdout.trim().split('\n').pop()!) as { stages: Array<{ name: string; state: string; seconds: number }> };
  const j2 = JSON.parse(second.stdout.trim().split('\n').pop()!) as { run: string; stages: Array<{ state: string }> };
  if (j2.stages.some((s) => s.state !== 'cached')) throw new Error(`the second run ran something: ${second.stdout}`);
  const metrics = timed(ws, process.execPath, [cli, 'metrics', '--json']);
  const m = JSON.parse(metrics.stdout) as { mAP: number | null; baseline: { mAP: number | null } | null; split: string; movies: number };
  rows.push(`| \`pipeline run\`, fresh workspace (whole demo) | ${first.secs.toFixed(1)} s | peak RSS ${first.rssMiB.toFixed(0)} MiB |`);
  for (const s of j1.stages) rows.push(`| &nbsp;&nbsp;${s.name} | ${s.seconds.toFixed(1)} s | ${s.state} |`);
  rows.push(`| second \`pipeline run\` (all cached) | ${second.secs.toFixed(2)} s | ${(second.secs / Math.max(0.01, help.secs)).toFixed(1)}x \`pipeline --help\` (${help.secs.toFixed(2)} s) |`);
  console.log('| step | wall | note |');
  console.log('|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(
    `\ndemo result: mAP ${m.mAP?.toFixed(3)} on ${m.split} (${m.movies} movies); baseline mAP ${m.baseline?.mAP?.toFixed(3) ?? 'n/a'}`,
  );
} finally {
  rmSync(ws, { recursive: true, force: true });
  if (tmpClone) rmSync(tmpClone, { recursive: true, force: true });
}
