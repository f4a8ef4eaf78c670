// `pipeline runs --table` over N recorded runs (default 1,000; target <= 0.5 s). The runs are
// recorded synthetically through the real store and run index (a record with train and metrics
// stages and a metrics.json each; lr, length and model varied), so nothing is trained.
// Baselines in the same run: `pipeline --version` (starting the CLI process, the floor of any
// command) and the in-process table build without the CLI.
//
//   node dist/bench/runs-table.js [--runs 1000] [--repeat 3] [--keep]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildRunsTable } from '../src/experiments/table.js';
import { registerBuiltins } from '../stages/register.js';
import { addFakeRun, openFake } from '../fixtures-lib/experiment-runs.js';

// The built-in kinds and results reader, as the CLI's composition root registers them.
registerBuiltins();

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CLI = join(ROOT, 'bin', 'pipeline.js');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.runs);
const repeat = Number(values.repeat);

const dir = mkdtempSync(join(tmpdir(), 'pipeline-bench-runs-table-'));
writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  s:\n    cmd: "true"\n    outs: [out]\n');
mkdirSync(join(dir, 'conf'));
writeFileSync(join(dir, 'conf', 'default.yaml'), 'a: 1\n');
const ws = openFake(join(dir, 'cache'));
const t0 = performance.now();
const lrs = [0.001, 0.0003, 0.003, 0.0001];
const lengths = [32, 64, 128, 256];
const models = ['reference', 'bilstm_maxpool', 'gru'];
ws.state.transaction(() => {
  for (let i = 0; i < N; i++) {
    addFakeRun(ws, { lr: lrs[i % 4]!, length: lengths[Math.floor(i / 4) % 4]!, model: models[i % 3]!, mAP: 0.3 + ((i * 37) % 100) / 500, result: String(i) }, i);
  }
});
const recordSeconds = (performance.now() - t0) / 1000;

function cliSeconds(args: string[]): { best: number; bytes: number } {
  let best = Infinity;
  let bytes = 0;
  for (let r = 0; r < repeat; r++) {
    const s = performance.now();
    const p = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' }, maxBuffer: 1 << 28 });
    const t = (performance.now() - s) / 1000;
    if (p.status !== 0) throw new Error(`pipeline ${args.join(' ')} failed: ${p.stderr}`);
    bytes = p.stdout.length;
    best = Math.min(best, t);
  }
  return { best, bytes };
}

const floor = cliSeconds(['--version']);
const table = cliSeconds(['runs', '--table', '-n', String(N), '--sort', 'mAP']);
const csv = cliSeconds(['runs', '--table', '-n', String(N), '--csv', '--genres']);
const s = performance.now();
const built = await buildRunsTable(ws, { limit: N, sort: 'mAP' });
const inProcess = (performance.now() - s) / 1000;
const s2 = performance.now();
await buildRunsTable(ws, { limit: N, sort: 'mAP' });
const warm = (performance.now() - s2) / 1000;
ws.close();

console.log(`${N} recorded runs (recorded in ${recordSeconds.toFixed(2)} s); best of ${repeat}`);
console.log(`| what | seconds | vs pipeline --version |`);
console.log(`|---|---:|---:|`);
console.log(`| pipeline --version (process floor) | ${floor.best.toFixed(3)} | 1.00x |`);
console.log(`| pipeline runs --table -n ${N} --sort mAP | ${table.best.toFixed(3)} | ${(table.best / floor.best).toFixed(2)}x |`);
console.log(`| pipeline runs --table -n ${N} --csv --genres | ${csv.best.toFixed(3)} | ${(csv.best / floor.best).toFixed(2)}x |`);
console.log(`| buildRunsTable in process, first call (${built.rows.length} rows, ${built.columns.length} columns) | ${inProcess.toFixed(3)} | |`);
console.log(`| buildRunsTable in process, again (rows kept by run id) | ${warm.toFixed(3)} | |`);
if (N >= 1000) console.log(`target: runs --table over ${N} runs <= 0.5 s: ${table.best <= 0.5 ? 'met' : 'NOT met'} (${table.best.toFixed(3)} s)`);
else console.log('target (<= 0.5 s) is for --runs 1000');
if (values.keep) console.log(`workspace kept: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
