// The movienet source: MovieNet's per-shot keyframes, indexed in place.
//
// Layout: <root>/<keyframes_dir>/<imdb_id>/shot_XXXX_img_K.jpg, <root>/meta/<imdb_id>.json,
// optionally <root>/movie1K.split.v1.json. Listing costs a readdir per movie folder and a stat
// per sampled frame (ctx.hashFiles goes through the file-state cache, so unchanged frames are
// never re-read): it runs on every `pipeline status`, over up to ~4.8 M frames.
import { readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import pLimit from 'p-limit';
import { ItemError, UserError } from '../../src/errors.js';
import type { ItemOutput, SourceItem, StageContext, StoreAccess } from '../../src/stage-api.js';
import { frameListKey, type FrameList } from './frame-list.js';
import { parseFrameName, sampleFrames, sortFrameNames, type ParsedFrame, type Sampling } from './frame-names.js';
import { checkJpeg } from './jpeg-check.js';
import type { SourceProblem } from './params.js';

/**
 * What a MovieNet item's run reads, kept compact because the engine holds every item's source
 * at once (MovieNet: 1,100 items, 4.8 M frames): names joined by '/' (which no file name can
 * hold) and the 16-hex-digit hashes concatenated, in frame order, instead of an object per
 * frame. Paths are relative to dataset.root, so moving the dataset invalidates nothing.
 */
export type MovienetSource = {
  source: 'movienet';
  /** The movie's folder relative to dataset.root, e.g. "240P/tt0120338". */
  dir: string;
  names: string;
  hashes: string;
  /** Image files whose names are not keyframe names (left out; reported when the item runs). */
  unrecognised?: string[];
  problem?: SourceProblem;
};

const HASH_LEN = 16;
/** Paths per ctx.hashFiles call: bounds memory on MovieNet-sized folders. */
const HASH_BATCH = 20_000;
/**
 * Movies listed at a time: on MovieNet (about 4,400 frames a movie) a group's parsed names are
 * about 280,000 frames, where the whole listing held 4.8 million at once.
 */
const LIST_GROUP = 64;

export async function listMovienetItems(
  ctx: StageContext,
  opts: { root: string; keyframesDir: string; sampling: Sampling },
): Promise<SourceItem[]> {
  const kfRoot = join(opts.root, opts.keyframesDir);
  let entries;
  try {
    entries = await readdir(kfRoot, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
    throw new UserError(
      `dataset.root: no keyframes folder ${kfRoot}`,
      `point dataset.root at a MovieNet folder holding ${opts.keyframesDir}/<imdb_id>/shot_XXXX_img_K.jpg (see docs/DATA.md), ` +
        `or write the demo dataset there with 'pipeline demo --to DIR'`,
    );
  }
  const ids = entries
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isSymbolicLink()))
    .map((e) => e.name)
    .sort();
  const limit = pLimit(32);
  const items: SourceItem[] = [];
  // Movies are listed, hashed and turned into sources a group at a time, so that a folder's
  // parsed names live only until its group's sources are built: on MovieNet, holding every
  // movie's listing until the end made the garbage collector copy them over and over.
  const listGroup = (group: number): Promise<Array<Listed | undefined>> =>
    Promise.all(
      ids.slice(group, group + LIST_GROUP).map((id) =>
        limit(async (): Promise<Listed | undefined> => {
          let names: string[];
          try {
            names = await readdir(join(kfRoot, id));
          } catch (e) {
            // A symbolic link to something that is not a folder: not a movie.
            if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
            // One unreadable folder is that movie's problem, not the listing's.
            return { id, frames: [], unrecognised: [], problem: { file: join(kfRoot, id), message: `cannot read the folder (${(e as Error).message})`, hint: 'check its permissions' } };
          }
          const { frames, unrecognised } = sortFrameNames(names);
          return { id, frames: sampleFrames(frames, opts.sampling), unrecognised };
        }),
      ),
    );
  // The next group's folders are read while this group's files are statted and hashed.
  let pending = ids.length > 0 ? listGroup(0) : undefined;
  for (let group = 0; pending !== undefined; group += LIST_GROUP) {
    const listed = await pending;
    pending = group + LIST_GROUP < ids.length ? listGroup(group + LIST_GROUP) : undefined;
    pending?.catch(() => undefined); // awaited next time round; not an unhandled rejection if this round throws
    const movies = listed.filter((m): m is Listed => m !== undefined);
    for (let start = 0; start < movies.length; ) {
      let end = start;
      let count = 0;
      while (end < movies.length && (count === 0 || count + movies[end]!.frames.length <= HASH_BATCH)) count += movies[end++]!.frames.length;
      const batch = movies.slice(start, end);
      let hashed: Array<Array<{ hash: string; size: number }> | Error>;
      try {
        const flat = await ctx.hashFiles(batch.flatMap((m) => framePaths(kfRoot, m)));
        let k = 0;
        hashed = batch.map((m) => flat.slice(k, (k += m.frames.length)));
      } catch {
        // A file that cannot be read fails the whole call: hash movie by movie to find whose it is.
        hashed = await Promise.all(batch.map((m) => ctx.hashFiles(framePaths(kfRoot, m)).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))));
      }
      batch.forEach((m, b) => items.push({ id: m.id, source: movienetSource(kfRoot, opts.keyframesDir, m, hashed[b]!) }));
      start = end;
    }
  }
  return items;
}

interface Listed {
  id: string;
  frames: ParsedFrame[];
  unrecognised: string[];
  problem?: SourceProblem;
}

function framePaths(kfRoot: string, m: Listed): string[] {
  // Plain concatenation: path.join per file costs more than the rest of the listing.
  const prefix = join(kfRoot, m.id) + sep;
  return m.frames.map((f) => prefix + f.name);
}

function movienetSource(kfRoot: string, keyframesDir: string, m: Listed, hashed: Array<{ hash: string; size: number }> | Error): MovienetSource {
  let problem = m.problem;
  let hashes = '';
  if (hashed instanceof Error) {
    problem ??= { file: join(kfRoot, m.id), message: `cannot read a keyframe (${hashed.message})`, hint: 'check the files\' permissions' };
  } else {
    m.frames.forEach((f, i) => {
      const h = hashed[i]!;
      hashes += h.hash;
      if (h.size === 0) problem ??= { file: join(kfRoot, m.id, f.name), message: 'empty file (0 bytes)', hint: 're-download this movie\'s keyframes, or delete the file' };
    });
  }
  if (m.frames.length === 0) {
    problem ??= {
      file: join(kfRoot, m.id),
      message: m.unrecognised.length > 0 ? `no keyframes named shot_XXXX_img_K.jpg (found ${m.unrecognised.length} other images)` : 'no keyframes in the folder',
      hint: 'extract this movie\'s keyframes from the MovieNet archive again, or delete the empty folder',
    };
  }
  return {
    source: 'movienet',
    dir: `${keyframesDir}/${m.id}`,
    names: m.frames.map((f) => f.name).join('/'),
    hashes,
    ...(m.unrecognised.length > 0 ? { unrecognised: m.unrecognised.slice(0, 20) } : {}),
    ...(problem === undefined ? {} : { problem }),
  };
}

/** Decodes a MovienetSource's frame list (names and hashes). */
export function movienetFrames(src: MovienetSource): Array<{ name: string; hash: string }> {
  if (src.names === '') return [];
  return src.names.split('/').map((name, i) => ({ name, hash: src.hashes.slice(i * HASH_LEN, (i + 1) * HASH_LEN) }));
}

/**
 * Checks each listed frame (JPEG markers) and stores the movie's frame list, pointing at the
 * frames in place.
 */
export async function runMovienetItem(ctx: StageContext, store: StoreAccess, root: string, id: string, src: MovienetSource): Promise<ItemOutput> {
  if (src.problem !== undefined) throw new ItemError(id, src.problem.message, { file: src.problem.file, hint: src.problem.hint });
  const frames = movienetFrames(src);
  const limit = pLimit(16);
  const bad = (
    await Promise.all(
      frames.map((f) =>
        limit(async () => {
          const file = join(root, src.dir, f.name);
          const why = await checkJpeg(file);
          return why === undefined ? undefined : { file, why };
        }),
      ),
    )
  ).filter((b) => b !== undefined);
  if (bad.length > 0) {
    const first = bad[0]!;
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more bad frames: ${bad.slice(1, 4).map((b) => b.file).join(', ')}${bad.length > 4 ? ', ...' : ''})` : '';
    throw new ItemError(id, `${first.why}${more}`, { file: first.file, hint: 're-download this movie\'s keyframes, or delete the broken files' });
  }
  const list: FrameList = { movie: id, source: 'movienet', frames: [] };
  for (const f of frames) {
    const p = parseFrameName(f.name)!;
    list.frames.push({ name: f.name, shot: p.shot, img: p.img, hash: f.hash, path: `${src.dir}/${f.name}` });
  }
  if (src.unrecognised !== undefined) {
    ctx.log('warn', `movie ${id}: left out images not named shot_XXXX_img_K.jpg: ${src.unrecognised.join(', ')}`);
  }
  return {
    tree: { [frameListKey(id)]: await store.put(JSON.stringify(list)) },
    meta: { frames: frames.length, ...(src.unrecognised === undefined ? {} : { unrecognised: src.unrecognised }) },
  };
}
