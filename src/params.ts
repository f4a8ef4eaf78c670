// Parameters: conf/default.yaml, layered with `--conf FILE`s, then `-p key=value` overrides.
// Every key a layer or override names must exist in the base file (a typo is an error with a
// did-you-mean), and a scalar keeps its type.
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from './yaml.js';
import type { JsonValue } from './stage-api.js';
import { didYouMean, locate, type Diagnostic, type Location } from './diagnostics.js';

export type Conf = { [key: string]: JsonValue };

function isPlainObject(v: unknown): v is Conf {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class Params {
  readonly tree: Conf;
  constructor(tree: Conf) {
    this.tree = tree;
  }

  has(key: string): boolean {
    return this.lookup(key) !== undefined;
  }

  /** Value at a dotted key (undefined when absent). */
  get(key: string): JsonValue | undefined {
    return this.lookup(key);
  }

  private lookup(key: string): JsonValue | undefined {
    let cur: JsonValue = this.tree;
    for (const part of key.split('.')) {
      if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
      cur = cur[part]!;
    }
    return cur;
  }

  /** Leaf keys (dotted) under a key; a leaf key yields itself. Arrays are leaves. */
  leaves(key: string): Record<string, JsonValue> {
    const out: Record<string, JsonValue> = {};
    const walk = (prefix: string, v: JsonValue): void => {
      if (isPlainObject(v) && Object.keys(v).length > 0) {
        for (const [k, child] of Object.entries(v)) walk(`${prefix}.${k}`, child);
      } else {
        out[prefix] = v;
      }
    };
    const v = this.lookup(key);
    if (v !== undefined) walk(key, v);
    return out;
  }

  /** Every leaf key of the whole conf. */
  allKeys(): string[] {
    const keys: string[] = [];
    for (const k of Object.keys(this.tree)) keys.push(...Object.keys(this.leaves(k)));
    return keys;
  }

  /** Section names and leaf keys, for suggestions. */
  allNames(): string[] {
    const names = new Set<string>();
    for (const k of this.allKeys()) {
      const parts = k.split('.');
      for (let i = 1; i <= parts.length; i++) names.add(parts.slice(0, i).join('.'));
    }
    return [...names];
  }
}

interface LoadedYaml {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The document as plain data; undefined when it could not be converted (a diagnostic says why). */
  js: unknown;
}

/** Whether a value contains itself (a YAML alias inside its own anchor: `x: &a [*a]`). */
function isCyclic(v: unknown, ancestors = new Set<object>()): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (ancestors.has(v)) return true;
  ancestors.add(v);
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (isCyclic(x, ancestors)) return true;
  ancestors.delete(v);
  return false;
}

/**
 * The document as plain data, or a problem: an alias to no anchor (`*a` before `&a`), an
 * alias bomb, or a value that contains itself, none of which a parameter or a stage can be.
 */
export function plainYaml(doc: Document.Parsed): { value: unknown } | { problem: string; range?: [number, number] } {
  let alias: [number, number] | undefined;
  visit(doc, {
    Alias(_, node) {
      if (node.range) alias = [node.range[0], node.range[1]];
      return visit.BREAK;
    },
  });
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return { problem: (e as Error).message.split('\n')[0]!, ...(alias ? { range: alias } : {}) };
  }
  if (isCyclic(value)) return { problem: 'a value refers to itself through an alias (e.g. &a [*a]); write it out', ...(alias ? { range: alias } : {}) };
  return { value };
}

export function readYaml(file: string, diagnostics: Diagnostic[]): LoadedYaml | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    diagnostics.push({ message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    return undefined;
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  for (const err of doc.errors) {
    const [start, end] = err.pos;
    diagnostics.push({ message: err.message.split('\n')[0]!, location: locate(file, text, start, end) });
  }
  const plain = plainYaml(doc);
  if ('problem' in plain) {
    const [start, end] = plain.range ?? [0, 1];
    diagnostics.push({ message: plain.problem, location: locate(file, text, start, end) });
  }
  return { file, text, doc, lines, js: 'value' in plain ? plain.value : undefined };
}

export function nodeLocation(y: { file: string; text: string }, node: YamlNode | null | undefined): Location | undefined {
  const range = node?.range;
  if (!range) return undefined;
  return locate(y.file, y.text, range[0], range[1]);
}

/** Location of the key of `key` inside the map at `path` (falls back to the map). */
export function keyLocation(y: LoadedYaml, path: readonly (string | number)[], key: string): Location | undefined {
  const map = path.length === 0 ? y.doc.contents : y.doc.getIn(path, true);
  if (isMap(map)) {
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key) return nodeLocation(y, pair.key);
    }
  }
  return nodeLocation(y, map as YamlNode | null);
}

export function valueLocation(y: LoadedYaml, path: readonly (string | number)[]): Location | undefined {
  const node = y.doc.getIn(path, true) as YamlNode | null | undefined;
  if (node && (isScalar(node) || isMap(node) || isSeq(node))) return nodeLocation(y, node);
  if (path.length === 0) return undefined;
  return keyLocation(y, path.slice(0, -1), String(path[path.length - 1]));
}

function typeName(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'section' : typeof v;
}

/**
 * Merges `layer` onto `base`. Keys absent from `base` are errors (reported through `report`
 * with the key path); a scalar must keep its type unless the base value is null.
 */
function mergeLayer(
  base: Conf,
  layer: Conf,
  path: string[],
  report: (path: string[], message: string, choices?: string[]) => void,
): void {
  for (const [k, v] of Object.entries(layer)) {
    const here = [...path, k];
    if (!Object.prototype.hasOwnProperty.call(base, k)) {
      const dotted = here.join('.');
      const hint = didYouMean(k, Object.keys(base));
      report(here, `unknown parameter '${dotted}'${hint ? ` (did you mean '${[...path, hint].join('.')}'?)` : ''}`);
      continue;
    }
    const old = base[k]!;
    if (isPlainObject(old) && Object.keys(old).length > 0) {
      if (!isPlainObject(v)) {
        report(here, `'${here.join('.')}' is a section; set its keys (e.g. ${here.join('.')}.${Object.keys(old)[0]})`);
        continue;
      }
      mergeLayer(old, v, here, report);
      continue;
    }
    if (old !== null && v !== null && typeName(old) !== typeName(v)) {
      report(here, `'${here.join('.')}' expects a ${typeName(old)} (default ${JSON.stringify(old)}), got ${JSON.stringify(v)}`);
      continue;
    }
    base[k] = v;
  }
}

export interface ParamsOptions {
  /** Base parameter file (absolute). */
  confFile: string;
  /** Extra files layered in order (absolute). */
  layers?: readonly string[];
  /** `key=value` strings. */
  overrides?: readonly string[];
}

export interface LoadedParams {
  params: Params;
  /** Source texts by file, for diagnostics. */
  sources: Map<string, string>;
}

export function loadParams(opts: ParamsOptions, diagnostics: Diagnostic[]): LoadedParams {
  const sources = new Map<string, string>();
  const base = readYaml(opts.confFile, diagnostics);
  let tree: Conf = {};
  if (base) {
    sources.set(base.file, base.text);
    const js = base.js;
    if (js === null || js === undefined) tree = {};
    else if (isPlainObject(js)) tree = js;
    else diagnostics.push({ message: 'the parameter file must be a mapping of sections', location: nodeLocation(base, base.doc.contents) });
  }
  for (const file of opts.layers ?? []) {
    const y = readYaml(file, diagnostics);
    if (!y) continue;
    sources.set(y.file, y.text);
    const js = y.js;
    if (js === null || js === undefined) continue;
    if (!isPlainObject(js)) {
      diagnostics.push({ message: 'a --conf file must be a mapping of sections', location: nodeLocation(y, y.doc.contents) });
      continue;
    }
    mergeLayer(tree, js, [], (path, message) => {
      const loc = keyLocation(y, path.slice(0, -1), path[path.length - 1]!);
      diagnostics.push(loc ? { message, location: loc } : { message });
    });
  }
  for (const o of opts.overrides ?? []) {
    const eq = o.indexOf('=');
    if (eq <= 0) {
      diagnostics.push({ message: `-p ${o}: expected key=value, e.g. -p train.lr=0.0005` });
      continue;
    }
    const key = o.slice(0, eq).trim();
    const raw = o.slice(eq + 1);
    const vdoc = parseDocument(raw);
    let value: JsonValue;
    if (vdoc.errors.length > 0) value = raw;
    else {
      const plain = plainYaml(vdoc);
      if ('problem' in plain) {
        diagnostics.push({ message: `-p ${o}: ${plain.problem}` });
        continue;
      }
      value = (plain.value as JsonValue | undefined) ?? null;
    }
    const parts = key.split('.');
    let layer: Conf = {};
    const root = layer;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) layer[p] = value;
      else {
        const next: Conf = {};
        layer[p] = next;
        layer = next;
      }
    });
    mergeLayer(tree, root, [], (_path, message) => {
      const names = new Params(tree).allNames();
      const hint = message.startsWith('unknown') ? didYouMean(key, names) : undefined;
      diagnostics.push({
        message: `-p ${o}: ${message.replace(/ \(did you mean [^)]*\)/, '')}${hint && hint !== key ? ` (did you mean '${hint}'?)` : ''}`,
      });
    });
  }
  return { params: new Params(tree), sources };
}

/** Flat diff of two flat param maps: "param fixlen.length: 256 -> 128". */
export function diffFlat(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const out: string[] = [];
  for (const k of [...keys].sort()) {
    const a = JSON.stringify(before[k]);
    const b = JSON.stringify(after[k]);
    if (a !== b) out.push(`${k}: ${a ?? '(unset)'} -> ${b ?? '(unset)'}`);
  }
  return out;
}
