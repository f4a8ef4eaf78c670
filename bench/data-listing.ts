// The frames stage's listing of a MovieNet-layout folder (what `pipeline status` pays on every
// call): M movies x 100 keyframes. Cold = first listing (every file hashed); warm = unchanged
// folder (a stat per file, hashes from the engine's SQLite file-state cache). The time spent
// inside hashFiles (stats and the cache) is shown apart from the stage's own work. Baseline in
// the same run: a bare readdir of every folder and a stat of every file, the least any correct
// listing does.
//
//   npx tsc -p tsconfig.json && node dist/bench/data-listing.js [--movies 1000] [--per-movie 100] [--repeat 3]
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import frames from '../stages/frames.js';
import { ageFiles, testContext, testWorkspace } from '../fixtures-lib/stage-ctx.js';

const { values } = parseArgs({
  options: {
    movies: { type: 'string', default: '1000' },
    'per-movie': { type: 'string', default: '100' },
    repeat: { type: 'string', default: '3' },
  },
});
const movies = Number(values.movies);
const perMovie = Number(values['per-movie']);
const repeat = Number(values.repeat);

const ws = testWorkspace('pipeline-bench-listing-');
const dir = join(ws.dir, 'movienet');
for (let m = 0; m < movies; m++) {
  const md = join(dir, '240P', `tt${9_100_000 + m}`);
  mkdirSync(md, { recursive: true });
  // Written in reverse so that directory order is not shot order.
  for (let k = perMovie - 1; k >= 0; k--) {
    const name = `shot_${String(Math.floor(k / 3)).padStart(4, '0')}_img_${k % 3}.jpg`;
    writeFileSync(join(md, name), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.from(`${m}/${name}`), Buffer.from([0xff, 0xd9])]));
  }
}
const files = movies * perMovie;
// As for a dataset written long ago: the file-state cache does not keep hashes of files
// modified in the last 2 s, so without this the warm listings would hash everything again.
ageFiles(dir);

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function baseline(): Promise<number> {
  const t0 = process.hrtime.bigint();
  const limit = pLimit(32);
  const root = join(dir, '240P');
  const ids = readdirSync(root);
  let n = 0;
  await Promise.all(
    ids.map((id) =>
      limit(async () => {
        for (const f of await readdir(join(root, id))) {
          statSync(join(root, id, f));
          n++;
        }
      }),
    ),
  );
  if (n !== files) throw new Error(`baseline saw ${n} files`);
  return seconds(t0);
}

const engineCtx = testContext(ws, { stage: 'frames', params: { dataset: { source: 'movienet', root: dir } }, declared: ['dataset', 'frames'] });
let hashSeconds = 0;
// The engine's context, timing its hashFiles.
const ctx: typeof engineCtx = {
  ...engineCtx,
  async hashFiles(paths) {
    const t0 = process.hrtime.bigint();
    try {
      return await engineCtx.hashFiles(paths);
    } finally {
      hashSeconds += seconds(t0);
    }
  },
};
/** Total listing time, and the part spent outside hashFiles (the stage's own work). */
async function listing(): Promise<[number, number]> {
  const t0 = process.hrtime.bigint();
  const before = hashSeconds;
  const items = await frames.listItems!(ctx);
  if (items.length !== movies) throw new Error(`listed ${items.length} movies`);
  const total = seconds(t0);
  return [total, total - (hashSeconds - before)];
}

await stat(dir);
const [cold] = await listing();
const warm: number[] = [];
const own: number[] = [];
const base: number[] = [];
for (let r = 0; r < repeat; r++) {
  base.push(await baseline());
  const [w, o] = await listing();
  warm.push(w);
  own.push(o);
}
const { hashed, reused } = ws.files;
ws.cleanup();

const b = median(base);
console.log(`frames listing (movienet source): ${movies} movies x ${perMovie} files = ${files} files; median of ${repeat}`);
console.log('| step | time | x baseline |');
console.log('|---|---|---|');
console.log(`| readdir + stat every file (baseline) | ${b.toFixed(3)} s | 1.00 |`);
console.log(`| listItems, cold (hash every file) | ${cold.toFixed(3)} s | ${(cold / b).toFixed(2)} |`);
console.log(`| listItems, warm (stat + file-state cache) | ${median(warm).toFixed(3)} s | ${(median(warm) / b).toFixed(2)} |`);
console.log(`| of which outside hashFiles (readdir, parse, sort, sample, build sources) | ${median(own).toFixed(3)} s | ${(median(own) / b).toFixed(2)} |`);
console.log(`files hashed: ${hashed}, reused: ${reused}`);
