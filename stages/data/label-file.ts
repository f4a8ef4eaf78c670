// The videos source's labels file: CSV `id,genres` with '|' between genres (a header line
// `id,genres` is optional), or JSON `{"<id>": ["Drama", ...]}`. The CSV reader is hand-written:
// two columns, optional double quotes, no escapes inside fields; no CSV package is installed
// and one would add nothing for this shape.
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
    for (const [id, genres] of Object.entries(obj as Record<string, unknown>)) {
      if (!Array.isArray(genres) || !genres.every((g) => typeof g === 'string')) {
        throw new UserError(`${file}: movie ${id}: genres must be a list of names`, 'e.g. "tt0120338": ["Drama", "Romance"]');
      }
      out.set(id, genres as string[]);
    }
    return out;
  }
  const unquote = (s: string): string => {
    const t = s.trim();
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
  };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const comma = line.indexOf(',');
    if (comma < 0) throw new UserError(`${file}:${i + 1}: expected 'id,genres', got '${line}'`, "one movie per line: id,Genre1|Genre2");
    const id = unquote(line.slice(0, comma));
    const genres = unquote(line.slice(comma + 1));
    if (out.size === 0 && id.toLowerCase() === 'id' && genres.toLowerCase() === 'genres') return;
    if (id === '') throw new UserError(`${file}:${i + 1}: empty movie id`, "one movie per line: id,Genre1|Genre2");
    if (out.has(id)) throw new UserError(`${file}:${i + 1}: movie ${id} is listed twice`, 'list each movie once');
    out.set(
      id,
      genres
        .split('|')
        .map((g) => g.trim())
        .filter((g) => g !== ''),
    );
  });
  return out;
}
