// The videos source: a folder of trailers, keyframes extracted with ffmpeg.
//
// Two ways to pick frames: MovieNet-like (default) finds shot boundaries with ffmpeg's
// scene-change score (`select='gt(scene,T)'`) and takes 3 frames per shot, at 1/6, 1/2 and 5/6
// of the shot; or a fixed rate (`frames.fps` > 0), one frame per 1/fps seconds, each its own
// "shot". Frames are scaled to 240 px high (MovieNet's 240P) and named like MovieNet's.
// ffmpeg is found lazily (only this source needs it): FFMPEG_PATH, else the system's `ffmpeg` on
// PATH, else the static build that ships inside the npm package @ffmpeg-installer/ffmpeg
// (installed with this project; nothing downloads). Its version is in the frames fingerprint.
// Only ffmpeg is used, never ffprobe (the packaged build has no ffprobe): a video's duration,
// start and frame rate come from ffmpeg's own description of its input.
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { ItemError, UserError } from '../../src/errors.js';
import type { Hash, ItemOutput, SourceItem, StageContext, StoreAccess, Tree } from '../../src/stage-api.js';
import { frameListKey, type FrameList } from './frame-list.js';
import { frameName, sampleFrames, type Sampling } from './frame-names.js';
import type { SourceProblem } from './params.js';
import { plainReader, readSection } from '../../src/param-schema/readers.js';
import { FRAMES } from '../frames/params.js';

const run = promisify(execFile);

export const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.webm', '.mov'];
export const FRAME_HEIGHT = 240;
/** Timestamps extracted per ffmpeg process (one input per timestamp, each seeking on its own). */
const SEEK_BATCH = 24;

export interface FfmpegTools {
  ffmpeg: string;
  /** Where it was found: FFMPEG_PATH, the system's PATH, or the npm package. */
  origin: 'FFMPEG_PATH' | 'system' | 'package';
  /** First line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.6-0+deb12u1". */
  version: string;
}

const INSTALL_HINT =
  'reinstall the dependencies (npm ci: the package @ffmpeg-installer/ffmpeg ships one), install it (apt-get install ffmpeg, brew install ffmpeg), or set FFMPEG_PATH';

const found = new Map<string, Promise<FfmpegTools>>();

/** The ffmpeg binary inside the npm package, or the reason there is none for this platform. */
function packagedFfmpeg(): string | Error {
  try {
    const require = createRequire(import.meta.url);
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch (e) {
    // The package throws a plain string for an unsupported platform or a missing binary.
    return new Error(e instanceof Error ? e.message : String(e));
  }
}

async function versionOf(bin: string): Promise<string> {
  const { stdout } = await run(bin, ['-version']);
  return stdout.split('\n')[0]!.trim();
}

function notRunning(bin: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'is not installed (or not on PATH)' : `does not run (${(e as Error).message.split('\n')[0]})`;
  return new UserError(`${bin} ${why}: dataset.source 'videos' needs ffmpeg to extract keyframes`, INSTALL_HINT);
}

/**
 * Finds ffmpeg: `tools.ffmpeg` or FFMPEG_PATH when given (used as is), else `ffmpeg` on PATH,
 * else the npm package's binary. A missing or broken ffmpeg is a UserError naming the fixes.
 */
export function findFfmpeg(tools: { ffmpeg?: string } = {}): Promise<FfmpegTools> {
  const given = tools.ffmpeg ?? process.env['FFMPEG_PATH'];
  const key = `${given ?? ''}\0${process.env['PATH'] ?? ''}`;
  let p = found.get(key);
  if (p === undefined) {
    p = (async (): Promise<FfmpegTools> => {
      if (given !== undefined && given !== '') {
        try {
          return { ffmpeg: given, origin: 'FFMPEG_PATH', version: await versionOf(given) };
        } catch (e) {
          throw notRunning(given, e);
        }
      }
      try {
        return { ffmpeg: 'ffmpeg', origin: 'system', version: await versionOf('ffmpeg') };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw notRunning('ffmpeg', e);
      }
      const bin = packagedFfmpeg();
      if (bin instanceof Error) {
        throw new UserError(`ffmpeg is not installed (not on PATH, and the npm package @ffmpeg-installer/ffmpeg has none: ${bin.message}): dataset.source 'videos' needs ffmpeg to extract keyframes`, INSTALL_HINT);
      }
      try {
        return { ffmpeg: bin, origin: 'package', version: await versionOf(bin) };
      } catch (e) {
        throw notRunning(bin, e);
      }
    })();
    // A failed search is not cached: the user may install ffmpeg and retry in the same process.
    p.catch(() => found.delete(key));
    found.set(key, p);
  }
  return p;
}

/** What a video item's run reads. */
export type VideoSource = {
  source: 'videos';
  /** File name, relative to dataset.root. */
  file: string;
  hash: Hash;
  /** Extraction: scene detection with a threshold, or a fixed rate. */
  scene_threshold?: number;
  fps?: number;
  height: number;
  problem?: SourceProblem;
};

export interface Extraction {
  sceneThreshold: number;
  fps: number;
}

/** Checks the extraction params (undefined -> default) against the frames kind's schema (frames/params.ts). */
export function parseExtraction(p: { scene_threshold?: unknown; fps?: unknown }): Extraction {
  const { sceneThreshold, fps } = readSection(plainReader({ frames: p }), FRAMES, '0 detects shots (ffmpeg\'s scene score: 0.3 is a common cut threshold); e.g. fps 1 takes one frame per second');
  return { sceneThreshold, fps };
}

export async function listVideoItems(ctx: StageContext, opts: { root: string; extraction: Extraction }): Promise<SourceItem[]> {
  let entries;
  try {
    entries = await readdir(opts.root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') throw e;
    throw new UserError(`dataset.root: no folder ${opts.root}`, 'point dataset.root at the folder holding the videos (mp4, mkv, webm, mov) and the labels file');
  }
  const files = entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && !e.name.startsWith('.') && VIDEO_EXTENSIONS.includes(extname(e.name).toLowerCase()))
    .map((e) => e.name)
    .sort();
  const byId = new Map<string, string[]>();
  for (const f of files) {
    const id = f.slice(0, f.length - extname(f).length);
    byId.set(id, [...(byId.get(id) ?? []), f]);
  }
  let hashed: Array<{ hash: Hash; size: number } | Error>;
  try {
    hashed = await ctx.hashFiles(files.map((f) => join(opts.root, f)));
  } catch {
    // One unreadable video fails the whole call: hash file by file to find which.
    hashed = await Promise.all(
      files.map((f) => ctx.hashFiles([join(opts.root, f)]).then((h) => h[0]!, (e: unknown) => (e instanceof Error ? e : new Error(String(e))))),
    );
  }
  const hashOf = new Map(files.map((f, i) => [f, hashed[i]!]));
  const items: SourceItem[] = [];
  for (const [id, names] of [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const file = names[0]!;
    const h = hashOf.get(file)!;
    let problem: SourceProblem | undefined;
    if (names.length > 1) {
      problem = { file: join(opts.root, file), message: `several videos for one movie: ${names.join(', ')}`, hint: 'keep one video per movie id (file name without extension)' };
    } else if (h instanceof Error) {
      problem = { file: join(opts.root, file), message: `cannot read the video (${h.message})`, hint: 'check the file\'s permissions' };
    } else if (h.size === 0) {
      problem = { file: join(opts.root, file), message: 'empty file (0 bytes)', hint: 're-download the video, or delete it' };
    }
    const source: VideoSource = {
      source: 'videos',
      file,
      hash: h instanceof Error ? '' : h.hash,
      ...(opts.extraction.fps > 0 ? { fps: opts.extraction.fps } : { scene_threshold: opts.extraction.sceneThreshold }),
      height: FRAME_HEIGHT,
      ...(problem === undefined ? {} : { problem }),
    };
    items.push({ id, source });
  }
  return items;
}

function lastLines(stderr: string, n = 2): string {
  return stderr.trim().split('\n').slice(-n).join(' / ').trim();
}

export interface VideoInfo {
  start: number;
  duration: number;
  fps: number | undefined;
}

/**
 * Reads duration, start time and frame rate from ffmpeg's description of its input (`ffmpeg -i
 * FILE` with no output, which always exits 1). Hand-parsed because the packaged ffmpeg ships
 * without ffprobe (a second 70 MB binary); the lines parsed here are ffmpeg's stable dump format
 * ("Duration: 00:01:02.50, start: 0.000000, ..." and the first "Stream #0:N...: Video: ..., 25 fps").
 * Returns a message instead when ffmpeg cannot open the file.
 */
export function parseInputInfo(stderr: string): VideoInfo | { error: string } | { noVideo: true } {
  if (!/^Input #0,/m.test(stderr)) {
    const lines = stderr.trim().split('\n').filter((l) => !l.startsWith('At least one output file'));
    return { error: lines.slice(-2).join(' / ').trim() || 'no input description' };
  }
  const video = /^\s*Stream #0:\d+.*?: Video: (.*)$/m.exec(stderr);
  if (video === null) return { noVideo: true };
  const d = /^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/m.exec(stderr);
  const duration = d === null ? NaN : Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]);
  const st = /^\s*Duration: [^\n]*?, start: (-?\d+(?:\.\d+)?)/m.exec(stderr);
  const f = /, (\d+(?:\.\d+)?)(k?) fps\b/.exec(video[1]!);
  const fps = f === null ? undefined : Number(f[1]) * (f[2] === 'k' ? 1000 : 1);
  return { start: st === null ? 0 : Number(st[1]), duration, fps: fps !== undefined && fps > 0 ? fps : undefined };
}

async function probe(tools: FfmpegTools, id: string, file: string, signal: AbortSignal): Promise<VideoInfo> {
  let stderr: string;
  try {
    ({ stderr } = await run(tools.ffmpeg, ['-hide_banner', '-nostdin', '-i', file], { signal, maxBuffer: 1 << 20 }));
  } catch (e) {
    if (signal.aborted) throw e;
    if (typeof (e as { stderr?: unknown }).stderr !== 'string') throw e;
    stderr = (e as { stderr: string }).stderr;
  }
  const info = parseInputInfo(stderr);
  if ('error' in info) throw new ItemError(id, `ffmpeg cannot read the video: ${info.error}`, { file, hint: 're-download or re-encode the video, or delete it' });
  if ('noVideo' in info) throw new ItemError(id, 'no video stream in the file', { file, hint: 'the file holds no video; delete it' });
  if (!(info.duration > 0)) {
    throw new ItemError(id, 'the video has no duration (ffmpeg reports none)', { file, hint: 'remux it, e.g. ffmpeg -i IN -c copy OUT.mp4' });
  }
  return info;
}

/**
 * Moves a time onto the start of the frame shown at that time. ffmpeg's accurate seek drops
 * frames that start before the seek point, so seeking into the middle of the last frame would
 * yield nothing; the start of a frame always yields that frame.
 */
export function snapToFrame(time: number, duration: number, fps: number | undefined): number {
  if (fps === undefined) return Math.max(0, Math.min(time, duration - 0.05));
  const last = Math.max(0, Math.ceil(duration * fps - 1e-6) - 1);
  return Math.min(Math.floor(time * fps + 1e-6), last) / fps;
}

/** Times (seconds from the video's start) where ffmpeg's scene score passes the threshold. */
async function detectCuts(tools: FfmpegTools, id: string, file: string, threshold: number, start: number, signal: AbortSignal): Promise<number[]> {
  let stderr: string;
  try {
    ({ stderr } = await run(
      tools.ffmpeg,
      ['-hide_banner', '-nostdin', '-i', file, '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', `select='gt(scene,${threshold})',showinfo`, '-f', 'null', '-'],
      { signal, maxBuffer: 256 << 20 },
    ));
  } catch (e) {
    if (signal.aborted) throw e;
    throw new ItemError(id, `ffmpeg cannot decode the video: ${lastLines((e as { stderr?: string }).stderr ?? '') || (e as Error).message}`, {
      file,
      hint: 're-download or re-encode the video, or delete it',
    });
  }
  const cuts: number[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('Parsed_showinfo')) continue;
    const m = /pts_time:\s*(-?[0-9.]+)/.exec(line);
    if (m !== null) cuts.push(Number(m[1]) - start);
  }
  return cuts;
}

/** Extracts one frame per timestamp into `outs` (same order), scaled to FRAME_HEIGHT. */
async function extractAt(tools: FfmpegTools, id: string, file: string, times: number[], outs: string[], signal: AbortSignal): Promise<void> {
  for (let b = 0; b < times.length; b += SEEK_BATCH) {
    const args = ['-hide_banner', '-nostdin', '-v', 'error'];
    const n = Math.min(SEEK_BATCH, times.length - b);
    for (let k = 0; k < n; k++) args.push('-ss', times[b + k]!.toFixed(3), '-i', file);
    for (let k = 0; k < n; k++) {
      args.push('-map', `${k}:v:0`, '-frames:v', '1', '-vf', `scale=-2:${FRAME_HEIGHT}`, '-q:v', '2', '-update', '1', '-y', outs[b + k]!);
    }
    try {
      await run(tools.ffmpeg, args, { signal, maxBuffer: 16 << 20 });
    } catch (e) {
      if (signal.aborted) throw e;
      throw new ItemError(id, `ffmpeg cannot extract frames: ${lastLines((e as { stderr?: string }).stderr ?? '') || (e as Error).message}`, {
        file,
        hint: 're-download or re-encode the video, or delete it',
      });
    }
  }
}

interface PlannedFrame {
  shot: number;
  img: number;
  time: number;
}

/** Shot boundaries -> three frames per shot at 1/6, 1/2 and 5/6 of the shot. */
export function planSceneFrames(cuts: readonly number[], duration: number): PlannedFrame[] {
  const bounds = [0];
  for (const c of [...cuts].sort((a, b) => a - b)) if (c > bounds[bounds.length - 1]! + 1e-3 && c < duration - 1e-3) bounds.push(c);
  bounds.push(duration);
  const out: PlannedFrame[] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const a = bounds[s]!;
    const len = bounds[s + 1]! - a;
    for (let img = 0; img < 3; img++) out.push({ shot: s, img, time: a + ((img + 0.5) / 3) * len });
  }
  return out;
}

/** Extracts a video's keyframes into the store: `{"<id>.json": list, "<id>/shot_..._img_K.jpg": jpeg}`. */
export async function runVideoItem(ctx: StageContext, store: StoreAccess, root: string, id: string, src: VideoSource, sampling: Sampling): Promise<ItemOutput> {
  if (src.problem !== undefined) throw new ItemError(id, src.problem.message, { file: src.problem.file, hint: src.problem.hint });
  const tools = await findFfmpeg();
  const file = join(root, src.file);
  const tmp = store.tempPath('-frames');
  await mkdir(tmp, { recursive: true });
  try {
    const { start, duration, fps } = await probe(tools, id, file, ctx.signal);
    let frames: PlannedFrame[];
    if (src.fps !== undefined) {
      // One pass at a fixed rate; frame k is at k/fps and is its own shot.
      try {
        await run(
          tools.ffmpeg,
          ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:v:0', '-vf', `fps=${src.fps},scale=-2:${src.height}`, '-q:v', '2', '-start_number', '0', join(tmp, 'f_%07d.jpg')],
          { signal: ctx.signal, maxBuffer: 16 << 20 },
        );
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        throw new ItemError(id, `ffmpeg cannot decode the video: ${lastLines((e as { stderr?: string }).stderr ?? '') || (e as Error).message}`, {
          file,
          hint: 're-download or re-encode the video, or delete it',
        });
      }
      const made = (await readdir(tmp)).filter((f) => f.startsWith('f_')).sort();
      const all = made.map((_, k) => ({ shot: k, img: 0, time: k / src.fps! }));
      frames = sampleFrames(all, sampling);
      const keep = new Set(frames.map((f) => f.shot));
      await Promise.all(made.map((f, k) => (keep.has(k) ? Promise.resolve() : rm(join(tmp, f)))));
    } else {
      const cuts = await detectCuts(tools, id, file, src.scene_threshold ?? 0.3, start, ctx.signal);
      frames = sampleFrames(planSceneFrames(cuts, duration), sampling).map((f) => ({ ...f, time: snapToFrame(f.time, duration, fps) }));
      await extractAt(tools, id, file, frames.map((f) => f.time), frames.map((f) => join(tmp, frameName(f.shot, f.img))), ctx.signal);
    }
    const tree: Tree = {};
    const list: FrameList = { movie: id, source: 'videos', frames: [] };
    for (const f of frames) {
      const name = frameName(f.shot, f.img);
      const path = src.fps !== undefined ? join(tmp, `f_${String(f.shot).padStart(7, '0')}.jpg`) : join(tmp, name);
      const size = await stat(path).then((s) => s.size, () => 0);
      if (size === 0) {
        throw new ItemError(id, `ffmpeg produced no frame at ${f.time.toFixed(3)} s`, { file, hint: 'the video may be damaged near that time; re-encode it, or delete it' });
      }
      const hash = await store.putFile(path);
      tree[`${id}/${name}`] = hash;
      list.frames.push({ name, shot: f.shot, img: f.img, hash, time: Math.round(f.time * 1000) / 1000 });
    }
    if (list.frames.length === 0) throw new ItemError(id, 'ffmpeg extracted no frames', { file, hint: 'check that the video plays; re-encode it, or delete it' });
    tree[frameListKey(id)] = await store.put(JSON.stringify(list));
    return { tree, meta: { frames: list.frames.length, duration: Math.round(duration * 1000) / 1000, shots: new Set(frames.map((f) => f.shot)).size } };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
