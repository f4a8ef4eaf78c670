// Cost of the metrics stage's own work, which every `pipeline run` that retrains pays:
// - the metric math on an [M,21] score matrix, against its floor (sorting each genre's column
//   once, which any exact AP needs);
// - the whole report (metrics, tables, three SVG charts and their PNGs through sharp), against
//   the metric math alone.
// Ratios are measured within one run; absolute times are printed too.
//
// Run: npx tsc -p tsconfig.json && node dist/bench/metrics-report.js [--reps 10]
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { multiLabelMetrics } from '../stages/report/metrics-math.js';
import { buildReport } from '../stages/report/report.js';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '10' } } });
const reps = Number(values.reps);
const G = 21;
const GENRES = ['Drama', 'Comedy', 'Thriller', 'Action', 'Romance', 'Horror', 'Crime', 'Documentary', 'Adventure', 'Sci-Fi', 'Family', 'Fantasy', 'Mystery', 'Biography', 'Animation', 'History', 'Music', 'War', 'Sport', 'Musical', 'Western'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(fn: () => unknown): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

function data(M: number): { scores: Float32Array; targets: Int8Array } {
  const rng = seedrandom('metrics-bench');
  const scores = new Float32Array(M * G);
  const targets = new Int8Array(M * G);
  for (let i = 0; i < M * G; i++) {
    targets[i] = rng() < 0.15 ? 1 : 0;
    // Rounded to 2 decimals, so that many scores tie, as a sigmoid's often do.
    scores[i] = Math.round(Math.min(1, Math.max(0, 0.3 * targets[i]! + rng() * 0.7)) * 100) / 100;
  }
  return { scores, targets };
}

console.log(`median of ${reps} runs; G=${G} genres`);
for (const M of [220, 5000]) {
  const { scores, targets } = data(M);
  const sortFloor = await time(() => {
    for (let j = 0; j < G; j++) {
      const col = new Float64Array(M);
      for (let i = 0; i < M; i++) col[i] = scores[i * G + j]!;
      col.sort();
    }
  });
  const math = await time(() => multiLabelMetrics({ scores, targets, rows: M, cols: G }, 0.5));
  console.log(`M=${String(M).padStart(5)} movies: metric math ${math.toFixed(2).padStart(8)} ms = ${(math / sortFloor).toFixed(1)}x sorting each column (${sortFloor.toFixed(2)} ms)`);
}

const M = 220;
const { scores, targets } = data(M);
const ids = Array.from({ length: M }, (_, i) => `tt${String(i).padStart(7, '0')}`);
const history = { epochs: Array.from({ length: 100 }, (_, e) => ({ epoch: e + 1, train_loss: 1 / (e + 1), val_loss: 0.5, val_map: 0.4, val_weighted_f1: 0.4 })), selected: { epoch: 50, metric: 'val_map', value: 0.4 } };
const math = await time(() => multiLabelMetrics({ scores, targets, rows: M, cols: G }, 0.5));
for (const pngScale of [1, 2]) {
  const report = await time(() =>
    buildReport({ model: 'bilstm', predictions: scores, history, genres: GENRES, ids, targets, split: 'test', requestedSplit: 'test', threshold: 0.5, missing: [], baseline: { model: 'mean-pool MLP', predictions: scores, history: null }, outDir: 'outputs/metrics', pngScale }),
  );
  console.log(`full report (M=${M}, model + baseline, 3 charts, PNG scale ${pngScale}): ${report.toFixed(1)} ms = ${(report / math).toFixed(0)}x the metric math alone (${math.toFixed(2)} ms)`);
}
