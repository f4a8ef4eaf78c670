// The demo source: items, one item's run (frames rendered into the store), and the whole
// dataset written to disk in MovieNet's layout (`pipeline demo --to DIR`).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { ItemOutput, SourceItem, StoreAccess, Tree } from '../../src/stage-api.js';
import { DEMO_GENERATOR_VERSION, demoGenres, demoId, parseDemoParams } from './demo-genres.js';
import { frameListKey, type FrameList } from './frame-list.js';

/** What a demo item's run reads: the generator's inputs for that movie. */
export type DemoSource = { source: 'demo'; generator: number; seed: number; index: number };

export function listDemoItems(params: { movies?: unknown; seed?: unknown }): SourceItem[] {
  const { movies, seed } = parseDemoParams(params);
  return Array.from({ length: movies }, (_, i) => {
    const source: DemoSource = { source: 'demo', generator: DEMO_GENERATOR_VERSION, seed, index: i + 1 };
    return { id: demoId(i + 1), source };
  });
}

/** Renders one demo movie into the store: `{"<id>.json": list, "<id>/shot_..._img_K.jpg": jpeg}`. */
export async function runDemoItem(store: StoreAccess, id: string, src: DemoSource): Promise<ItemOutput> {
  // The renderer (and sharp) load when a movie is rendered, not when the kind is listed.
  const { renderDemoMovie } = await import('./demo-render.js');
  const frames = await renderDemoMovie(src.seed, src.index);
  const tree: Tree = {};
  const list: FrameList = { movie: id, source: 'demo', frames: [] };
  for (const f of frames) {
    const hash = await store.put(f.jpeg);
    tree[`${id}/${f.name}`] = hash;
    list.frames.push({ name: f.name, shot: f.shot, img: f.img, hash });
  }
  tree[frameListKey(id)] = await store.put(JSON.stringify(list));
  return { tree, meta: { frames: frames.length } };
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export interface WriteDemoOptions {
  movies?: number;
  seed?: number;
  /** Folder name of the keyframes (MovieNet: 240P). */
  keyframesDir?: string;
  /** Called after each movie is written. */
  onMovie?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * Writes the demo dataset in MovieNet's layout: `<dir>/240P/<id>/shot_XXXX_img_K.jpg` and
 * `<dir>/meta/<id>.json` (`{"imdb_id", "title", "genres"}`), so that the movienet source can be
 * tried on it. Every file is written under a temporary name and renamed, so an interrupted
 * write never leaves a file that looks complete. Same movies, frames and genres as the demo
 * source with the same seed.
 */
export async function writeDemoDataset(dir: string, opts: WriteDemoOptions = {}): Promise<{ movies: number; frames: number }> {
  const { movies, seed } = parseDemoParams({ movies: opts.movies ?? 200, seed: opts.seed ?? 0 });
  const kf = join(dir, opts.keyframesDir ?? '240P');
  const meta = join(dir, 'meta');
  await mkdir(kf, { recursive: true });
  await mkdir(meta, { recursive: true });
  const limit = pLimit(Math.max(1, availableParallelism()));
  let done = 0;
  let frames = 0;
  await Promise.all(
    Array.from({ length: movies }, (_, i) =>
      limit(async () => {
        opts.signal?.throwIfAborted();
        const index = i + 1;
        const id = demoId(index);
        const movieDir = join(kf, id);
        await mkdir(movieDir, { recursive: true });
        const { renderDemoMovie } = await import('./demo-render.js');
        const rendered = await renderDemoMovie(seed, index);
        for (const f of rendered) await writeAtomic(join(movieDir, f.name), f.jpeg);
        const record = { imdb_id: id, title: `Demo movie ${index}`, genres: demoGenres(seed, index) };
        await writeAtomic(join(meta, `${id}.json`), `${JSON.stringify(record, null, 2)}\n`);
        frames += rendered.length;
        opts.onMovie?.(++done, movies);
      }),
    ),
  );
  return { movies, frames };
}
