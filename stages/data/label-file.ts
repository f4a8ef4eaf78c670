// The videos source's labels file: CSV `id,genres` with '|' between genres (a header line
// `id,genres` is optional), or JSON `{"<id>": ["Drama", ...]}`. CSV is read by csv-parse, so
// quoting, escaped quotes, a BOM and CRLF line ends follow RFC 4180 rather than a hand-split.
import { parse as parseCsv } from 'csv-parse/sync';
import { parseDocument } from '../../src/yaml.js';
import { UserError } from '../../src/errors.js';

export function parseLabelFile(text: string, file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (file.toLowerCase().endsWith('.json')) {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new UserError(`${file}: not valid JSON (${(e as Error).message})`, 'a JSON labels file is {"<movie id>": ["Drama", "Romance"], ...}');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new UserError(`${file}: not a JSON object`, 'a JSON labels file is {"<movie id>": ["Drama", "Romance"], ...}');
    }
    // JSON.parse keeps the last of two equal keys silently; the YAML parser (JSON is YAML) finds them.
    const dup = parseDocument(text, { uniqueKeys: true }).errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (dup !== undefined) {
      const at = dup.linePos?.[0];
      const key = text.slice(dup.pos[0], dup.pos[1] + 64).match(/^"((?:[^"\\]|\\.)*)"/)?.[1];
      throw new UserError(`${file}${at ? `:${at.line}:${at.col}` : ''}: movie ${key ?? '(a key)'} is listed twice`, 'list each movie once');
    }
    for (const [id, genres] of Object.entries(obj as Record<string, unknown>)) {
      if (!Array.isArray(genres) || !genres.every((g) => typeof g === 'string')) {
        throw new UserError(`${file}: movie ${id}: genres must be a list of names`, 'e.g. "tt0120338": ["Drama", "Romance"]');
      }
      out.set(id, genres as string[]);
    }
    return out;
  }
  return parseLabelCsv(text, file, out);
}

const CSV_FORM = 'one movie per line: id,Genre1|Genre2 (a header line id,genres is optional; quote a field that holds a comma)';

/**
 * The CSV form, read by csv-parse (RFC 4180: quoted fields, "" inside quotes, a BOM, CRLF or LF,
 * blank lines and '#' comment lines skipped). With a header line the `id` and `genres` columns
 * are found by name and other columns are ignored; without one a line is exactly `id,genres`.
 */
function parseLabelCsv(text: string, file: string, out: Map<string, string[]>): Map<string, string[]> {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parseCsv(text, {
      bom: true,
      trim: true,
      relax_column_count: true,
      skip_empty_lines: true,
      comment: '#',
      comment_no_infix: true,
      info: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (e) {
    const err = e as Error & { lines?: number; code?: string };
    const line = typeof err.lines === 'number' ? `:${err.lines}` : '';
    throw new UserError(`${file}${line}: not valid CSV (${err.message})`, `${CSV_FORM}; a quote inside a quoted field is written twice ("")`);
  }
  rows = rows.filter((r) => r.record.some((c) => c !== ''));
  let idCol = 0;
  let genresCol = 1;
  let width = 2;
  const first = rows[0]?.record.map((c) => c.toLowerCase());
  if (first && (first[0] === 'id' || first.includes('genres'))) {
    idCol = first.indexOf('id');
    genresCol = first.indexOf('genres');
    if (idCol < 0 || genresCol < 0) {
      throw new UserError(`${file}:${rows[0]!.info.lines}: the header names no '${idCol < 0 ? 'id' : 'genres'}' column`, 'name the columns id and genres in the header line');
    }
    width = Infinity;
    rows = rows.slice(1);
  }
  for (const { record, info } of rows) {
    const where = `${file}:${info.lines}`;
    if (record.length < 2) throw new UserError(`${where}: expected 'id,genres', got '${record.join(',')}'`, CSV_FORM);
    if (record.length > width) {
      throw new UserError(
        `${where}: ${record.length} columns, expected 2 (id,genres)`,
        'separate genres with | (Drama|Romance), quote a field that holds a comma, or add a header line naming the id and genres columns so that the others are ignored',
      );
    }
    const id = record[idCol] ?? '';
    const genres = record[genresCol] ?? '';
    if (id === '') throw new UserError(`${where}: empty movie id`, CSV_FORM);
    if (out.has(id)) throw new UserError(`${where}: movie ${id} is listed twice`, 'list each movie once');
    out.set(
      id,
      genres
        .split('|')
        .map((g) => g.trim())
        .filter((g) => g !== ''),
    );
  }
  return out;
}
