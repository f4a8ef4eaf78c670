// Frames for embed tests: synthetic JPEG keyframes, and movies of them written into a store the
// way the frames stage writes them.
import sharp from 'sharp';
import { hashBytes } from '../../src/hash.js';
import type { ItemOutput, ItemTask, StoreAccess } from '../../src/stage-api.js';
import type { FrameEntry, FrameList } from '../../stages/data/frame-list.js';

/**
 * A synthetic 426 x 240 JPEG (MovieNet's 240P keyframe size): a colour gradient with a
 * seed-dependent palette and stripe pattern, so that frames differ from each other.
 */
export async function syntheticFrame(seed: number, width = 426, height = 240): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  const a = (seed * 37) % 256;
  const b = (seed * 91 + 40) % 256;
  const period = 6 + (seed % 11);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const stripe = Math.floor((x + (seed % 2 === 0 ? y : -y)) / period) % 2;
      raw[i] = (a + (x * 255) / width) % 256;
      raw[i + 1] = (b + (y * 255) / height) % 256;
      raw[i + 2] = stripe ? 220 : 30 + ((seed * 13) % 100);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/**
 * Writes a movie's frames into the store as the frames stage does (frames without `path` live
 * in the store) and returns the embed task for it.
 */
export async function storeMovie(store: StoreAccess, id: string, frames: readonly Buffer[]): Promise<ItemTask> {
  const entries: FrameEntry[] = [];
  for (let k = 0; k < frames.length; k++) {
    const hash = await store.put(frames[k]!);
    entries.push({ name: `shot_${String(Math.floor(k / 3)).padStart(4, '0')}_img_${k % 3}.jpg`, shot: Math.floor(k / 3), img: k % 3, hash });
  }
  const list: FrameList = { movie: id, source: 'demo', frames: entries };
  const listHash = await store.put(JSON.stringify(list));
  const upstream: ItemOutput = { tree: { [`${id}.json`]: listHash }, meta: { frames: frames.length } };
  return { id, input: hashBytes(listHash), upstream };
}
