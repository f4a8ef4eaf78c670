// Reading genres: MovieNet's meta files (`meta/<imdb_id>.json`, genres in the `genres` list).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ItemError } from '../../src/errors.js';

export type MetaResult = { ok: true; genres: string[] } | { ok: false; missing: true } | { ok: false; missing: false; error: ItemError };

export async function readMovienetGenres(metaDir: string, id: string): Promise<MetaResult> {
  const file = join(metaDir, `${id}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, missing: true };
    return { ok: false, missing: false, error: new ItemError(id, `cannot read meta: ${(e as Error).message}`, { file, hint: 'check the file\'s permissions', cause: e }) };
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      missing: false,
      error: new ItemError(id, `meta is not valid JSON (${(e as Error).message})`, { file, hint: 're-extract it from MovieNet\'s meta archive, or delete it', cause: e }),
    };
  }
  const genres = meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Record<string, unknown>)['genres'] : undefined;
  if (!Array.isArray(genres) || !genres.every((g) => typeof g === 'string')) {
    const why = genres === undefined ? 'meta has no "genres" field' : 'meta "genres" is not a list of names';
    return { ok: false, missing: false, error: new ItemError(id, why, { file, hint: 'add e.g. "genres": ["Drama", "Romance"], or delete the file' }) };
  }
  return { ok: true, genres: genres as string[] };
}
