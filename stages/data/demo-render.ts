// Renders the demo dataset's keyframes: drawn as raw RGB pixels (demo-draw.ts, which says what
// they show) and encoded as JPEG by sharp.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { FRAME_HEIGHT, FRAME_WIDTH } from './demo-draw.js';
import type { DrawReply, DrawRequest } from './demo-draw-worker.js';
import { frameName } from './frame-names.js';

export { demoShotCount, drawDemoMovie, FRAME_HEIGHT, FRAME_WIDTH } from './demo-draw.js';

const JPEG_QUALITY = 85;

export interface DemoFrame {
  name: string;
  shot: number;
  img: number;
  jpeg: Buffer;
}

type DrawnFrame = Extract<DrawReply, { frame: unknown }>['frame'];

/**
 * Worker threads that draw demo movies, one movie per thread at a time (demo-draw-worker.ts):
 * the drawing is plain JavaScript and, on the thread that also encodes and stores, was most of
 * the frames stage. Each movie's pixels come from its own seeded streams, so where it is drawn
 * changes no bit (tested against drawing in this thread). Idle threads do not keep the process
 * alive. Written here rather than taken from a pool library: each task streams its frames back
 * as they are drawn, so that sharp encodes one while the next is drawn, where a pool's task
 * ends in one result.
 */
class DrawPool {
  readonly #size: number;
  readonly #idle: Worker[] = [];
  readonly #waiting: Array<(w: Worker) => void> = [];
  #started = 0;

  constructor(size: number) {
    this.#size = size;
  }

  #acquire(): Promise<Worker> {
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.#started < this.#size) {
      this.#started++;
      return Promise.resolve(new Worker(new URL('./demo-draw-worker.js', import.meta.url)));
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(w: Worker): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next(w);
    else {
      w.unref();
      this.#idle.push(w);
    }
  }

  async draw(seed: number, index: number, onFrame: (f: DrawnFrame) => void): Promise<void> {
    const w = await this.#acquire();
    w.ref();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      const lost = (why: string): void => {
        done();
        this.#started--;
        // A waiting movie gets a fresh thread in place of the lost one.
        const next = this.#waiting.shift();
        if (next !== undefined) {
          this.#started++;
          next(new Worker(new URL('./demo-draw-worker.js', import.meta.url)));
        }
        reject(new Error(`demo movie ${index}: its drawing thread ${why}`));
      };
      const onMessage = (m: DrawReply): void => {
        if ('frame' in m) {
          onFrame(m.frame);
          return;
        }
        done();
        this.#release(w);
        if ('done' in m) resolve();
        else reject(new Error(`demo movie ${index}: drawing failed: ${m.error}`));
      };
      const onError = (e: Error): void => {
        void w.terminate();
        lost(`failed: ${e.message}`);
      };
      const onExit = (code: number): void => lost(`exited (code ${code})`);
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ seed, index } satisfies DrawRequest);
    });
  }
}

let pool: DrawPool | undefined;

function encode(f: DrawnFrame): Promise<DemoFrame> {
  return (
    sharp(Buffer.from(f.rgb.buffer, f.rgb.byteOffset, f.rgb.byteLength), { raw: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3 } })
      // Huffman optimisation would double the encoding time for a 3% smaller file.
      .jpeg({ quality: JPEG_QUALITY, optimiseCoding: false })
      .toBuffer()
      .then((jpeg) => ({ name: frameName(f.shot, f.img), shot: f.shot, img: f.img, jpeg }))
  );
}

/**
 * Renders all keyframes of demo movie `index`, in shot order: drawn on a thread of the pool
 * (`inThread`: on this one), encoded by sharp on libvips' threads as each frame arrives.
 */
export async function renderDemoMovie(seed: number, index: number, opts: { inThread?: boolean } = {}): Promise<DemoFrame[]> {
  const pending: Array<Promise<DemoFrame>> = [];
  const add = (f: DrawnFrame): void => {
    const p = encode(f);
    // Seen by Promise.all below; until then a failed encoding must not count as unhandled.
    p.catch(() => undefined);
    pending.push(p);
  };
  if (opts.inThread === true) {
    const { drawDemoMovie } = await import('./demo-draw.js');
    for (const f of drawDemoMovie(seed, index)) add(f);
  } else {
    pool ??= new DrawPool(Math.max(1, availableParallelism()));
    await pool.draw(seed, index, add);
  }
  return Promise.all(pending);
}

/** Library versions that change the demo's JPEG bytes. */
export function demoRenderEnv(): Record<string, string> {
  return { sharp: sharp.versions.sharp ?? 'unknown', libvips: sharp.versions.vips, mozjpeg: sharp.versions.mozjpeg ?? 'unknown' };
}
