// Short test videos made with ffmpeg's own test sources (lavfi), one source per "shot", so
// that scene detection has real cuts to find.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

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

/** The ffmpeg the videos source would use: FFMPEG_PATH, else the system's, else the npm package's. */
export function testFfmpeg(): string {
  const given = process.env['FFMPEG_PATH'];
  if (given !== undefined && given !== '') return given;
  if (spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).error === undefined) return 'ffmpeg';
  return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

/** Writes a video whose scenes follow each other with hard cuts; the codec follows the container. */
export function makeVideo(path: string, scenes: Array<[Scene, number]>): void {
  const graph =
    scenes.map(([s, d], i) => `${sourceOf(s, d)},format=yuv420p[v${i}]`).join(';') +
    `;${scenes.map((_, i) => `[v${i}]`).join('')}concat=n=${scenes.length}:v=1:a=0[out]`;
  const codec = path.endsWith('.webm') ? ['-c:v', 'libvpx', '-b:v', '200k'] : ['-c:v', 'mpeg4', '-q:v', '5'];
  execFileSync(testFfmpeg(), ['-hide_banner', '-v', 'error', '-y', '-filter_complex', graph, '-map', '[out]', ...codec, path]);
}
