// One test per configuration error: the exact message and where it points.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../src/diagnostics.js';
import { SCHEMA_PATH, loadProject } from '../src/spec.js';
import { kindNames } from '../src/registry.js';
import { Rig } from './helpers/rig.js';

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.cleanup()));

const CONF = 'embed:\n  normalize: false\ntrain:\n  lr: 0.001\n';

/** Loads a workspace made of this pipeline.yaml and returns the formatted errors (or fails). */
function errorsOf(spec: string, opts: { conf?: string; overrides?: string[]; files?: Record<string, string> } = {}): string[] {
  const rig = Rig.create({ 'pipeline.yaml': spec, 'conf/default.yaml': opts.conf ?? CONF, ...(opts.files ?? {}) });
  rigs.push(rig);
  try {
    loadProject({ root: rig.dir, overrides: opts.overrides ?? [] });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.format(rig.dir).split('\n\n');
  }
  assert.fail('expected configuration errors');
}

describe('pipeline.yaml errors', () => {
  it('YAML syntax', () => {
    const [e] = errorsOf('stages:\n  a:\n    cmd: [unclosed\n');
    assert.match(e!, /^pipeline\.yaml:\d+:\d+: error: /);
  });

  it('a value of the wrong type, said in YAML words', () => {
    const [e] = errorsOf('stages: [1]\n');
    assert.match(e!, /^pipeline\.yaml:1:9: error: stages must be a mapping, found a list\n/);
  });

  it('unknown top-level key, with the valid ones', () => {
    assert.deepEqual(errorsOf('stage:\n  a:\n    cmd: x\n    outs: [o]\n'), [
      'pipeline.yaml:1:1: error: pipeline.yaml needs \'stages\'\n 1 | stage:\n   | ~~~~~~',
      "pipeline.yaml:1:1: error: unknown key 'stage' in pipeline.yaml (did you mean 'stages'?) (valid: conf, remote, remote_pull, executor, redis, stages)\n 1 | stage:\n   | ~~~~~",
    ]);
  });

  it('unknown stage key, with did-you-mean', () => {
    assert.deepEqual(errorsOf('stages:\n  a:\n    cmd: x\n    outs: [o]\n    dep: [b]\n'), [
      "pipeline.yaml:5:5: error: unknown key 'dep' in stages.a (did you mean 'deps'?) (valid: uses, cmd, description, deps, inputs, params, outs, matrix, on_error)\n 5 |     dep: [b]\n   |     ~~~",
    ]);
  });

  it('unknown stage kind, with did-you-mean and the kinds', () => {
    assert.deepEqual(errorsOf('stages:\n  e:\n    uses: embedd\n'), [
      'pipeline.yaml:3:11: error: unknown stage kind "embedd" (did you mean \'embed\'?) (valid: frames, labels, embed, fixlen, train, metrics)\n 3 |     uses: embedd\n   |           ~~~~~~',
    ]);
  });

  it('a stage with neither uses nor cmd, and one with both', () => {
    assert.deepEqual(errorsOf('stages:\n  a:\n    deps: []\n  b:\n    uses: labels\n    cmd: echo\n'), [
      "pipeline.yaml:2:3: error: stage 'a' needs 'uses: <kind>' or 'cmd: <shell command>' (valid: frames, labels, embed, fixlen, train, metrics)\n 2 |   a:\n   |   ~",
      "pipeline.yaml:4:3: error: stage 'b' has both 'uses' and 'cmd'; keep one\n 4 |   b:\n   |   ~",
    ]);
  });

  it('a dep that is neither a stage nor a path', () => {
    assert.deepEqual(errorsOf('stages:\n  frames:\n    uses: frames\n  l:\n    uses: labels\n    deps: [fram]\n'), [
      "pipeline.yaml:6:12: error: dep 'fram' is neither a stage nor an existing path in the workspace (did you mean 'frames'?) (valid: frames)\n 6 |     deps: [fram]\n   |            ~~~~",
    ]);
  });

  it('a dependency cycle, with its path', () => {
    assert.deepEqual(
      errorsOf('stages:\n  a:\n    cmd: x\n    outs: [a.txt]\n    deps: [b]\n  b:\n    cmd: y\n    outs: [b.txt]\n    deps: [c]\n  c:\n    cmd: z\n    outs: [c.txt]\n    deps: [a]\n'),
      ['pipeline.yaml:13:12: error: dependency cycle: a -> b -> c -> a (each stage depends on the next)\n 13 |     deps: [a]\n    |            ~'],
    );
  });

  it('two stages writing the same out', () => {
    assert.deepEqual(errorsOf('stages:\n  a:\n    cmd: x\n    outs: [out/x.txt]\n  b:\n    cmd: y\n    outs: [out]\n'), [
      "pipeline.yaml:7:12: error: stages 'a' and 'b' both write 'out/x.txt' and 'out'\n 7 |     outs: [out]\n   |            ~~~",
    ]);
  });

  it('outs outside the workspace', () => {
    assert.deepEqual(errorsOf('stages:\n  a:\n    cmd: x\n    outs: [../x, /tmp/y]\n'), [
      "pipeline.yaml:4:12: error: out '../x' is outside the workspace; outs must be relative paths inside it\n 4 |     outs: [../x, /tmp/y]\n   |            ~~~~",
      "pipeline.yaml:4:18: error: out '/tmp/y' is outside the workspace; outs must be relative paths inside it\n 4 |     outs: [../x, /tmp/y]\n   |                  ~~~~~~",
    ]);
  });

  it('a cmd stage without outs', () => {
    assert.deepEqual(errorsOf('stages:\n  a:\n    cmd: x\n'), [
      "pipeline.yaml:2:3: error: cmd stage 'a' must list the paths it writes under 'outs'\n 2 |   a:\n   |   ~",
    ]);
  });

  it('an invalid on_error', () => {
    assert.deepEqual(errorsOf('stages:\n  a:\n    uses: frames\n    on_error: ignore\n'), [
      'pipeline.yaml:4:15: error: unknown value for on_error "ignore" (valid: fail, skip)\n 4 |     on_error: ignore\n   |               ~~~~~~',
    ]);
  });

  it('a declared param missing from the conf', () => {
    assert.deepEqual(errorsOf('stages:\n  t:\n    uses: frames\n    params: [trian.lr]\n'), [
      "pipeline.yaml:4:14: error: param 'trian.lr' is not in conf/default.yaml (did you mean 'train.lr'?)\n 4 |     params: [trian.lr]\n   |              ~~~~~~~~",
    ]);
  });

  it('a per-item kind whose first dependency is not per-item', () => {
    assert.deepEqual(errorsOf('stages:\n  frames:\n    uses: frames\n  labels:\n    uses: labels\n    deps: [frames]\n  embed:\n    uses: embed\n    deps: [labels]\n'), [
      "pipeline.yaml:9:12: error: stage 'embed' (uses embed) maps the items of its first dependency, so 'labels' must be a per-item stage (valid: frames)\n 9 |     deps: [labels]\n   |            ~~~~~~",
    ]);
  });

  it('every error at once, in file order', () => {
    const errs = errorsOf('stages:\n  a:\n    uses: embedd\n  b:\n    cmd: x\n    outs: [../o]\n    on_error: maybe\n');
    assert.equal(errs.length, 3);
    assert.deepEqual(
      errs.map((e) => e.split(':').slice(1, 3).join(':')),
      ['3:11', '6:12', '7:15'],
    );
  });
});

describe('parameter errors', () => {
  it('an unknown -p key, a wrong type, a section, a missing =', () => {
    const errs = errorsOf('stages:\n  a:\n    uses: frames\n', { overrides: ['train.lrr=1', 'train.lr=abc', 'embed=3', 'nokey'] });
    assert.deepEqual(errs.join('\n').split('\n'), [
      "error: -p train.lrr=1: unknown parameter 'train.lrr' (did you mean 'train.lr'?)",
      "error: -p train.lr=abc: 'train.lr' expects a number (default 0.001), got \"abc\"",
      "error: -p embed=3: 'embed' is a section; set its keys (e.g. embed.normalize)",
      'error: -p nokey: expected key=value, e.g. -p train.lr=0.0005',
    ]);
  });

  it('an unknown key in a --conf layer points into that file', () => {
    const rig = Rig.create({ 'pipeline.yaml': 'stages:\n  a:\n    uses: frames\n', 'conf/default.yaml': CONF, 'exp.yaml': 'train:\n  lr: 0.01\n  epoch: 3\n' });
    rigs.push(rig);
    assert.throws(
      () => loadProject({ root: rig.dir, confLayers: [rig.path('exp.yaml')] }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.format(rig.dir) === "exp.yaml:3:3: error: unknown parameter 'train.epoch'\n 3 |   epoch: 3\n   |   ~~~~~",
    );
  });

  it('a -p override reaches the resolved params with its YAML type', () => {
    const rig = Rig.create({ 'pipeline.yaml': 'stages:\n  a:\n    uses: frames\n', 'conf/default.yaml': CONF });
    rigs.push(rig);
    const p = loadProject({ root: rig.dir, overrides: ['train.lr=0.0005', 'embed.normalize=true'] });
    assert.equal(p.params.get('train.lr'), 0.0005);
    assert.equal(p.params.get('embed.normalize'), true);
  });
});

describe('the shipped JSON Schema', () => {
  it('lists exactly the built-in kinds', () => {
    const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as {
      definitions: { stage: { properties: { uses: { enum: string[] } } } };
    };
    assert.deepEqual(schema.definitions.stage.properties.uses.enum, kindNames());
  });
});
