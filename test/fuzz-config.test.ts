// Fuzzing the configuration with fast-check: random mutations of a valid pipeline.yaml, of
// conf/default.yaml and of --conf layers, and random -p values. Every outcome is a loaded project
// or a ConfigError whose every diagnostic is located (file:line:col, or the -p it came from),
// never another exception; and the stage kinds' parameter readers, given whatever loaded, answer
// with their values or a UserError. Seeds of failures found are kept below as regressions.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../src/diagnostics.js';
import { UserError } from '../src/errors.js';
import { loadProject, type Project } from '../src/spec.js';
import { readEmbedParams } from '../stages/embed.js';
import { readFixlenParams } from '../stages/fixlen.js';
import { readMetricsParams } from '../stages/metrics.js';
import { readTrainParams } from '../stages/train.js';
import { parseVocabulary } from '../stages/data/genres.js';
import { parseRatios } from '../stages/data/split.js';
import { parseSampling } from '../stages/data/frame-names.js';
import { parseDemoParams } from '../stages/data/demo-genres.js';
import { parseExtraction } from '../stages/data/videos.js';
import { PACKAGE_ROOT } from './helpers/rig.js';
import { TempFolders } from '../fixtures-lib/stage-ctx.js';

const temp = new TempFolders();
after(() => temp.cleanup());

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const SPEC = readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8');
const CONF = readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8');
const CMD_STAGES = [
  '  wordcloud:',
  '    cmd: mkdir -p out && cat outputs/labels/labels.json > out/cloud.txt',
  '    deps: [labels, tools]',
  '    params: [labels.genres]',
  '    outs: [out/cloud.txt]',
  '    on_error: skip',
  '',
].join('\n');
const BASE_SPEC = `${SPEC.trimEnd()}\n${CMD_STAGES}`;

function workspace(spec: string, conf: string, layer?: string): string {
  const dir = temp.dir('pipeline-fuzz-');
  mkdirSync(join(dir, 'conf'));
  mkdirSync(join(dir, 'tools'));
  writeFileSync(join(dir, 'pipeline.yaml'), spec);
  writeFileSync(join(dir, 'conf', 'default.yaml'), conf);
  if (layer !== undefined) writeFileSync(join(dir, 'layer.yaml'), layer);
  return dir;
}

type Outcome = { ok: true; project: Project } | { ok: false; error: ConfigError };

/** Loads the project; anything but success or a located ConfigError fails the property. */
function load(dir: string, opts: { layer?: boolean; overrides?: string[] } = {}): Outcome {
  let project: Project;
  try {
    project = loadProject({ root: dir, confLayers: opts.layer ? [join(dir, 'layer.yaml')] : [], overrides: opts.overrides ?? [] });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`not a ConfigError: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    const text = e.format(dir);
    assert.ok(text.length > 0);
    for (const d of e.diagnostics) {
      assert.ok(d.message.length > 0, 'an empty message');
      assert.ok(d.location !== undefined || d.message.startsWith('-p '), `unlocated diagnostic: ${d.message}`);
      if (d.location) assert.ok(d.location.line >= 1 && d.location.col >= 1, `bad location ${JSON.stringify(d.location)}`);
    }
    return { ok: false, error: e };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ok: true, project };
}

/** Every kind's parameter reader on the loaded params: a value or a UserError, nothing else. */
function readAllParams(project: Project): void {
  const p = project.params;
  const paramOr = <T>(k: string, d: T): T => (p.has(k) ? (p.get(k) as T) : d);
  const flat = (section: string): Record<string, unknown> => p.leaves(section);
  const ctx = { paramOr, workspace: project.root, params: flat('train') } as never;
  const readers: Array<() => unknown> = [
    () => readFixlenParams(ctx),
    () => readTrainParams(ctx),
    () => readEmbedParams(ctx),
    () => readMetricsParams(ctx),
    () => parseVocabulary(paramOr('labels.genres', undefined)),
    () => parseRatios(paramOr('labels.split', undefined)),
    () => parseSampling({ images_per_shot: paramOr('frames.images_per_shot', undefined), stride: paramOr('frames.stride', undefined), max_frames: paramOr('frames.max_frames', undefined) }),
    () => parseDemoParams({ movies: paramOr('dataset.movies', 200), seed: paramOr('dataset.seed', 0) }),
    () => parseExtraction({ scene_threshold: paramOr('frames.scene_threshold', undefined), fps: paramOr('frames.fps', undefined) }),
  ];
  for (const r of readers) {
    try {
      r();
    } catch (e) {
      if (!(e instanceof UserError)) throw new Error(`a parameter reader threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      assert.ok(e.message.length > 0);
    }
  }
}

// Characters that mean something to YAML, and some that mean nothing.
const yamlChar = fc.constantFrom(':', '-', ' ', '  ', '\n', '\t', '[', ']', '{', '}', ',', '&a', '*a', '!', '!!', '#', '"', "'", '|', '>', '%', '@', '`', '?', '<<', '\\', '\u00e9', '\u{1F3AC}', '\0', '\r\n', '\uFEFF', 'x', '0', '1e9', '~', 'null', '.nan', '-.inf');

/** Random insertions, deletions and replacements in a text. */
function textMutation(base: string): fc.Arbitrary<string> {
  const edit = fc.record({ at: fc.nat({ max: base.length }), del: fc.nat({ max: 6 }), ins: fc.array(yamlChar, { maxLength: 3 }).map((a) => a.join('')) });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let s = base;
    for (const e of edits) {
      const at = Math.min(e.at, s.length);
      s = s.slice(0, at) + e.ins + s.slice(at + e.del);
    }
    return s;
  });
}

// Values a YAML file or -p can hold, valid or not for the key they land on.
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1, 2.5, 1e309, -0, 256, 2 ** 53, '', 'x', 'demo', 'window', 'reference', 'test', [], {}, [0.5, 0.5], [1, 2, 3], ['Drama'], ['Drama', 'drama'], { a: 1 }),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.double(), fc.integer()), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxKeys: 3 }),
);

/** Paths to every node of a plain object tree. */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}

function setIn(root: unknown, path: Array<string | number>, value: unknown, op: 'set' | 'delete' | 'rename'): unknown {
  if (path.length === 0) return op === 'set' ? value : root;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (op === 'set') cur[last] = value;
  else if (op === 'delete') {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else if (!Array.isArray(cur)) {
    cur[`${String(last)}${typeof value === 'string' ? value : '_x'}`] = cur[last];
    delete cur[last];
  }
  return copy;
}

/** Structural mutations of a YAML document: set a node to any value, delete it, rename a key. */
function treeMutation(text: string): fc.Arbitrary<string> {
  const tree = parse(text) as unknown;
  const all = paths(tree);
  const one = fc.record({ path: fc.constantFrom(...all), value: anyValue, op: fc.constantFrom('set', 'set', 'delete', 'rename') as fc.Arbitrary<'set' | 'delete' | 'rename'> });
  return fc.array(one, { minLength: 1, maxLength: 3 }).map((ms) => {
    let t = tree;
    for (const m of ms) {
      // a path may be gone after an earlier mutation: then this one is a no-op
      try {
        t = setIn(t, m.path, m.value, m.op);
      } catch {
        /* keep t */
      }
    }
    return stringify(t);
  });
}

const confKeys = (() => {
  const keys: string[] = [];
  const walk = (v: unknown, prefix: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) walk(x, prefix ? `${prefix}.${k}` : k);
    else keys.push(prefix);
  };
  walk(parse(CONF), '');
  return keys;
})();

const pValue = fc.oneof(
  fc.constantFrom('', 'null', '~', 'true', 'no', '-1', '0', '1.5', '1e309', '.nan', '.inf', '0x10', '[1, 2', '{a: 1}', '[0.5, 0.5, 0]', '&a [*a]', '*nope', '!!binary aGk=', '!!set {a}', '!!omap [a: 1]', '!!timestamp 2001-12-14', '"x', "'", '- a', 'a: b', '#', '%YAML 1.2', '---', '...', '\uFEFF1'),
  fc.string({ maxLength: 10 }),
  fc.integer().map(String),
  fc.double().map(String),
);
const pKey = fc.oneof(fc.constantFrom(...confKeys), fc.constantFrom('train', 'dataset', '', '.', 'train.', '.lr', 'train..lr', '__proto__.x', 'constructor', 'train.__proto__', 'train.lr.x', 'a.b.c'), fc.string({ maxLength: 8 }));
const pArg = fc.oneof(fc.tuple(pKey, pValue).map(([k, v]) => `${k}=${v}`), fc.string({ maxLength: 12 }));

const cmdSpec = BASE_SPEC;

describe('regressions found by the fuzzer (seeds 1304, 1305)', () => {
  const diagnostics = (out: Outcome): string[] => (out.ok ? [] : out.error.diagnostics.map((d) => `${d.location ? `${d.location.line}:${d.location.col} ` : ''}${d.message}`));
  it('an alias to no anchor in a --conf layer is a located error (was: internal error, ReferenceError)', () => {
    const out = load(workspace(cmdSpec, CONF, '*atrain:\n  lr: 0.01\nfixlen:\n  length: 64\n'), { layer: true });
    assert.ok(diagnostics(out).some((d) => /^1:1 .*Unresolved alias/.test(d)), diagnostics(out).join('\n'));
  });
  it('a -p value that contains itself is an error naming the -p (was: internal error, circular JSON)', () => {
    const out = load(workspace(cmdSpec, CONF), { overrides: ['dataset.source=&a [*a]'] });
    assert.deepEqual(diagnostics(out), ['-p dataset.source=&a [*a]: a value refers to itself through an alias (e.g. &a [*a]); write it out']);
  });
  it('the same in pipeline.yaml and in conf/default.yaml', () => {
    const spec = load(workspace('stages: &s\n  a: *s\n', CONF));
    assert.ok(diagnostics(spec).some((d) => /^2:6 a value refers to itself/.test(d)), diagnostics(spec).join('\n'));
    const conf = load(workspace(cmdSpec, `${CONF}\nextra: [*nope]\n`));
    assert.ok(diagnostics(conf).some((d) => /Unresolved alias/.test(d)), diagnostics(conf).join('\n'));
  });
});

describe('fuzz: configuration files and -p', () => {
  it('baseline: the unmutated files load and every parameter reader accepts them', () => {
    const out = load(workspace(cmdSpec, CONF));
    assert.ok(out.ok, out.ok ? '' : out.error.format());
    readAllParams(out.project);
  });

  it('pipeline.yaml, text mutations', () => {
    fc.assert(fc.property(textMutation(cmdSpec), (spec) => void load(workspace(spec, CONF))), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 1301) });
  });

  it('pipeline.yaml, structural mutations', () => {
    fc.assert(fc.property(treeMutation(cmdSpec), (spec) => void load(workspace(spec, CONF))), { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 1302) });
  });

  it('conf/default.yaml, text and structural mutations; what loads is read by every kind', () => {
    fc.assert(
      fc.property(fc.oneof(textMutation(CONF), treeMutation(CONF)), (conf) => {
        const out = load(workspace(cmdSpec, conf));
        if (out.ok) readAllParams(out.project);
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 1303) },
    );
  });

  it('--conf layers: structural mutations of a layer over the default conf', () => {
    fc.assert(
      fc.property(fc.oneof(treeMutation(CONF), textMutation('train:\n  lr: 0.01\nfixlen:\n  length: 64\n')), (layer) => {
        const out = load(workspace(cmdSpec, CONF, layer), { layer: true });
        if (out.ok) readAllParams(out.project);
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 1304) },
    );
  });

  it('-p values', () => {
    fc.assert(
      fc.property(fc.array(pArg, { minLength: 1, maxLength: 4 }), (overrides) => {
        const out = load(workspace(cmdSpec, CONF), { overrides });
        if (out.ok) readAllParams(out.project);
      }),
      { numRuns: RUNS * 2, seed: Number(process.env.FUZZ_SEED ?? 1305) },
    );
  });
});
