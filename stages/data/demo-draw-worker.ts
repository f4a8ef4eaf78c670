// A thread of demo-render.ts's drawing pool: draws one demo movie at a time (demo-draw.ts) and
// posts each keyframe's pixels as soon as they are drawn (moved, not copied), so that the
// caller encodes one frame while the next is drawn.
import { parentPort } from 'node:worker_threads';
import { drawDemoMovie } from './demo-draw.js';

export interface DrawRequest {
  seed: number;
  index: number;
}
export type DrawReply = { frame: { shot: number; img: number; rgb: Uint8ClampedArray } } | { done: true } | { error: string };

const port = parentPort;
if (port !== null) {
  port.on('message', (m: DrawRequest) => {
    try {
      for (const frame of drawDemoMovie(m.seed, m.index)) port.postMessage({ frame } satisfies DrawReply, [frame.rgb.buffer as ArrayBuffer]);
      port.postMessage({ done: true } satisfies DrawReply);
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies DrawReply);
    }
  });
}
