// The kinds' parameter schemas (src/param-schema/, StageKind.params): the committed docs and
// JSON Schema are what they generate, their defaults are conf/default.yaml's, every bad value is
// refused when the project loads with where it is written, and kinds read their values through them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ConfigError } from '../src/diagnostics.js';
import { UserError } from '../src/errors.js';
import { allSections, confDocuments, renderConfReadme } from '../src/param-schema/generate.js';
import { plainReader, readParam, readSection } from '../src/param-schema/readers.js';
import { defaultsOf, paramSchema, paramSection, perfKeys } from '../src/param-schema/types.js';
import { checkValue } from '../src/param-schema/value.js';
import { kindInfo, kindParamSchemas, loadKind, registerKind } from '../src/registry.js';
import { loadProject } from '../src/spec.js';
import type { StageKind } from '../src/stage-api.js';
import { BUILTIN_KINDS } from '../stages/index.js';
import { loadModelRegistry } from '../stages/models/registry.js';
import { KNOWN_MODELS, TRAIN } from '../stages/train/params.js';
import { PACKAGE_ROOT, Rig, demoRig } from './helpers/rig.js';
import { TempFolders, testContext } from '../fixtures-lib/stage-ctx.js';

const CONF = readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8');
const SPEC = readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8');
const temp = new TempFolders();
const rigs: Rig[] = [];
after(() => {
  temp.cleanup();
  for (const r of rigs) r.cleanup();
});

function rig(files: Record<string, string> = {}): Rig {
  const r = Rig.create({ 'pipeline.yaml': SPEC, 'conf/default.yaml': CONF, ...files });
  rigs.push(r);
  return r;
}

/** The formatted errors of loading a workspace (one string per diagnostic, with its source line). */
function loadErrors(r: Rig, opts: { overrides?: string[]; layers?: string[] } = {}): string[] {
  try {
    loadProject({ root: r.dir, overrides: opts.overrides ?? [], confLayers: (opts.layers ?? []).map((f) => r.path(f)) });
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.format(r.dir).split('\n\n');
  }
  return [];
}

/** The 1-based line of the first line of `text` matching `re`. */
const lineOf = (text: string, re: RegExp): number => text.split('\n').findIndex((l) => re.test(l)) + 1;

describe('generated files', () => {
  it('conf/README.md tables and schema/conf.schema.json are what the schemas generate (npm run gen:conf)', () => {
    const readme = readFileSync(join(PACKAGE_ROOT, 'conf', 'README.md'), 'utf8');
    const docs = confDocuments(readme, kindParamSchemas());
    assert.equal(readme, docs.readme, 'conf/README.md differs from the kinds\' parameter schemas: run npm run build && npm run gen:conf');
    const schema = readFileSync(join(PACKAGE_ROOT, 'schema', 'conf.schema.json'), 'utf8');
    assert.equal(schema, docs.jsonSchema, 'schema/conf.schema.json differs from the kinds\' parameter schemas: run npm run build && npm run gen:conf');
  });

  it('conf/default.yaml holds exactly the declared keys with their defaults, and names the JSON Schema', () => {
    const sections = allSections(kindParamSchemas().values());
    assert.deepEqual(parse(CONF), defaultsOf(sections));
    assert.equal(CONF.split('\n')[0], '# yaml-language-server: $schema=../schema/conf.schema.json');
  });

  it('the JSON Schema (ajv) accepts conf/default.yaml and refuses what the loader refuses', () => {
    const require = createRequire(import.meta.url);
    const Ajv = require('ajv') as typeof import('ajv').default;
    const validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(join(PACKAGE_ROOT, 'schema', 'conf.schema.json'), 'utf8')) as object);
    assert.ok(validate(parse(CONF)), JSON.stringify(validate.errors));
    assert.ok(validate({ train: { lr: 0.01 }, report: { scale: 2 } }), 'a layer names only some keys; other sections are cmd stages\' own');
    const bads: Array<Record<string, Record<string, unknown>>> = [
      { train: { epochs: 0 } },
      { train: { lr: 0 } },
      { fixlen: { method: 'crop' } },
      { train: { lr_rate: 1 } },
      { embed: { normalize: 'yes' } },
      { labels: { genres: [] } },
      { labels: { split: [0.5, 0.5] } },
    ];
    for (const bad of bads) {
      assert.equal(validate(bad), false, JSON.stringify(bad));
      const key = Object.keys(bad)[0]!;
      const [k, v] = Object.entries(bad[key]!)[0]!;
      const spec = allSections(kindParamSchemas().values()).find((s) => s.name === key)!.params[k];
      if (spec) assert.ok(checkValue(`${key}.${k}`, spec, v), `the loader accepts ${JSON.stringify(bad)}`);
    }
  });

  it('a README without the markers of a section is an error, and the prose around the tables is kept', () => {
    const s = paramSection('demo', { n: { type: 'int', min: 1, default: 2, doc: 'How many | of them.', perf: true } });
    assert.throws(() => renderConfReadme('# x\n', [s]), /no markers for section 'demo'/);
    const out = renderConfReadme('before\n<!-- params:demo (old) -->\nold table\n<!-- /params:demo -->\nafter\n', [s]);
    assert.match(out, /^before\n<!-- params:demo .*-->\n\| key \| type \| default \| meaning \|\n\|---\|---\|---\|---\|\n\| `demo.n` \| integer >= 1 \| `2` \| How many \\\| of them\. \*Speed only\.\* \|\n<!-- \/params:demo -->\nafter\n$/);
    assert.throws(() => renderConfReadme(`${out}<!-- params:gone x -->\n<!-- /params:gone -->\n`, [s]), /markers for 'gone', which no kind declares/);
  });
});

describe('the kinds declare their schemas', () => {
  it('each built-in kind\'s params is its registered schema; perfParams come from it and are the keys fingerprints always left out', async () => {
    // The keys each kind left out of its fingerprint before the schemas: unchanged, so no fingerprint
    // changes (train.onnx_parallel and train.baseline_parallel came later, speed only from the start).
    const before: Record<string, string[]> = {
      frames: ['dataset.root', 'dataset.movies', 'dataset.split_file', 'dataset.labels_file'],
      labels: ['dataset.root', 'dataset.keyframes_dir'],
      embed: ['embed.batch_size', 'embed.threads', 'embed.model', 'dataset.root'],
      fixlen: [],
      train: ['train.onnx_parallel', 'train.baseline_parallel'],
      metrics: ['metrics.batch_size'],
    };
    for (const [name, info] of Object.entries(BUILTIN_KINDS)) {
      const kind: StageKind = await info.load();
      const schema = info.params;
      assert.equal(kind.params, schema, name);
      assert.equal(kindInfo(name)?.params, schema, name);
      assert.equal(kindParamSchemas().get(name), schema, name);
      assert.deepEqual([...(kind.perfParams ?? [])].sort(), [...perfKeys(schema)].sort(), name);
      assert.deepEqual([...perfKeys(schema)].sort(), [...before[name]!].sort(), name);
    }
  });

  it('train.model lists the models of the registry', async () => {
    assert.deepEqual([...KNOWN_MODELS].sort(), [...(await loadModelRegistry()).keys()].sort());
  });

  it('a default that breaks its own rule, and an unfingerprinted key that is not declared, are refused', () => {
    assert.throws(() => paramSection('x', { n: { type: 'int', min: 1, default: 0, doc: '' } }), /the default of x\.n must be an integer >= 1, got 0/);
    assert.throws(() => paramSchema({ sections: [], unfingerprinted: ['x.n'] }), /x\.n is not declared/);
  });
});

describe('checking one value', () => {
  const p = TRAIN.params;
  it('names the key, the rule and the value', () => {
    assert.equal(checkValue('train.epochs', p.epochs, 'x'), 'train.epochs must be an integer >= 1, got "x"');
    assert.equal(checkValue('train.epochs', p.epochs, 2.5), 'train.epochs must be an integer >= 1, got 2.5');
    assert.equal(checkValue('train.lr', p.lr, 0), 'train.lr must be a number > 0, got 0');
    assert.equal(checkValue('train.lr', p.lr, Infinity), 'train.lr must be a number > 0, got Infinity');
    assert.equal(checkValue('train.lr_decay', p.lr_decay, 1.5), 'train.lr_decay must be a number in (0, 1], got 1.5');
    assert.equal(checkValue('train.dropout', p.dropout, 1), 'train.dropout must be a number in [0, 1), got 1');
    assert.equal(checkValue('train.rnn', p.rnn, 'onx'), 'train.rnn must be one of fast, stock, onnx, got "onx" (did you mean \'onnx\'?)');
    assert.equal(checkValue('train.baseline', p.baseline, 'yes'), 'train.baseline must be true or false, got "yes"');
    assert.equal(checkValue('train.model', p.model, ''), 'train.model must be a model name, got ""');
    assert.equal(checkValue('train.lr', p.lr, 0.01), undefined);
    const labels = allSections(kindParamSchemas().values()).find((s) => s.name === 'labels')!.params;
    assert.equal(checkValue('labels.genres', labels.genres!, ['Drama', 'drama']), "labels.genres lists genre 'drama' twice");
    assert.equal(checkValue('labels.genres', labels.genres!, []), 'labels.genres must be a non-empty list of genre names, got []');
    assert.match(checkValue('labels.split', labels.split!, [0.5, 0.6, 0])!, /^labels\.split must be three fractions \[train, val, test\] that sum to 1 with train > 0, got \[0\.5,0\.6,0\]$/);
  });
});

describe('reading values in a kind', () => {
  it('the conf\'s value, else the default; camelCased; every problem at once, unknown keys with a suggestion', () => {
    const ws = temp.workspace();
    const ctx = testContext(ws, { stage: 'train', params: { train: { lr: 0.01, batch_size: 4 } }, declared: ['train'] });
    const v = readSection(ctx, TRAIN);
    assert.equal(v.lr, 0.01);
    assert.equal(v.batchSize, 4);
    assert.equal(v.model, 'bilstm_maxpool');
    assert.equal(v.lrDecayEvery, 150);
    const bad = testContext(ws, { stage: 'train', params: { train: { lr: -1, epochs: 'x', epoch: 1 } }, declared: ['train'] });
    assert.throws(
      () => readSection(bad, TRAIN),
      (e: unknown) =>
        e instanceof UserError &&
        e.message === "unknown key train.epoch (did you mean 'train.epochs'?); train.epochs must be an integer >= 1, got \"x\"; train.lr must be a number > 0, got -1",
    );
  });

  it('a key the stage does not declare is refused even when the conf does not set it', () => {
    const ws = temp.workspace();
    const ctx = testContext(ws, { stage: 'fixlen', params: { fixlen: { length: 8 } }, declared: ['fixlen'] });
    assert.equal(readParam(ctx, 'fixlen.seed', { type: 'int', default: 0, doc: '' }), 0);
    assert.throws(() => readParam(ctx, 'train.lr', TRAIN.params.lr), (e: unknown) => e instanceof UserError && /does not declare/.test(e.message));
    assert.throws(() => readSection(ctx, TRAIN), (e: unknown) => e instanceof UserError && /does not declare/.test(e.message));
  });

  it('plain values (outside a stage) are checked the same way', () => {
    assert.equal(readSection(plainReader({ train: { epochs: 3 } }), TRAIN).epochs, 3);
    assert.throws(() => readSection(plainReader({ train: { epochs: 0 } }), TRAIN), /train\.epochs must be an integer >= 1, got 0/);
  });
});

describe('checking params when the project loads', () => {
  it('a bad type in conf/default.yaml, located at conf/FILE:line:col', () => {
    const conf = CONF.replace(/^ {2}epochs: 24/m, '  epochs: x ');
    const line = lineOf(conf, /^ {2}epochs:/);
    assert.deepEqual(loadErrors(rig({ 'conf/default.yaml': conf })), [
      `conf/default.yaml:${line}:11: error: train.epochs must be an integer >= 1, got "x"\n ${line} | ${conf.split('\n')[line - 1]}\n ${' '.repeat(String(line).length)} | ${' '.repeat(10)}~`,
    ]);
  });

  it('every problem at once: out of range, a bad choice in a --conf layer, an unknown key with a suggestion, a -p', () => {
    const conf = CONF.replace(/^ {2}lr: 0\.001 .*$/m, '  lr: 0.001\n  epoch: 3').replace(/^ {2}threshold: 0\.5 .*$/m, '  threshold: 1.5');
    const r = rig({ 'conf/default.yaml': conf, 'exp.yaml': 'fixlen:\n  method: crop\n' });
    const errs = loadErrors(r, { layers: ['exp.yaml'], overrides: ['embed.batch_size=0'] }).map((e) => e.split('\n')[0]);
    assert.deepEqual(errs, [
      `conf/default.yaml:${lineOf(conf, /^ {2}epoch:/)}:3: error: unknown key train.epoch (did you mean 'train.epochs'?) (valid: ${Object.keys(TRAIN.params).join(', ')})`,
      `conf/default.yaml:${lineOf(conf, /^ {2}threshold:/)}:14: error: metrics.threshold must be a number in (0, 1), got 1.5`,
      'exp.yaml:2:11: error: fixlen.method must be one of window, uniform, interpolate, pool, got "crop"',
      'error: -p embed.batch_size=0: embed.batch_size must be an integer from 1 to 4096, got 0',
    ]);
  });

  it('a value shared by two stages (dataset.*) is reported once; a key no stage declares is not checked', () => {
    const r = rig({ 'conf/default.yaml': CONF.replace(/^ {2}seed: 0 {17}# demo: seeds the synthetic/m, '  seed: 0.5               # demo: seeds the synthetic') });
    assert.deepEqual(
      loadErrors(r).map((e) => e.split('\n')[0]),
      [`conf/default.yaml:${lineOf(CONF, /^ {2}seed: 0 {17}# demo/)}:9: error: dataset.seed must be an integer, got 0.5`],
    );
    const only = rig({ 'pipeline.yaml': 'stages:\n  f:\n    uses: frames\n    params: [frames]\n' });
    assert.deepEqual(loadErrors(only, { overrides: ['train.epochs=0'] }), []);
  });

  it('a matrix value is located in pipeline.yaml', () => {
    const spec = SPEC.replace('    params: [train]\n', '    params: [train]\n    matrix:\n      train.epochs: [2, 0]\n');
    const r = rig({ 'pipeline.yaml': spec });
    const line = lineOf(spec, /train\.epochs: \[2, 0\]/);
    assert.deepEqual(
      loadErrors(r).map((e) => e.split('\n')[0]),
      [`pipeline.yaml:${line}:25: error: train.epochs must be an integer >= 1, got 0`],
    );
  });

  it('`pipeline status` refuses a bad value at load (exit 2), naming where it is', async () => {
    const r = demoRig();
    rigs.push(r);
    const p = await r.cli(['status', '-p', 'train.epochs=0']);
    assert.equal(p.code, 2, p.stderr);
    assert.match(p.stderr, /-p train\.epochs=0: train\.epochs must be an integer >= 1, got 0/);
    r.write({ 'conf/default.yaml': CONF.replace(/^ {2}method: window/m, '  method: windw ') });
    const c = await r.cli(['status']);
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, new RegExp(`conf/default\\.yaml:${lineOf(CONF, /^ {2}method: window/)}:11: error: fixlen\\.method must be one of window, uniform, interpolate, pool, got "windw" \\(did you mean 'window'\\?\\)`));
  });
});

describe('registration', () => {
  it('loadKind refuses a kind module whose params are not the schema registered with it', async () => {
    const info = BUILTIN_KINDS.fixlen;
    const kind = await info.load();
    const name = 'fixlen-params-check';
    const other = paramSchema({ sections: [] });
    registerKind(name, { type: info.type, source: info.source, ports: info.ports, outputContract: info.outputContract, params: info.params, load: async () => ({ ...kind, name, params: other }) });
    await assert.rejects(loadKind(name), /stage kind 'fixlen-params-check' does not match its registration \(params: declare the same schema object in both\)/);
    registerKind(name, { type: info.type, source: info.source, ports: info.ports, outputContract: info.outputContract, params: other, load: async () => ({ ...kind, name, params: other }) });
    assert.equal((await loadKind(name)).params, other);
  });
});
