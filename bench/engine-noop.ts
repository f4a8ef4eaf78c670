// No-op `pipeline status` and `pipeline run` over a source collection of small files (a
// MovieNet-layout folder: M movies x 100 keyframes), at 10,000 and 100,000 files, and `status`
// after one file changed. Baseline in the same run: a bare Node process that lists and stats
// every file (the least any correct no-op must do), so the ratio shows the engine's overhead.
//
//   node dist/bench/engine-noop.js [--sizes 10000,100000] [--repeat 3] [--keep]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CLI = join(ROOT, 'bin', 'pipeline.js');
const PER_MOVIE = 100;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    repeat: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});
const sizes = values.sizes.split(',').map(Number);
const repeat = Number(values.repeat);

/** A valid-looking tiny JPEG (start and end markers) with unique bytes inside. */
function jpeg(seed: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(seed.padEnd(60, '.')), Buffer.from([0xff, 0xd9])]);
}

function makeWorkspace(files: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-bench-noop-'));
  const movies = Math.ceil(files / PER_MOVIE);
  for (let m = 0; m < movies; m++) {
    const id = `tt${String(9_100_000 + m).padStart(7, '0')}`;
    const md = join(dir, 'data', '240P', id);
    mkdirSync(md, { recursive: true });
    for (let k = 0; k < PER_MOVIE; k++) {
      const shot = Math.floor(k / 3);
      const name = `shot_${String(shot).padStart(4, '0')}_img_${k % 3}.jpg`;
      writeFileSync(join(md, name), jpeg(`${id}/${name}`));
    }
  }
  writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  frames:\n    uses: frames\n    params: [dataset, frames]\n');
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'default.yaml'), 'dataset:\n  source: movienet\n  root: data\n  keyframes_dir: 240P\nframes: {}\n');
  return dir;
}

interface Timed {
  wall: number;
  rssMiB: number;
  stdout: string;
}

/** Runs a command under GNU time for wall seconds and peak RSS. */
function timed(cwd: string, argv: string[]): Timed {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', ...argv], { cwd, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  const last = r.stderr.trim().split('\n').pop()!.split(' ');
  return { wall: Number(last[0]), rssMiB: Number(last[1]) / 1024, stdout: r.stdout };
}

function best(cwd: string, argv: string[]): Timed {
  const runs = Array.from({ length: repeat }, () => timed(cwd, argv));
  runs.sort((a, b) => a.wall - b.wall);
  return runs[Math.floor(runs.length / 2)]!;
}

const STAT_ALL = `
const fs = require('fs'), p = require('path');
const root = p.join(process.argv[1], 'data', '240P'); let n = 0;
for (const d of fs.readdirSync(root)) for (const f of fs.readdirSync(p.join(root, d))) { fs.statSync(p.join(root, d, f)); n++; }
console.log(n);`;

const rows: string[] = [];
const summary: Record<string, unknown>[] = [];
for (const files of sizes) {
  const dir = makeWorkspace(files);
  try {
    const t0 = performance.now();
    const first = spawnSync(process.execPath, [CLI, 'run', '--json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' } });
    if (first.status !== 0) throw new Error(first.stderr);
    const firstSecs = (performance.now() - t0) / 1000;
    // Warm the page cache and the file-state cache once, as a user's second command would find
    // them: a no-op run (status is read only and keeps new file hashes in memory only; the first
    // run could not keep the hashes of files written within 2 s of it, git's "racy" rule).
    timed(dir, [process.execPath, CLI, 'run', '--json']);
    const base = best(dir, [process.execPath, '-e', STAT_ALL, dir]);
    const status = best(dir, [process.execPath, CLI, 'status', '--json']);
    const run = best(dir, [process.execPath, CLI, 'run', '--json']);
    const stale = JSON.parse(status.stdout) as { stages: Array<{ state: string }> };
    if (stale.stages.some((s) => s.state !== 'fresh')) throw new Error(`no-op status found stale stages: ${status.stdout}`);
    const ranJson = JSON.parse(run.stdout.trim().split('\n').pop()!) as { stages: Array<{ state: string }> };
    if (ranJson.stages.some((s) => s.state !== 'cached')) throw new Error(`no-op run ran something: ${run.stdout}`);

    // One file changes: status must name exactly that movie.
    const id = `tt${String(9_100_000 + 7).padStart(7, '0')}`;
    writeFileSync(join(dir, 'data', '240P', id, 'shot_0001_img_1.jpg'), jpeg('changed'));
    const one = timed(dir, [process.execPath, CLI, 'status', '--json']);
    const oneJson = JSON.parse(one.stdout) as { stages: Array<{ name: string; state: string; reasons: string[]; items?: { stale: number } }> };
    const frames = oneJson.stages[0]!;
    if (frames.items?.stale !== 1 || frames.reasons.join() !== '1 item changed') throw new Error(`status after one change: ${one.stdout}`);

    rows.push(
      `| ${files.toLocaleString('en')} | ${firstSecs.toFixed(1)} s | ${base.wall.toFixed(2)} s | ${status.wall.toFixed(2)} s / ${status.rssMiB.toFixed(0)} MiB | ` +
        `${run.wall.toFixed(2)} s / ${run.rssMiB.toFixed(0)} MiB | ${(status.wall / Math.max(0.01, base.wall)).toFixed(1)}x | ${one.wall.toFixed(2)} s (names ${id}) |`,
    );
    summary.push({ files, first: firstSecs, baseline: base.wall, status: status.wall, statusRss: status.rssMiB, run: run.wall, runRss: run.rssMiB, oneChanged: one.wall });
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

console.log('| files | first run | baseline: list + stat every file | no-op status (wall / peak RSS) | no-op run (wall / peak RSS) | status / baseline | status, 1 file changed |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
if (summary.length >= 2) {
  const a = summary[0] as { files: number; status: number; run: number };
  const b = summary[summary.length - 1] as { files: number; status: number; run: number };
  console.log(`\nscaling ${a.files} -> ${b.files} files (x${(b.files / a.files).toFixed(0)}): status x${(b.status / a.status).toFixed(1)}, run x${(b.run / a.run).toFixed(1)}`);
}
console.log(JSON.stringify(summary));
