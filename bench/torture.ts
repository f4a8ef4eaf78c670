// Crash torture from the command line: `kill -9` at uniform random moments of a small demo run,
// each followed by a resumed run, and kills during `checkout`, `gc`, `push` and `pull`, each
// followed by the same command again; fixtures-lib/torture.ts has the checks
// (docs/RELIABILITY.md lists them).
//
//   node dist/bench/torture.js [--kills 100] [--op-kills 5] [--ops run,checkout,gc,push,pull]
//                              [--seed 1] [--movies 16] [--epochs 3] [-p key=value ...] [--keep]
//
// Exit status 1 when any check failed; each failure is printed with the kill that caused it
// (its moment, and a --seed to replay the same sequence). test/reliability-torture.test.ts runs
// a short version (about 10 kills) in `npm test`.
import { parseArgs } from 'node:util';
import { TORTURE_OPS, torture, type TortureOp } from '../fixtures-lib/torture.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '100' },
    'op-kills': { type: 'string', default: '5' },
    ops: { type: 'string', default: TORTURE_OPS.join(',') },
    seed: { type: 'string', default: '1' },
    movies: { type: 'string', default: '16' },
    epochs: { type: 'string', default: '3' },
    param: { type: 'string', short: 'p', multiple: true, default: [] },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'tmp-grace-ms': { type: 'string', default: '0' },
  },
});
const ops = values.ops.split(',').filter(Boolean);
const bad = ops.filter((x) => !(TORTURE_OPS as readonly string[]).includes(x));
if (bad.length > 0) {
  process.stderr.write(`--ops: unknown ${bad.join(', ')} (choose from ${TORTURE_OPS.join(', ')})\n`);
  process.exit(2);
}
const t0 = performance.now();
const report = await torture({
  kills: Number(values.kills),
  opKills: Number(values['op-kills']),
  ops: ops as TortureOp[],
  seed: values.seed,
  params: [`dataset.movies=${values.movies}`, `train.epochs=${values.epochs}`, ...values.param],
  ...(values.dir === undefined ? {} : { dir: values.dir }),
  keep: values.keep,
  tmpGraceMs: Number(values['tmp-grace-ms']),
  log: (l) => console.log(l),
});
console.log('\n| command | kills | of them after it had finished | uninterrupted s |');
console.log('|---|---:|---:|---:|');
for (const op of TORTURE_OPS) {
  const ks = report.kills.filter((k) => k.op === op);
  if (ks.length === 0) continue;
  console.log(`| ${op} | ${ks.length} | ${ks.filter((k) => k.finishedFirst).length} | ${((report.durations[op] ?? 0) / 1000).toFixed(2)} |`);
}
console.log(`\n${report.kills.length} kills in ${((performance.now() - t0) / 1000).toFixed(0)} s, seed ${values.seed}: ${report.failures.length === 0 ? 'every check passed' : `${report.failures.length} failed checks`}`);
for (const f of report.failures) console.log(`  ${f}`);
if (report.pending.length > 0) console.log(`cache/tmp files within --tmp-grace-ms (not failures): ${report.pending.length}`);
process.exitCode = report.failures.length === 0 ? 0 : 1;
