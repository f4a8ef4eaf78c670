// Configuration errors with their location: file:line:col, the offending line and a squiggle.
// Analysis collects every diagnostic instead of stopping at the first one.
import { relative } from 'node:path';

export interface Location {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** Length of the underlined span (>= 1). */
  length: number;
}

export interface Diagnostic {
  message: string;
  location?: Location;
  /** Valid choices, shown after the message. */
  choices?: readonly string[];
}

export class ConfigError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: ReadonlyMap<string, string>;
  constructor(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string> = new Map()) {
    super(diagnostics.map((d) => d.message).join('\n'));
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
    this.sources = sources;
  }

  format(cwd = process.cwd()): string {
    return this.diagnostics.map((d) => formatDiagnostic(d, this.sources, cwd)).join('\n\n');
  }
}

/** Converts a character offset into a 1-based line and column. */
export function locate(file: string, text: string, offset: number, end = offset + 1): Location {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { file, line, col: offset - lineStart + 1, length: Math.max(1, end - offset) };
}

export function formatDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, string>, cwd: string): string {
  const choices = d.choices && d.choices.length > 0 ? ` (valid: ${d.choices.join(', ')})` : '';
  if (d.location === undefined) return `error: ${d.message}${choices}`;
  const { file, line, col, length } = d.location;
  const shown = relative(cwd, file) || file;
  let out = `${shown}:${line}:${col}: error: ${d.message}${choices}`;
  const text = sources.get(file);
  if (text !== undefined) {
    const src = text.split('\n')[line - 1];
    if (src !== undefined) {
      const gutter = String(line);
      const span = Math.max(1, Math.min(length, src.length - col + 1));
      out += `\n ${gutter} | ${src}\n ${' '.repeat(gutter.length)} | ${' '.repeat(col - 1)}${'~'.repeat(span)}`;
    }
  }
  return out;
}

/** Damerau-free Levenshtein distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a third of the word's length (at least 2 edits), if any. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
