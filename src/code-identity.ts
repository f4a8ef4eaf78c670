// A stage kind's code identity: a hash of its compiled module and of every module it imports
// inside its package, so that a change to a kind's code (or to a model file it loads) makes the
// stage stale without a hand bump of `version` (which stays, as a salt).
//
// What counts: the compiled .js files reachable from the kind's module through static imports,
// re-exports and dynamic imports with a literal specifier (`import('./models/fit.js')`), when the
// specifier is relative and the file lies inside the module's package (the nearest folder above
// it holding a package.json) and outside node_modules. Libraries (node_modules) and node:
// builtins are left out: the versions that change results reach the fingerprint through the
// kind's env(). A dynamic import whose specifier is computed at run time cannot be followed;
// what such a module reads must reach the fingerprint another way (inputs(), env()).
//
// Each file counts with its package-relative path and its contents, without the
// `//# sourceMappingURL=` line (only code counts, not where its source map is), in path order.
// Imports are found by es-module-lexer (the lexer Vite and esbuild's ecosystem use), not by
// regular expressions, so an import written in a string or a comment is not one.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'es-module-lexer';
import { hashBytes, hashParts, type Hash } from './hash.js';

/** The files of a module's code identity: the package root and the files, package-relative, in hash order. */
export interface CodeGraph {
  root: string;
  files: string[];
}

const SOURCE_MAP_LINE = /^\/\/# sourceMappingURL=[^\n]*(?:\n|$)/gm;
const JS = /\.(m?js)$/;

/** The nearest folder at or above `dir` holding a package.json (`dir` itself when there is none). */
function packageRoot(dir: string): string {
  for (let d = dir; ; ) {
    if (existsSync(join(d, 'package.json'))) return d;
    const up = dirname(d);
    if (up === d) return dir;
    d = up;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The relative import specifiers of a module's source (static, re-exports, literal dynamic imports). */
function relativeImports(source: string): string[] {
  let imports: ReturnType<typeof parse>[0];
  try {
    [imports] = parse(source);
  } catch {
    return []; // not a module the lexer reads: its bytes count, it has no imports to follow
  }
  const out: string[] = [];
  for (const i of imports) {
    if (i.type === 'import-meta') continue;
    if (i.type === 'dynamic' && (i.specifier === undefined || i.glob)) continue; // computed at run time
    const s = i.specifier;
    if (s !== undefined && s !== null && (s.startsWith('./') || s.startsWith('../'))) out.push(s);
  }
  return out;
}

function walk(moduleUrl: string, files?: Map<string, ModuleFile>): { root: string; contents: Map<string, string> } {
  if (!moduleUrl.startsWith('file:')) throw new TypeError(`code identity: '${moduleUrl}' is not a file: URL (pass import.meta.url)`);
  const entry = fileURLToPath(moduleUrl);
  const root = packageRoot(dirname(entry));
  const rel = (path: string): string => relative(root, path).split(sep).join('/');
  const inside = (path: string): boolean => {
    const r = rel(path);
    return r !== '' && !r.startsWith('../') && r !== '..' && !r.split('/').includes('node_modules');
  };
  // path -> what is hashed for it; a Map keyed by path, so an import cycle ends at a file already seen.
  const contents = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const path = pending.pop()!;
    const key = rel(path);
    if (contents.has(key)) continue;
    const f = readModule(path, files);
    contents.set(key, f.text);
    for (const target of f.imports) if (inside(target) && !contents.has(rel(target))) pending.push(target);
  }
  return { root, contents };
}

/** A file as hashed, and the absolute paths of its relative imports. */
interface ModuleFile {
  text: string;
  imports: string[];
}

/** Reads and parses a file; codeHash's walks share it (kinds import the same modules), computeCodeHash's do not. */
function readModule(path: string, cache?: Map<string, ModuleFile>): ModuleFile {
  const hit = cache?.get(path);
  if (hit !== undefined) return hit;
  let f: ModuleFile;
  if (!isFile(path)) f = { text: '\0missing', imports: [] };
  else {
    const bytes = readFileSync(path);
    if (!JS.test(path)) f = { text: hashBytes(bytes), imports: [] }; // e.g. a JSON file imported with attributes
    else {
      const text = bytes.toString('utf8').replace(SOURCE_MAP_LINE, '');
      const url = pathToFileURL(path);
      f = { text, imports: relativeImports(text).map((spec) => fileURLToPath(new URL(spec, url))) };
    }
  }
  cache?.set(path, f);
  return f;
}

/** The files codeHash(moduleUrl) covers, without the cache: for tests and for saying what changed. */
export function codeGraph(moduleUrl: string): CodeGraph {
  const { root, contents } = walk(moduleUrl);
  return { root, files: [...contents.keys()].sort() };
}

/** codeHash without the per-process caches (reads the files again). */
export function computeCodeHash(moduleUrl: string, files?: Map<string, ModuleFile>): Hash {
  const { contents } = walk(moduleUrl, files);
  const parts: string[] = [];
  for (const path of [...contents.keys()].sort()) parts.push(path, contents.get(path)!);
  return hashParts(parts);
}

const cache = new Map<string, Hash>();
const files = new Map<string, ModuleFile>();

/**
 * The hash of a module's compiled code and of what it imports inside its package (see the top
 * of this file). Synchronous; computed once per module per process (compiled code does not
 * change under a running process).
 */
export function codeHash(moduleUrl: string): Hash {
  let h = cache.get(moduleUrl);
  if (h === undefined) {
    h = computeCodeHash(moduleUrl, files);
    cache.set(moduleUrl, h);
  }
  return h;
}
