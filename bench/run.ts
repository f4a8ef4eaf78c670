// Runs the benchmarks one after another (never in parallel: two cores are easily disturbed)
// and prints their tables; docs/PERFORMANCE.md keeps the latest output with these commands.
//
//   npm run bench [-- --only engine-noop,hash]
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = resolve(fileURLToPath(import.meta.url), '..');

/** Name -> arguments: the configurations docs/PERFORMANCE.md reports. */
const BENCHES: Array<[string, string[]]> = [
  ['engine-noop', []],
  ['hash', ['--mib', '1024']],
  ['data-demo', []],
  ['data-listing', ['--movies', '1000']],
  ['embed-throughput', []],
  ['fixlen-methods', []],
  ['rnn-train', []],
  ['worker-wake', []],
  ['train-models', []],
  ['train-demo', []],
  ['train-stage', []],
  ['metrics-report', []],
  ['e2e-demo', []],
  ['runs-table', ['--runs', '1000']],
  ['sweep', []],
];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only ? new Set(values.only.split(',')) : undefined;
let failed = 0;
for (const [name, args] of BENCHES) {
  if (only && !only.has(name)) continue;
  console.log(`\n## ${name}: node dist/bench/${name}.js ${args.join(' ')}`.trimEnd());
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(HERE, `${name}.js`), ...args], { stdio: 'inherit' });
  console.log(`(${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
