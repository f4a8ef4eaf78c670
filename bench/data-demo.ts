// Demo dataset generation: rendering 200 movies (~4,800 426x240 keyframes) and writing them in
// MovieNet's layout. Baseline in the same run: sharp encoding the same number of frames from
// one fixed raw buffer (the least any generator that encodes JPEGs with sharp must pay), so the
// ratio shows what drawing the pixels costs on top, whatever the machine's speed or load.
//
//   npx tsc -p tsconfig.json && node dist/bench/data-demo.js [--movies 200] [--seed 0] [--jobs N]
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { writeDemoDataset } from '../stages/data/demo.js';
import { FRAME_HEIGHT, FRAME_WIDTH, renderDemoMovie } from '../stages/data/demo-render.js';

const { values } = parseArgs({
  options: {
    movies: { type: 'string', default: '200' },
    seed: { type: 'string', default: '0' },
    jobs: { type: 'string', default: String(availableParallelism()) },
  },
});
const movies = Number(values.movies);
const seed = Number(values.seed);
const jobs = Number(values.jobs);

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

// Rendering into memory, `jobs` movies at a time (as the frames stage does with --jobs).
const limit = pLimit(jobs);
let frames = 0;
let t0 = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: movies }, (_, i) =>
    limit(async () => {
      const n = (await renderDemoMovie(seed, i + 1)).length;
      frames += n;
    }),
  ),
);
const render = seconds(t0);

// Baseline: encode-only, same frame count, same concurrency.
const raw = Buffer.alloc(FRAME_WIDTH * FRAME_HEIGHT * 3);
for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
const perWorker = Math.ceil(frames / jobs);
t0 = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: jobs }, async () => {
    for (let k = 0; k < perWorker; k++) {
      await sharp(raw, { raw: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3 } }).jpeg({ quality: 85, optimiseCoding: false }).toBuffer();
    }
  }),
);
const encodeOnly = (seconds(t0) * frames) / (perWorker * jobs);

// Writing the dataset to disk in MovieNet's layout (`pipeline demo --to DIR`).
const dir = mkdtempSync(join(tmpdir(), 'pipeline-bench-demo-'));
t0 = process.hrtime.bigint();
await writeDemoDataset(dir, { movies, seed });
const write = seconds(t0);
rmSync(dir, { recursive: true, force: true });

const row = (name: string, s: number): string =>
  `| ${name} | ${s.toFixed(2)} s | ${Math.round(frames / s)} | ${(s / encodeOnly).toFixed(2)} |`;
console.log(`demo dataset: ${movies} movies, ${frames} frames, ${jobs} jobs`);
console.log('| step | time | frames/s | x encode-only |');
console.log('|---|---|---|---|');
console.log(row('sharp JPEG encode only (baseline)', encodeOnly));
console.log(row('render (draw + encode), in memory', render));
console.log(row('writeDemoDataset (render + write files)', write));
