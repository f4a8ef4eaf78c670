// Benchmark of the embed stage, with a model of CLIP ViT-B/32's exact architecture (random
// weights, built by bench/onnx-vit.ts: no network, no Python) on 426x240 JPEG frames (the demo's
// keyframes, MovieNet's 240P size). Prints, all measured in the same run:
//
//   raw       inference img/s on ready tensors (batch of embed.batch_size), in process and on
//             the worker thread the stage uses
//   e2e       end-to-end img/s: JPEG files -> .npy in the store, through the embed kind's run()
//             (decode + preprocess overlapping inference); target >= 0.9 x raw
//   rss       peak RSS of a child process embedding N frames, for each N of --rss-frames (it
//             must stay flat as N grows)
//   incr      re-running `pipeline run embed` (the real CLI) after adding 1 movie to --movies,
//             as a ratio to embedding that movie alone (a process that renders it and embeds it)
//
// Usage (after `npx tsc -p tsconfig.json`):
//   node dist/bench/embed-throughput.js [--frames 2000] [--batch 32] [--threads 0]
//       [--encoder onnx|builtin] [--model FILE] [--provider cpu|webgpu|cuda] [--dtype float32|float16]
//       [--rss-frames 2000,20000] [--movies 200] [--skip raw,e2e,rss,incr] [--cache DIR]
// On 2 cores at ~40 img/s, --rss-frames 20000 alone takes ~8 minutes; pass smaller counts to
// try it out. The model (~350 MB) and frames are cached in --cache (default: the OS temp
// folder), never in the repository.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Conf } from '../src/params.js';
import { LocalStore } from '../src/store.js';
import type { ItemOutput, ItemTask } from '../src/stage-api.js';
import { hashBytes } from '../src/hash.js';
import { OnnxEncoder } from '../stages/clip/onnx-encoder.js';
import type { Provider } from '../stages/clip/onnx-encoder.js';
import { OnnxThreadEncoder } from '../stages/clip/onnx-thread.js';
import { CLIP_PIXELS, clipPixels } from '../stages/clip/preprocess.js';
import type { FrameEntry, FrameList } from '../stages/data/frame-list.js';
import { renderDemoMovie } from '../stages/data/demo-render.js';
import embed from '../stages/embed.js';
import { RecordingSink, testContext, testWorkspace, type TestWorkspace } from '../fixtures-lib/stage-ctx.js';
import { VIT_B32, vitParameterCount, writeVitOnnx } from '../fixtures-lib/onnx-vit.js';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SELF = fileURLToPath(import.meta.url);

interface Args {
  frames: number;
  batch: number;
  threads: number;
  encoder: 'onnx' | 'builtin';
  model: string | undefined;
  provider: Provider;
  dtype: 'float32' | 'float16';
  rssFrames: number[];
  movies: number;
  skip: Set<string>;
  cache: string;
  child: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else m.set(a.slice(2), argv[++i] ?? '');
  }
  const num = (k: string, d: number): number => {
    const v = m.has(k) ? Number(m.get(k)) : d;
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} must be a number`);
    return v;
  };
  return {
    frames: num('frames', 2000),
    batch: num('batch', 32),
    threads: num('threads', 0),
    encoder: (m.get('encoder') ?? 'onnx') as Args['encoder'],
    model: m.get('model'),
    provider: (m.get('provider') ?? 'cpu') as Provider,
    dtype: (m.get('dtype') ?? 'float32') as Args['dtype'],
    rssFrames: (m.get('rss-frames') ?? '2000,20000').split(',').filter(Boolean).map(Number),
    movies: num('movies', 200),
    skip: new Set((m.get('skip') ?? '').split(',').filter(Boolean)),
    cache: m.get('cache') ?? join(tmpdir(), 'pipeline-bench'),
    child: m.get('child'),
  };
}

/** The ViT-B/32-shaped model, built once into the cache folder. */
function ensureModel(a: Args): string {
  if (a.model !== undefined) return resolve(a.model);
  const path = join(a.cache, `vit-b32-${a.dtype}-seed0.onnx`);
  if (!existsSync(path)) {
    const t = performance.now();
    const r = writeVitOnnx(path, { ...VIT_B32, dtype: a.dtype });
    log(`built ${path}: ${(r.parameters / 1e6).toFixed(1)} M parameters, ${(r.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return path;
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

/** Distinct demo keyframes (426x240 JPEG) in the store: at least `n`, from demo movies 1, 2, ... */
async function framePool(store: LocalStore, n: number): Promise<FrameEntry[]> {
  const pool: FrameEntry[] = [];
  for (let index = 1; pool.length < n; index++) {
    for (const f of await renderDemoMovie(0, index)) {
      pool.push({ name: f.name, shot: f.shot, img: f.img, hash: await store.put(f.jpeg) });
    }
  }
  return pool;
}

/** `frames` frames as movies of 24 (the demo's mean), cycling over the pool (the same file may serve many movies). */
async function movieTasks(store: LocalStore, pool: readonly FrameEntry[], frames: number, prefix = 'tt8'): Promise<ItemTask[]> {
  const tasks: ItemTask[] = [];
  for (let start = 0, m = 0; start < frames; start += 24, m++) {
    const id = `${prefix}${String(m).padStart(6, '0')}`;
    const list: FrameList = { movie: id, source: 'demo', frames: [] };
    for (let k = start; k < Math.min(frames, start + 24); k++) list.frames.push({ ...pool[k % pool.length]!, name: `frame_${k}.jpg` });
    const listHash = await store.put(JSON.stringify(list));
    const upstream: ItemOutput = { tree: { [`${id}.json`]: listHash }, meta: { frames: list.frames.length } };
    tasks.push({ id, input: hashBytes(listHash), upstream });
  }
  return tasks;
}

/** The conf's embed section for this run. */
function embedParams(a: Args, model: string): Conf {
  return {
    encoder: a.encoder,
    ...(a.encoder === 'onnx' ? { model } : {}),
    provider: a.provider,
    batch_size: a.batch,
    threads: a.threads,
  };
}

/** The embed kind's context in a workspace, as the engine would build it. */
function embedCtx(ws: TestWorkspace, a: Args, model: string) {
  return testContext(ws, { stage: 'embed', params: { embed: embedParams(a, model) } });
}

/** Embeds `frames` frames through the kind's run(); returns seconds (without opening the encoder) and the open time. */
async function endToEnd(a: Args, model: string, frames: number, timeOpen = true): Promise<{ seconds: number; open: number; done: number; failed: number }> {
  const ws = testWorkspace(`e2e-${process.pid}-`, a.cache);
  const store = ws.store;
  try {
    const pool = await framePool(store, Math.min(frames, 480));
    const tasks = await movieTasks(store, pool, frames);
    // The encoder's start (worker thread, model load) is timed apart: raw excludes it too.
    let open = 0;
    if (a.encoder === 'onnx' && timeOpen) {
      const t = performance.now();
      const enc = await OnnxThreadEncoder.open({ modelPath: model, provider: a.provider, threads: a.threads, batchSize: a.batch });
      await enc.close();
      open = (performance.now() - t) / 1000;
    }
    const ctx = embedCtx(ws, a, model);
    const rec = new RecordingSink();
    const t = performance.now();
    await embed.run(ctx, tasks, rec);
    const seconds = (performance.now() - t) / 1000 - open;
    return { seconds, open, done: rec.outputs.size, failed: rec.failures.size };
  } finally {
    ws.cleanup();
  }
}

/**
 * Inference alone on ready tensors: in process (onnxruntime's threads spinning or not: the
 * stage turns spinning off) and through the worker thread the stage uses.
 */
async function raw(a: Args, model: string): Promise<{ inProcess: number; inProcessSpin: number; worker: number; batch: number }> {
  const dir = join(a.cache, `raw-${process.pid}`);
  const store = new LocalStore(join(dir, 'cache'));
  const pool = await framePool(store, a.batch);
  const batch = new Float32Array(a.batch * CLIP_PIXELS);
  for (let i = 0; i < a.batch; i++) await clipPixels(store.path(pool[i]!.hash), batch.subarray(i * CLIP_PIXELS, (i + 1) * CLIP_PIXELS));
  rmSync(dir, { recursive: true, force: true });
  const opts = { modelPath: model, provider: a.provider, threads: a.threads, batchSize: a.batch };
  const reps = Math.max(2, Math.ceil(96 / a.batch));
  const inProcessRate = async (spin: boolean): Promise<number> => {
    const enc = await OnnxEncoder.open({ ...opts, spin });
    try {
      await enc.infer(batch, a.batch); // warm-up
      const t = performance.now();
      for (let r = 0; r < reps; r++) await enc.infer(batch, a.batch);
      return (reps * a.batch) / ((performance.now() - t) / 1000);
    } finally {
      await enc.close();
    }
  };
  const inProcess = await inProcessRate(false);
  const inProcessSpin = await inProcessRate(true);
  const thread = await OnnxThreadEncoder.open(opts);
  let worker: number;
  try {
    let buf: Float32Array = batch;
    buf = (await thread.infer(buf, a.batch)).batch;
    const t = performance.now();
    for (let r = 0; r < reps; r++) buf = (await thread.infer(buf, a.batch)).batch;
    worker = (reps * a.batch) / ((performance.now() - t) / 1000);
  } finally {
    await thread.close();
  }
  return { inProcess, inProcessSpin, worker, batch: a.batch };
}

function childArgs(a: Args, model: string, extra: string[]): string[] {
  return [SELF, '--encoder', a.encoder, ...(a.encoder === 'onnx' ? ['--model', model] : []), '--provider', a.provider, '--batch', String(a.batch), '--threads', String(a.threads), '--cache', a.cache, ...extra];
}

function runChild(args: string[]): Promise<{ json: Record<string, number>; wall: number }> {
  return new Promise((res, rej) => {
    const t = performance.now();
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', rej);
    p.on('exit', (code) => {
      const wall = (performance.now() - t) / 1000;
      if (code !== 0) rej(new Error(`child ${args.join(' ')} exited with ${code}`));
      else res({ json: JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>, wall });
    });
  });
}

/** Child: embed N frames end to end, report peak RSS. */
async function childE2e(a: Args, model: string): Promise<void> {
  // No separate timing of the encoder's start here: a second model load would count in the peak.
  const r = await endToEnd(a, model, a.frames, false);
  const rss = process.resourceUsage().maxRSS / 1024; // KiB -> MiB
  process.stdout.write(`${JSON.stringify({ frames: a.frames, seconds: r.seconds, maxRssMiB: rss, done: r.done })}\n`);
}

/** Child: render one demo movie into a fresh store and embed it alone (what an incremental run must do). */
async function childAlone(a: Args, model: string, index: number): Promise<void> {
  const ws = testWorkspace(`alone-${process.pid}-`, a.cache);
  const store = ws.store;
  try {
    const frames = await renderDemoMovie(0, index);
    const id = `tt${9_000_000 + index}`;
    const list: FrameList = { movie: id, source: 'demo', frames: [] };
    for (const f of frames) list.frames.push({ name: f.name, shot: f.shot, img: f.img, hash: await store.put(f.jpeg) });
    const listHash = await store.put(JSON.stringify(list));
    const task: ItemTask = { id, input: hashBytes(listHash), upstream: { tree: { [`${id}.json`]: listHash }, meta: { frames: frames.length } } };
    const rec = new RecordingSink();
    await embed.run(embedCtx(ws, a, model), [task], rec);
    if (rec.outputs.size !== 1) throw new Error(`embedding ${id} alone failed: ${String(rec.failures.get(id))}`);
    process.stdout.write(`${JSON.stringify({ frames: frames.length })}\n`);
  } finally {
    ws.cleanup();
  }
}

function cli(ws: string, args: string[]): number {
  const t = performance.now();
  execFileSync(process.execPath, [join(PACKAGE_ROOT, 'bin', 'pipeline.js'), '-C', ws, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return (performance.now() - t) / 1000;
}

async function incremental(a: Args, model: string): Promise<{ initial: number; incr: number; alone: number; frames: number }> {
  const ws = join(a.cache, `ws-${process.pid}`);
  rmSync(ws, { recursive: true, force: true });
  mkdirSync(join(ws, 'conf'), { recursive: true });
  execFileSync('cp', [join(PACKAGE_ROOT, 'pipeline.yaml'), ws]);
  execFileSync('cp', [join(PACKAGE_ROOT, 'conf', 'default.yaml'), join(ws, 'conf')]);
  const overrides = Object.entries(embedParams(a, model)).flatMap(([k, v]) => ['-p', `embed.${k}=${String(v)}`]);
  const run = (movies: number): number => cli(ws, ['run', 'embed', '-p', 'dataset.source=demo', '-p', `dataset.movies=${movies}`, ...overrides]);
  try {
    const initial = run(a.movies);
    const incr = run(a.movies + 1);
    const alone = await runChild(childArgs(a, model, ['--child', `alone:${a.movies + 1}`]));
    return { initial, incr, alone: alone.wall, frames: alone.json.frames! };
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  mkdirSync(a.cache, { recursive: true });
  const model = a.encoder === 'onnx' ? ensureModel(a) : '';
  if (a.child === 'e2e') return childE2e(a, model);
  if (a.child?.startsWith('alone:')) return childAlone(a, model, Number(a.child.slice(6)));

  // Figures go to stdout as they are measured (a full run is long); progress notes to stderr.
  const say = (s: string): void => {
    process.stdout.write(`${s}\n`);
  };
  say(`embed bench: encoder ${a.encoder}${a.encoder === 'onnx' ? ` (ViT-B/32 shape, ${(vitParameterCount(VIT_B32) / 1e6).toFixed(1)} M parameters, ${a.dtype}, ${(statSync(model).size / 1e6).toFixed(0)} MB)` : ''}, provider ${a.provider}, batch ${a.batch}, threads ${a.threads || 'auto'}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`);
  // Raw is measured before and after end-to-end, and the ratio uses their mean, so that a
  // change in machine load during the run shows (the two raw figures differ) and weighs less.
  const rawRates: number[] = [];
  const measureRaw = async (when: string): Promise<void> => {
    const r = await raw(a, model);
    rawRates.push(r.worker);
    say(`raw inference (${when}), ready tensors, batch ${r.batch}: ${r.worker.toFixed(1)} img/s on the worker thread (as the stage runs it); in process ${r.inProcess.toFixed(1)} img/s, ${r.inProcessSpin.toFixed(1)} with onnxruntime's threads spinning`);
  };
  const doRaw = a.encoder === 'onnx' && !a.skip.has('raw');
  if (doRaw) await measureRaw('before');
  if (!a.skip.has('e2e')) {
    const r = await endToEnd(a, model, a.frames);
    const rate = r.done > 0 ? a.frames / r.seconds : 0;
    say(`end to end, ${a.frames} JPEG frames -> .npy: ${rate.toFixed(1)} img/s (${r.seconds.toFixed(1)} s; encoder start ${r.open.toFixed(1)} s not counted; ${r.done} movies, ${r.failed} failed)`);
    if (doRaw) {
      await measureRaw('after');
      const mean = rawRates.reduce((x, y) => x + y, 0) / rawRates.length;
      say(`e2e / raw (worker, mean of before and after) = ${(rate / mean).toFixed(2)} (target >= 0.9)`);
    }
  }
  if (!a.skip.has('rss')) {
    const rss: string[] = [];
    for (const n of a.rssFrames) {
      const r = await runChild(childArgs(a, model, ['--child', 'e2e', '--frames', String(n)]));
      rss.push(`${n} frames: ${r.json.maxRssMiB!.toFixed(0)} MiB`);
    }
    say(`peak RSS embedding ${rss.join(', ')}`);
  }
  if (!a.skip.has('incr')) {
    const r = await incremental(a, model);
    say(
      `incremental: pipeline run embed over ${a.movies} demo movies ${r.initial.toFixed(1)} s; after adding 1 movie (${r.frames} frames) ${r.incr.toFixed(1)} s; ` +
        `that movie alone (render + embed, own process) ${r.alone.toFixed(1)} s; ratio ${(r.incr / r.alone).toFixed(2)}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  });
}
