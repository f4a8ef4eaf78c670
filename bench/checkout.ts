// Checkout time, copy (the default: reflinks where the file system can, else plain copies)
// against hard links (the opt-in), with the project's own Checkout (src/outputs.ts):
//
// - demo: the outputs of a demo run (`pipeline run` in a fresh workspace first, not timed),
//   every stage's tree checked out into an empty folder;
// - embeddings: synthetic embeddings-sized objects ([frames, 512] float32 per movie, --mib
//   each), --gb in all, put in a store and checked out into an empty folder.
//
// Baseline in the same run: hard links (x1.00); copy is given as a ratio to it. A second
// checkout of the same run (nothing changed: one stat per file) is timed too.
//
//   node dist/bench/checkout.js [--gb 10] [--mib 2] [--demo-movies 200] [--epochs 24] [--repeat 3] [--dir DIR]
//   small: node dist/bench/checkout.js --gb 0.25 --demo-movies 16 --epochs 3 --repeat 1
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Checkout, type CheckoutMethod } from '../src/outputs.js';
import type { Tree } from '../src/stage-api.js';
import { LocalStore } from '../src/store.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const CLI = join(ROOT, 'bin', 'pipeline.js');

const { values } = parseArgs({
  options: {
    gb: { type: 'string', default: '10' },
    mib: { type: 'string', default: '2' },
    'demo-movies': { type: 'string', default: '200' },
    epochs: { type: 'string', default: '24' },
    repeat: { type: 'string', default: '3' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const repeat = Math.max(1, Number(values.repeat));
const work = mkdtempSync(join(values.dir ?? tmpdir(), 'pipeline-bench-checkout-'));

function fsType(dir: string): string {
  const r = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

interface Case {
  name: string;
  store: LocalStore;
  /** base folder (relative to the target) -> tree */
  trees: Record<string, Tree>;
  bytes: number;
}

/** Median seconds of a first checkout into an empty folder, and of a second one (no change). */
function time(c: Case, method: CheckoutMethod): { first: number; again: number } {
  const firsts: number[] = [];
  const agains: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const to = join(work, `to-${method}-${r}`);
    const co = new Checkout(c.store, join(to, '.state.json'), to, { method });
    let t = performance.now();
    for (const [base, tree] of Object.entries(c.trees)) co.write(join(to, base), base, tree, { link: true });
    co.save();
    firsts.push((performance.now() - t) / 1000);
    const co2 = new Checkout(c.store, join(to, '.state.json'), to, { method });
    t = performance.now();
    for (const [base, tree] of Object.entries(c.trees)) co2.write(join(to, base), base, tree, { link: true });
    agains.push((performance.now() - t) / 1000);
    rmSync(to, { recursive: true, force: true });
  }
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { first: median(firsts), again: median(agains) };
}

function report(c: Case): void {
  const files = Object.values(c.trees).reduce((n, t) => n + Object.keys(t).length, 0);
  const link = time(c, 'link');
  const copy = time(c, 'copy');
  const gb = c.bytes / 1e9;
  console.log(`\n${c.name}: ${files} files, ${gb.toFixed(3)} GB`);
  console.log('| method | first checkout s | x link | GB/s | no-change checkout s | x link |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const row = (m: string, r: { first: number; again: number }): void =>
    console.log(`| ${m} | ${r.first.toFixed(3)} | ${(r.first / link.first).toFixed(2)} | ${(gb / r.first).toFixed(2)} | ${r.again.toFixed(4)} | ${(r.again / link.again).toFixed(2)} |`);
  row('link (baseline, opt-in)', link);
  row('copy (default: reflink where possible)', copy);
}

function demoCase(): Case {
  const ws = join(work, 'demo');
  mkdirSync(join(ws, 'conf'), { recursive: true });
  writeFileSync(join(ws, 'pipeline.yaml'), readFileSync(join(ROOT, 'pipeline.yaml')));
  writeFileSync(join(ws, 'conf', 'default.yaml'), readFileSync(join(ROOT, 'conf', 'default.yaml')));
  console.log(`demo: pipeline run with ${values['demo-movies']} movies, ${values.epochs} epochs (not timed) ...`);
  const r = spawnSync(process.execPath, [CLI, 'run', '-p', `dataset.movies=${values['demo-movies']}`, '-p', `train.epochs=${values.epochs}`], {
    cwd: ws,
    env: { ...process.env, CI: '1' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`demo run failed:\n${r.stdout}\n${r.stderr}`);
  const state = JSON.parse(readFileSync(join(ws, 'cache', 'checkout.json'), 'utf8')) as Record<string, { files: Tree }>;
  const store = new LocalStore(join(ws, 'cache'));
  const trees: Record<string, Tree> = {};
  let bytes = 0;
  for (const [base, s] of Object.entries(state)) {
    trees[base] = s.files;
    for (const h of Object.values(s.files)) bytes += readFileSync(store.path(h)).length;
  }
  return { name: 'demo outputs', store, trees, bytes };
}

async function embeddingsCase(): Promise<Case> {
  const size = Math.round(Number(values.mib) * 1024 * 1024);
  const count = Math.max(1, Math.round((Number(values.gb) * 1e9) / size));
  const store = new LocalStore(join(work, 'emb-cache'));
  const tree: Tree = {};
  const buf = Buffer.alloc(size);
  console.log(`embeddings: writing ${count} objects of ${(size / 1048576).toFixed(1)} MiB to the store (not timed) ...`);
  for (let i = 0; i < count; i++) {
    // Distinct bytes per object (so they are distinct objects); content is irrelevant to the cost.
    for (let k = 0; k < size; k += 4096) buf.writeUInt32LE((i * 2654435761 + k) >>> 0, k);
    tree[`tt${String(9_000_000 + i)}.npy`] = await store.put(buf);
  }
  return { name: 'embeddings-sized files', store, trees: { embed: tree }, bytes: count * size };
}

try {
  console.log(`file system of ${work}: ${fsType(work)}`);
  report(demoCase());
  report(await embeddingsCase());
} finally {
  if (!values.keep) rmSync(work, { recursive: true, force: true });
}
