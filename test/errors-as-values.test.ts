// Errors as values where they are expected: a run lookup (RunIndex.find), loading the project
// (readProject) and option values. A wrong run id, a bad pipeline.yaml or a bad option value is
// the user's, said as such (exit 2) with the valid form, never "internal error".
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../src/diagnostics.js';
import { RunNotFound, runLookupMessage, type RunLookupError } from '../src/run-lookup.js';
import { loadProject, readProject } from '../src/spec.js';
import { addFakeRun, openFake } from '../fixtures-lib/experiment-runs.js';
import { Rig } from './helpers/rig.js';

const temp: string[] = [];
const rigs: Rig[] = [];
after(() => {
  for (const d of temp) rmSync(d, { recursive: true, force: true });
  for (const r of rigs) r.cleanup();
});

describe('run lookup is a value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-lookup-'));
  temp.push(dir);
  const ws = openFake(join(dir, 'cache'));
  after(() => ws.close());

  it('no runs yet, not a run id, no match: each its own reason, with its message', () => {
    assert.deepEqual(ws.runs.find('latest'), { ok: false, error: { kind: 'no-runs' } });
    assert.deepEqual(ws.runs.find('xyz'), { ok: false, error: { kind: 'not-a-run-id', input: 'xyz' } });
    assert.deepEqual(ws.runs.find('ffff'), { ok: false, error: { kind: 'no-match', input: 'ffff' } });
    const cases: Array<[RunLookupError, string]> = [
      [{ kind: 'no-runs' }, 'no runs yet: run `pipeline run` first'],
      [{ kind: 'not-a-run-id', input: 'xyz' }, "'xyz' is not a run id (16 hex digits, or a unique prefix; see `pipeline runs`)"],
      [{ kind: 'no-match', input: 'ffff' }, "no run matches 'ffff' (see `pipeline runs`)"],
      [{ kind: 'ambiguous', input: 'a', candidates: ['a1', 'a2'], more: false }, "'a' is ambiguous: a1, a2"],
      [{ kind: 'ambiguous', input: 'a', candidates: ['a1'], more: true }, "'a' is ambiguous: a1, ..."],
    ];
    for (const [e, text] of cases) assert.equal(runLookupMessage(e), text);
  });

  it('finds a run by prefix and by "latest"; an ambiguous prefix lists the candidates; resolve() throws the reason', () => {
    // Runs until two ids share their first hex digit (at most 17).
    const ids: string[] = [];
    let shared: string | undefined;
    for (let i = 0; shared === undefined; i++) {
      const id = addFakeRun(ws, { lr: 0.001 * (i + 1), length: 16, mAP: 0.5 }, i);
      shared = ids.find((x) => x[0] === id[0]);
      ids.push(id);
    }
    const last = ids[ids.length - 1]!;
    const latest = ws.runs.find('latest');
    assert.ok(latest.ok && latest.value.id === last);
    const one = ws.runs.find(last.slice(0, 12).toUpperCase());
    assert.ok(one.ok && one.value.id === last);
    const amb = ws.runs.find(last[0]!);
    assert.equal(amb.ok, false);
    if (amb.ok) return;
    assert.equal(amb.error.kind, 'ambiguous');
    if (amb.error.kind === 'ambiguous') assert.deepEqual(new Set(amb.error.candidates), new Set(ids.filter((x) => x[0] === last[0])));
    assert.throws(
      () => ws.runs.resolve(last[0]!),
      (e: unknown) => e instanceof RunNotFound && e.reason?.kind === 'ambiguous' && /is ambiguous: /.test(e.message),
    );
  });
});

describe('readProject: the project or its ConfigError, never thrown', () => {
  it('a folder without pipeline.yaml, a YAML error and an unknown key are errors returned with their diagnostics; loadProject throws the same', () => {
    const empty = mkdtempSync(join(tmpdir(), 'pipeline-noproject-'));
    temp.push(empty);
    const none = readProject({ root: empty });
    assert.equal(none.ok, false);
    if (!none.ok) {
      assert.ok(none.error instanceof ConfigError);
      assert.match(none.error.message, /no pipeline\.yaml|pipeline\.yaml/);
    }
    const bad = mkdtempSync(join(tmpdir(), 'pipeline-badproject-'));
    temp.push(bad);
    writeFileSync(join(bad, 'pipeline.yaml'), 'stages:\n  a:\n    cmd: [unclosed\n');
    const r = readProject({ root: bad });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.ok(r.error instanceof ConfigError);
      assert.match(r.error.format(bad), /pipeline\.yaml:\d+:\d+/);
      assert.throws(() => loadProject({ root: bad }), (e: unknown) => e instanceof ConfigError && e.message === r.error.message);
    }
  });

  it('a good workspace loads', () => {
    const good = mkdtempSync(join(tmpdir(), 'pipeline-goodproject-'));
    temp.push(good);
    writeFileSync(join(good, 'pipeline.yaml'), 'stages:\n  a:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n');
    mkdirSync(join(good, 'conf'));
    writeFileSync(join(good, 'conf', 'default.yaml'), 'a: 1\n');
    const r = readProject({ root: good });
    assert.ok(r.ok, r.ok ? '' : r.error.format(good));
    assert.deepEqual(r.value.order, ['a']);
  });
});

describe('the CLI: bad option values and unknown runs are usage errors (exit 2) saying the valid form', () => {
  const rig = Rig.create({
    'pipeline.yaml': 'stages:\n  count:\n    cmd: mkdir -p out && echo 1 > out/n.txt\n    outs: [out/n.txt]\n',
    'conf/default.yaml': 'a: 1\n',
  });
  rigs.push(rig);
  const cases: Array<[string[], RegExp]> = [
    [['runs', '-n', 'x'], /option '-n, --limit <n>' argument 'x' is invalid\. expected a whole number >= 1, e\.g\. -n 10/],
    [['gc', '--keep-last', 'x'], /option '--keep-last <n>' argument 'x' is invalid\. expected a whole number >= 0, e\.g\. --keep-last 5/],
    [['run', '--jobs', '0'], /option '-j, --jobs <n>' argument '0' is invalid\. expected a whole number >= 1, e\.g\. -j 4/],
    [['run', '--executor', 'spark'], /option '--executor <name>' argument 'spark' is invalid\. Allowed choices are local, bullmq/],
    [['show', 'latest'], /^error: no runs yet: run `pipeline run` first\n$/],
    [['show', 'zz'], /^error: 'zz' is not a run id \(16 hex digits, or a unique prefix; see `pipeline runs`\)\n$/],
    [['show', 'deadbeef'], /^error: no run matches 'deadbeef' \(see `pipeline runs`\)\n$/],
    [['checkout', 'deadbeef'], /^error: no run matches 'deadbeef' \(see `pipeline runs`\)\n$/],
    [['reproduce', 'zz'], /^error: 'zz' is not a run id/],
    [['runs', '--table', '--sort', 'bogus'], /^error: cannot sort by 'bogus': no such column in this table\n  fix: sort by one of: /],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const r = await rig.cli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
  }
});
