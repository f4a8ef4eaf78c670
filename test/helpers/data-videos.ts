// Short test videos made with ffmpeg's own test sources (lavfi), one source per "shot", so
// that scene detection has real cuts to find.
import { execFileSync } from 'node:child_process';

export type Scene = 'testsrc' | 'smptebars' | 'red' | 'blue' | 'mandelbrot';

function sourceOf(scene: Scene, seconds: number): string {
  const common = `d=${seconds}:s=320x180:r=10`;
  switch (scene) {
    case 'red':
      return `color=c=red:${common}`;
    case 'blue':
      return `color=c=blue:${common}`;
    default:
      return `${scene}=${common}`;
  }
}

/** Writes a video whose scenes follow each other with hard cuts; the codec follows the container. */
export function makeVideo(path: string, scenes: Array<[Scene, number]>): void {
  const graph =
    scenes.map(([s, d], i) => `${sourceOf(s, d)},format=yuv420p[v${i}]`).join(';') +
    `;${scenes.map((_, i) => `[v${i}]`).join('')}concat=n=${scenes.length}:v=1:a=0[out]`;
  const codec = path.endsWith('.webm') ? ['-c:v', 'libvpx', '-b:v', '200k'] : ['-c:v', 'mpeg4', '-q:v', '5'];
  execFileSync('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-filter_complex', graph, '-map', '[out]', ...codec, path]);
}
