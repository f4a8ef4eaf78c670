// MovieNet keyframe names (`shot_0012_img_1.jpg`): parsing, ordering and sampling.
//
// Order is numeric by shot, then by image index, never by directory or glob order (readdir
// order is file-system dependent; the reference project's unsorted glob scrambled shots). Each
// name is parsed once; the sort then compares integers.
import { plainReader, readSection } from '../../src/param-schema/readers.js';
import { FRAMES } from '../frames/params.js';

export interface ParsedFrame {
  name: string;
  shot: number;
  img: number;
}

const FRAME_NAME = /^shot_(\d+)_img_(\d+)\.jpe?g$/i;
const IMAGE_EXT = /\.(jpe?g|png|webp|bmp|tiff?)$/i;

/** Builds a keyframe name in MovieNet's form: shot number zero-padded to 4 digits. */
export function frameName(shot: number, img: number): string {
  return `shot_${String(shot).padStart(4, '0')}_img_${img}.jpg`;
}

/** Reads up to 9 digits of `s` from `i`: [value, end], or undefined when none (or more). */
function digits(s: string, i: number): [number, number] | undefined {
  let v = 0;
  let j = i;
  for (; j < s.length && j - i <= 9; j++) {
    const c = s.charCodeAt(j) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
  }
  return j === i || j - i > 9 ? undefined : [v, j];
}

export function parseFrameName(name: string): ParsedFrame | undefined {
  // MovieNet's own form (lower case, .jpg, short numbers) read by hand: a dataset listing parses
  // every file's name on every status, and the regular expression's match arrays were a tenth of
  // that status's garbage. Anything else goes to the expression, which defines the form.
  if (name.startsWith('shot_')) {
    const shot = digits(name, 5);
    if (shot !== undefined && name.startsWith('_img_', shot[1])) {
      const img = digits(name, shot[1] + 5);
      if (img !== undefined && img[1] === name.length - 4 && name.endsWith('.jpg')) return { name, shot: shot[0], img: img[0] };
    }
  }
  const m = FRAME_NAME.exec(name);
  if (m === null) return undefined;
  return { name, shot: Number(m[1]), img: Number(m[2]) };
}

export function compareFrames(a: ParsedFrame, b: ParsedFrame): number {
  return a.shot - b.shot || a.img - b.img || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Splits a folder listing into keyframes (sorted) and image-like files whose names do not
 * follow the keyframe pattern (reported, never guessed at). Other files (.txt, .DS_Store) are
 * not frames and are left alone.
 */
export function sortFrameNames(names: readonly string[]): { frames: ParsedFrame[]; unrecognised: string[] } {
  const frames: ParsedFrame[] = [];
  const unrecognised: string[] = [];
  for (const name of names) {
    const f = parseFrameName(name);
    if (f !== undefined) frames.push(f);
    else if (IMAGE_EXT.test(name)) unrecognised.push(name);
  }
  frames.sort(compareFrames);
  unrecognised.sort();
  return { frames, unrecognised };
}

/** The `frames.*` sampling options. */
export interface Sampling {
  /** 1: the middle image of each shot; 2: the first and last; 3: all three. */
  imagesPerShot: number;
  /** Keep every k-th shot (by position, so gaps in shot numbers do not matter). */
  stride: number;
  /** 0: all; else at most this many frames, evenly spread over the movie. */
  maxFrames: number;
}

/** Checks the sampling params (undefined -> default) against the frames kind's schema (frames/params.ts). */
export function parseSampling(p: { images_per_shot?: unknown; stride?: unknown; max_frames?: unknown }): Sampling {
  const { imagesPerShot, stride, maxFrames } = readSection(plainReader({ frames: p }), FRAMES);
  return { imagesPerShot, stride, maxFrames };
}

/** Indices of `k` images spread over a shot of `n` (k = 1: the middle one, lower middle when n is even). */
function pickInShot(n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  if (k === 1) return [Math.floor((n - 1) / 2)];
  return Array.from({ length: k }, (_, j) => Math.round((j * (n - 1)) / (k - 1)));
}

/**
 * Applies the sampling options to frames sorted by compareFrames. With MovieNet's three images
 * per shot, images_per_shot 1 keeps img 1, 2 keeps img 0 and 2, 3 keeps all; shots with fewer
 * images keep what they have. max_frames then keeps the frame at the centre of each of
 * max_frames equal slices of the movie.
 */
export function sampleFrames<T extends { shot: number }>(sorted: readonly T[], s: Sampling): T[] {
  const out: T[] = [];
  let shotPos = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j]!.shot === sorted[i]!.shot) j++;
    if (shotPos % s.stride === 0) {
      for (const k of pickInShot(j - i, s.imagesPerShot)) out.push(sorted[i + k]!);
    }
    shotPos++;
    i = j;
  }
  if (s.maxFrames > 0 && out.length > s.maxFrames) {
    const n = out.length;
    return Array.from({ length: s.maxFrames }, (_, j) => out[Math.floor(((j + 0.5) * n) / s.maxFrames)]!);
  }
  return out;
}
