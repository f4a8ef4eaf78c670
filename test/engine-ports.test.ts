// Typed ports: each kind declares its named inputs (stages/ports.ts), pipeline.yaml binds them
// (`inputs:`, or the deps where one dep writes each port's contract), a wrong or ambiguous
// binding is a located load-time error with the fix, and kinds read their inputs through
// ctx.ports. Also the features contract (stages/data/features.ts): the one rule for a movie's
// .npy and its one error kind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it, test } from 'node:test';
import { ConfigError } from '../src/diagnostics.js';
import { UserError } from '../src/errors.js';
import { hashJson } from '../src/hash.js';
import { encodeNpy } from '../src/npy.js';
import { kindInfo, loadKind } from '../src/registry.js';
import { loadProject, type Project } from '../src/spec.js';
import type { ItemOutput } from '../src/stage-api.js';
import { demoId } from '../stages/data/demo-genres.js';
import { checkFeatures, featuresFile, FeaturesError, readFeatures, readFeaturesSync } from '../stages/data/features.js';
import { readLabelsFiles } from '../stages/data/labels-files.js';
import { BUILTIN_KINDS } from '../stages/index.js';
import { readPorts } from '../stages/inputs.js';
import { CONTRACTS, KIND_OUTPUTS, KIND_PORTS } from '../stages/ports.js';
import { PACKAGE_ROOT, Rig } from './helpers/rig.js';
import { collectionArtifact, TempFolders, testContext, treeArtifact } from '../fixtures-lib/stage-ctx.js';

const rigs: Rig[] = [];
const temps = new TempFolders();
after(() => {
  rigs.forEach((r) => r.cleanup());
  temps.cleanup();
});

const CONF = 'embed:\n  normalize: false\n';
const HEAD = [
  'stages:',
  '  frames: {uses: frames}',
  '  labels: {uses: labels, deps: [frames]}',
  '  embed: {uses: embed, deps: [frames]}',
  '  fixlen: {uses: fixlen, deps: [embed]}',
];

function load(lines: readonly string[]): Project {
  const rig = Rig.create({ 'pipeline.yaml': `${lines.join('\n')}\n`, 'conf/default.yaml': CONF });
  rigs.push(rig);
  return loadProject({ root: rig.dir });
}

/** The formatted errors of a pipeline.yaml made of these lines (fails when it loads). */
function errorsOf(lines: readonly string[]): string[] {
  const rig = Rig.create({ 'pipeline.yaml': `${lines.join('\n')}\n`, 'conf/default.yaml': CONF });
  rigs.push(rig);
  try {
    loadProject({ root: rig.dir });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.format(rig.dir).split('\n\n');
  }
  assert.fail('expected configuration errors');
}

describe('binding ports at load', () => {
  it('the shipped pipeline.yaml: every port bound from its list of deps, none chosen explicitly', () => {
    const rig = Rig.create({
      'pipeline.yaml': readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8'),
      'conf/default.yaml': readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8'),
    });
    rigs.push(rig);
    const p = loadProject({ root: rig.dir });
    const ports = Object.fromEntries([...p.stages.values()].map((s) => [s.name, s.ports]));
    assert.deepEqual(ports, {
      frames: {},
      labels: { frames: 'frames' },
      embed: { frames: 'frames' },
      fixlen: { embeddings: 'embed' },
      train: { features: 'fixlen', labels: 'labels' },
      metrics: { model: 'train', features: 'fixlen', labels: 'labels' },
    });
    // Nothing for the fingerprint: the deps' hashes already say what each port reads.
    assert.ok([...p.stages.values()].every((s) => s.explicitPorts === undefined));
  });

  it('an unambiguous list of deps binds by kind, whatever the stages are called', () => {
    const p = load([...HEAD, '  lstm: {uses: train, deps: [labels, fixlen]}', '  score: {uses: metrics, deps: [fixlen, lstm, labels]}']);
    assert.deepEqual(p.stages.get('lstm')!.ports, { features: 'fixlen', labels: 'labels' });
    assert.deepEqual(p.stages.get('score')!.ports, { model: 'lstm', features: 'fixlen', labels: 'labels' });
  });

  it('inputs: binds explicitly, adds the stages it names to the deps, and is kept where deps alone do not decide', () => {
    const p = load([
      ...HEAD,
      '  fix2: {uses: fixlen, deps: [embed]}',
      '  train:',
      '    uses: train',
      '    deps: [fixlen, fix2, labels]',
      '    inputs: {features: fix2}',
      '  metrics:',
      '    uses: metrics',
      '    inputs: {model: train, features: fix2, labels: labels}',
    ]);
    const t = p.stages.get('train')!;
    assert.deepEqual(t.ports, { features: 'fix2', labels: 'labels' });
    assert.deepEqual(t.explicitPorts, { features: 'fix2' }, 'fixlen and fix2 both write features: the choice is not in the deps');
    const m = p.stages.get('metrics')!;
    assert.deepEqual(m.stageDeps, ['train', 'fix2', 'labels'], 'the stages inputs: names are deps');
    assert.deepEqual(m.ports, { model: 'train', features: 'fix2', labels: 'labels' });
    assert.equal(m.explicitPorts, undefined, 'its deps alone decide every port');
    assert.ok(p.order.indexOf('fix2') < p.order.indexOf('metrics'));
  });

  it('a map kind maps the stage bound to its items port, which inputs: puts first', () => {
    const p = load([...HEAD, '  fix2:', '    uses: fixlen', '    inputs: {embeddings: embed}']);
    assert.deepEqual(p.stages.get('fix2')!.stageDeps, ['embed']);
    assert.deepEqual(p.stages.get('fix2')!.ports, { embeddings: 'embed' });
  });

  it('a matrix variant reads the variants of its bound stages', () => {
    const rig = Rig.create({
      'pipeline.yaml': [...HEAD, '  train: {uses: train, deps: [fixlen, labels], params: [train.lr], matrix: {train.lr: [0.1, 0.2]}}', '  metrics: {uses: metrics, deps: [train, fixlen, labels]}', ''].join('\n'),
      'conf/default.yaml': 'train:\n  lr: 0.001\n',
    });
    rigs.push(rig);
    const p = loadProject({ root: rig.dir });
    assert.deepEqual(p.stages.get('metrics@0.2')!.ports, { model: 'train@0.2', features: 'fixlen', labels: 'labels' });
  });
});

describe('wrong bindings are located load-time errors with the fix', () => {
  it('ambiguous: two deps write features', () => {
    assert.deepEqual(errorsOf([...HEAD, '  fix2: {uses: fixlen, deps: [embed]}', '  train:', '    uses: train', '    deps: [fixlen, fix2, labels]']), [
      "pipeline.yaml:9:11: error: stage 'train' (uses train): its input 'features' (the [L,F] features it trains on) could be any of 'fixlen', 'fix2', which all write features; say which with inputs: {features: fixlen} (valid: fixlen, fix2)\n 9 |     deps: [fixlen, fix2, labels]\n   |           ~~~~~~~~~~~~~~~~~~~~~~",
    ]);
  });

  it('contract mismatch: inputs: binds a stage that writes something else', () => {
    assert.deepEqual(errorsOf([...HEAD, '  train:', '    uses: train', '    deps: [labels]', '    inputs: {features: embed}']), [
      "pipeline.yaml:9:24: error: input 'features' of stage 'train' (uses train) takes features (the [L,F] features it trains on), but 'embed' (uses embed) writes embeddings; bind it to a stage that writes features, e.g. inputs: {features: fixlen} (valid: fixlen)\n 9 |     inputs: {features: embed}\n   |                        ~~~~~",
    ]);
  });

  it('contract mismatch through the list of deps: nothing writes what a port takes', () => {
    assert.deepEqual(errorsOf([...HEAD, '  train: {uses: train, deps: [embed, labels]}']), [
      "pipeline.yaml:6:30: error: stage 'train' (uses train) has nothing for its input 'features' (the [L,F] features it trains on): no dep writes features ('embed' (uses embed) writes embeddings; 'labels' (uses labels) writes labels); add 'fixlen' to deps, or bind it with inputs: {features: fixlen} (valid: fixlen)\n 6 |   train: {uses: train, deps: [embed, labels]}\n   |                              ~~~~~~~~~~~~~~~",
    ]);
  });

  it('a cmd stage feeds no port', () => {
    const errs = errorsOf([...HEAD, '  feats: {cmd: make feats, outs: [out/feats]}', '  train: {uses: train, deps: [labels], inputs: {features: feats}}']);
    assert.equal(errs.length, 1);
    assert.match(errs[0]!, /^pipeline\.yaml:7:59: error: input 'features' of stage 'train' \(uses train\) takes features .*but 'feats' is a cmd stage \(its outs carry no contract\); bind it to a stage that writes features, e.g\. inputs: \{features: fixlen\}/);
  });

  it('an unknown port, a port bound to no stage, inputs on a cmd stage', () => {
    const errs = errorsOf([
      ...HEAD,
      '  train:',
      '    uses: train',
      '    inputs: {feature: fixlen, labels: lables}',
      '  x:',
      '    cmd: echo',
      '    outs: [x.txt]',
      '    inputs: {a: labels}',
    ]);
    assert.deepEqual(errs.map((e) => e.split('\n')[0]), [
      "pipeline.yaml:8:14: error: kind train has no input 'feature' (did you mean 'features'?) (valid: features, labels)",
      "pipeline.yaml:8:39: error: input 'labels' of stage 'train' names 'lables', which is not a stage (did you mean 'labels'?) (valid: frames, labels, embed, fixlen, x)",
      "pipeline.yaml:12:5: error: cmd stage 'x' has no input ports: list the stages and paths it reads under 'deps'",
    ]);
  });

  it('a map kind whose items port is not its first dependency', () => {
    assert.deepEqual(errorsOf([...HEAD, '  fix2: {uses: fixlen, deps: [frames, embed]}']), [
      "pipeline.yaml:6:39: error: stage 'fix2' (uses fixlen) maps the items of its input 'embeddings' ('embed'), which must be its first dependency: list 'embed' first in deps\n 6 |   fix2: {uses: fixlen, deps: [frames, embed]}\n   |                                       ~~~~~",
    ]);
  });

  it('a dep already reported is not reported again as a port problem', () => {
    assert.deepEqual(errorsOf([...HEAD, '  train: {uses: train, deps: [fixln, labels]}']).map((e) => e.split('\n')[0]), [
      "pipeline.yaml:6:31: error: dep 'fixln' is neither a stage nor an existing path in the workspace (did you mean 'fixlen'?) (valid: frames, labels, embed, fixlen)",
    ]);
  });
});

describe('the kinds declare their ports once', () => {
  it("the registry's ports are the kind modules' own objects, and every contract is known", async () => {
    for (const name of Object.keys(BUILTIN_KINDS) as Array<keyof typeof BUILTIN_KINDS>) {
      const kind = await loadKind(name);
      const info = kindInfo(name)!;
      assert.equal(kind.ports, info.ports, `${name}: ports`);
      assert.equal(kind.outputContract, KIND_OUTPUTS[name], `${name}: outputContract`);
      assert.equal(CONTRACTS[KIND_OUTPUTS[name]].artifact, kind.type === 'map' ? 'collection' : 'tree', `${name} writes a ${kind.type === 'map' ? 'collection' : 'tree'}`);
      for (const [port, ps] of Object.entries(KIND_PORTS[name] as Record<string, { contract: keyof typeof CONTRACTS; artifact: string }>)) {
        assert.equal(ps.artifact, CONTRACTS[ps.contract].artifact, `${name}.${port}`);
      }
    }
  });
});

describe('kinds read their inputs through ctx.ports', () => {
  const movie = (id: string): [string, ItemOutput] => [id, { tree: { [`${id}.json`]: hashJson(id) } }];

  it('readPorts: the bound artifacts; an unbound or mistyped port is a UserError naming it and the fix', () => {
    const model = treeArtifact({ 'model/model.json': '0000000000000001' });
    const labels = treeArtifact({ 'genres.json': '0000000000000002', 'split.json': '0000000000000003' });
    const features = collectionArtifact(new Map([['tt1', { tree: { 'tt1.npy': '0000000000000004' } }]]));
    const got = readPorts({ stage: 'score', ports: { model, features, labels } }, KIND_PORTS.metrics);
    assert.equal(got.model, model);
    assert.equal(got.features, features);
    assert.equal(got.labels, labels);
    assert.throws(
      () => readPorts({ stage: 'score', ports: { features, labels } }, KIND_PORTS.metrics),
      (e: unknown) => e instanceof UserError && /^stage score: nothing is bound to its input 'model'/.test(e.message) && /inputs: \{model: /.test(e.hint ?? ''),
    );
    assert.throws(
      () => readPorts({ stage: 'score', ports: { model, features: labels, labels } }, KIND_PORTS.metrics),
      (e: unknown) => e instanceof UserError && /its input 'features' needs a collection \(features\), but a tree is bound to it/.test(e.message),
    );
  });

  it('labels reads its frames port, not a dep found by name', async () => {
    const ws = temps.workspace();
    const bound = Array.from({ length: 10 }, (_, i) => demoId(i + 1));
    const other = Array.from({ length: 10 }, (_, i) => demoId(i + 11));
    const ctx = testContext(ws, {
      stage: 'labels',
      params: { dataset: { source: 'demo', movies: 20, seed: 0 }, labels: {} },
      ports: { frames: collectionArtifact(new Map(bound.map(movie))) },
      inputs: { frames: collectionArtifact(new Map(other.map(movie))) },
    });
    const labels = await loadKind('labels');
    assert.equal(labels.type, 'reduce');
    const out = await labels.run(ctx);
    const files = await readLabelsFiles(ws.store, treeArtifact(out.tree));
    assert.ok(files.ids.length > 0 && files.ids.every((id) => bound.includes(id)), `ids ${files.ids.join(',')}`);
  });
});

describe('the features contract', () => {
  const npy = (rows: number, cols: number, fill = 0.5): Buffer => encodeNpy(new Float32Array(rows * cols).fill(fill), [rows, cols]);
  const fails = (fn: () => unknown, problem: string, message: RegExp): void => {
    assert.throws(fn, (e: unknown) => e instanceof FeaturesError && e.item === 'tt1' && e.problem === problem && message.test(e.message), `${problem}`);
  };

  it('the file: <id>.npy, or the only .npy; anything else is a FeaturesError naming what it found', () => {
    assert.deepEqual(featuresFile('tt1', { tree: { 'tt1.npy': 'a', 'other.npy': 'b' } }, 'features'), { name: 'tt1.npy', hash: 'a' });
    assert.deepEqual(featuresFile('tt1', { tree: { 'emb.npy': 'b', 'meta.json': 'c' } }, 'features'), { name: 'emb.npy', hash: 'b' });
    fails(() => featuresFile('tt1', { tree: { 'tt1.json': 'c' } }, 'features'), 'missing', /^expected the features file tt1\.npy from the upstream stage, found no \.npy file$/);
    fails(() => featuresFile('tt1', { tree: { 'a.npy': 'a', 'b.npy': 'b' } }, 'embeddings'), 'missing', /found a\.npy, b\.npy$/);
    fails(() => featuresFile('tt1', undefined, 'features'), 'missing', /no \.npy file/);
  });

  it('the checks: readable, float32 two-dimensional, frames for embeddings, finite, one shape for features', () => {
    assert.deepEqual(checkFeatures('tt1', 'tt1.npy', npy(4, 3), 'features', [4, 3]).rows, 4);
    fails(() => checkFeatures('tt1', 'tt1.npy', Buffer.from('not an npy file'), 'features'), 'unreadable', /^cannot read the features: tt1\.npy: not a \.npy file/);
    fails(() => checkFeatures('tt1', 'tt1.npy', encodeNpy(new Float64Array(6), [2, 3]), 'features'), 'dtype', /^expected float32 \[L,F\] features, found <f8 \[2,3\]$/);
    fails(() => checkFeatures('tt1', 'tt1.npy', encodeNpy(new Float32Array(6), [6]), 'embeddings'), 'dtype', /^expected float32 \[N,D\] embeddings, found <f4 \[6\]$/);
    fails(() => checkFeatures('tt1', 'tt1.npy', npy(0, 3), 'embeddings'), 'empty', /^the movie has no frames \(embeddings of shape \[0,3\]\)$/);
    const nan = new Float32Array(12).fill(0.5);
    nan[7] = Number.NaN;
    fails(() => checkFeatures('tt1', 'tt1.npy', encodeNpy(nan, [4, 3]), 'features'), 'non-finite', /^the features hold NaN at row 2, column 1$/);
    fails(() => checkFeatures('tt1', 'tt1.npy', encodeNpy(nan, [4, 3]), 'embeddings'), 'non-finite', /^the embeddings hold NaN at frame 2, column 1$/);
    fails(() => checkFeatures('tt1', 'tt1.npy', npy(4, 3), 'features', [8, 3]), 'shape', /^features are \[4,3\] but other movies have \[8,3\]$/);
    const e = (() => {
      try {
        checkFeatures('tt1', 'tt1.npy', npy(4, 3), 'features', [8, 3]);
      } catch (err) {
        return err as FeaturesError;
      }
      return undefined;
    })();
    assert.match(e?.describe() ?? '', /^\w+ tt1: tt1\.npy: features are \[4,3\] but other movies have \[8,3\] \(every movie needs the same fixlen\.length: rerun fixlen\)$/);
  });

  it('reads from the store, checked (async and sync); a store problem is the movie\'s unreadable file', async () => {
    const ws = temps.workspace();
    const h = await ws.store.put(npy(2, 3, 1));
    const item: ItemOutput = { tree: { 'tt1.npy': h } };
    const a = await readFeatures(ws.store, 'tt1', item, 'features');
    const b = readFeaturesSync(ws.store, 'tt1', item, 'features');
    assert.deepEqual([a.rows, a.cols, a.file, Array.from(a.data)], [2, 3, 'tt1.npy', [1, 1, 1, 1, 1, 1]]);
    assert.deepEqual(Array.from(b.data), Array.from(a.data));
    await assert.rejects(readFeatures(ws.store, 'tt1', { tree: { 'tt1.npy': 'ffffffffffffffff' } }, 'features'), (e: unknown) => e instanceof FeaturesError && e.problem === 'unreadable' && e.file === 'tt1.npy');
  });
});

test('the error kind is an ItemError, so on_error applies to it', () => {
  const e = new FeaturesError('tt1', 'features', 'missing', 'x');
  assert.equal(e.name, 'FeaturesError');
  assert.deepEqual(e.toJSON(), { item: 'tt1', message: 'x' });
});
