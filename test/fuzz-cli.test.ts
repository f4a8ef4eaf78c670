// Fuzzing the command line with fast-check: random commands, options, values and stray words
// over a small workspace with one run, called in-process by test/helpers/fuzz-cli-runner.ts (in
// its own process, so capturing stdout cannot swallow this runner's reports). Every outcome is
// success, a failure the command reports (exit 1: a stale status), or a usage/config error
// (exit 2); never "internal error" (exit 70) or a stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lastJson, Rig } from './helpers/rig.js';

const RUNNER = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'fuzz-cli-runner.js');
const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

test('random command lines end in success or a usage error, never an internal error', async () => {
  const rig = Rig.create({
    'pipeline.yaml': 'stages:\n  count:\n    cmd: mkdir -p out && cat data/*.txt | wc -c > out/count.txt\n    deps: [data]\n    params: [report]\n    outs: [out/count.txt]\n',
    'conf/default.yaml': 'report:\n  scale: 1\n  name: x\n',
    'data/a.txt': 'alpha\n',
  });
  rigs.push(rig);
  const r = await rig.cli(['run', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const run = lastJson<{ run: string }>(r.stdout).run;
  const fuzz = spawnSync(process.execPath, [RUNNER, rig.dir, run, process.env.FUZZ_RUNS ?? '200', process.env.FUZZ_SEED ?? '1310'], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  assert.equal(fuzz.status, 0, fuzz.stderr);
  const out = lastJson<{ ok: boolean; error?: string; codes?: Record<string, number> }>(fuzz.stdout);
  assert.ok(out.ok, out.error);
  // the generator reaches both outcomes, not only one of them
  assert.ok((out.codes?.['0'] ?? 0) > 0 && (out.codes?.['2'] ?? 0) > 0, JSON.stringify(out.codes));
});
