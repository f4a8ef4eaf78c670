// `pipeline ui` in headless Chromium: time to first render of the runs page over N recorded
// runs (default 1,000; target <= 1 s) and of the demo's run page (target <= 0.5 s), and what
// the live feed costs a running `pipeline run` (target < 2 %), and how soon a run's progress
// reaches an open page (target < 1 s).
//
// - Runs page: N runs recorded synthetically through the real store and run index
//   (fixtures-lib/experiment-runs.ts), from navigation to the table's first rows on screen; the
//   first load (the server reads every record) and the best of the later ones.
// - Run page: a real tiny demo run, from navigation to the per-genre table and the three charts.
// - Baseline in the same run: the same page on a workspace without runs (loading the bundle and
//   rendering "no runs yet"), so a ratio shows what the data costs on top of the page itself.
// - Live feed: the same tiny demo run, in process, with the publisher attached; the time spent
//   in its listener and writes against the run's wall time (see below); then a flood of item events.
//
//   node dist/bench/ui-render.js [--runs 1000] [--repeat 3] [--movies 12 --epochs 3] [--keep]
//   (--movies 200 --epochs 24: the run page of the full default demo; its run takes minutes)
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify, parse } from 'yaml';
import { chromium, type BrowserContext } from 'playwright-core';
import { Engine } from '../src/engine/index.js';
import { loadProject } from '../src/spec.js';
import { PACKAGE_ROOT } from '../src/version.js';
import type { EngineEvent } from '../src/events.js';
import { LIVE_FILE, livePublisher } from '../src/web/live-feed.js';
import { startUiServer, type UiServer } from '../src/web/server.js';
import { registerBuiltins } from '../stages/register.js';
import { addFakeRun, openFake } from '../fixtures-lib/experiment-runs.js';

// The built-in kinds and results reader, as the CLI's composition root registers them.
registerBuiltins();

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
    movies: { type: 'string', default: '12' },
    epochs: { type: 'string', default: '3' },
  },
});
const N = Number(values.runs);
const repeat = Math.max(2, Number(values.repeat));
const dirs: string[] = [];
const tmp = (name: string): string => {
  const d = mkdtempSync(join(tmpdir(), `pipeline-bench-ui-${name}-`));
  dirs.push(d);
  return d;
};

function cmdWorkspace(): string {
  const dir = tmp('runs');
  writeFileSync(join(dir, 'pipeline.yaml'), 'stages:\n  s:\n    cmd: "true"\n    outs: [out]\n');
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'default.yaml'), 'a: 1\n');
  return dir;
}

function demoWorkspace(): string {
  const dir = tmp('demo');
  const conf = parse(readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  // --movies 200 --epochs 24: the default demo (minutes to train); the default here is a tiny one.
  const full = Number(values.movies) >= 200;
  Object.assign(conf.dataset!, { movies: Number(values.movies) });
  Object.assign(conf.train!, { epochs: Number(values.epochs) });
  if (!full) {
    Object.assign(conf.frames!, { max_frames: 8 });
    Object.assign(conf.fixlen!, { length: 16 });
    Object.assign(conf.train!, { hidden: 32 });
  }
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'pipeline.yaml'), readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml')));
  writeFileSync(join(dir, 'conf', 'default.yaml'), stringify(conf));
  return dir;
}

async function launch(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(tmp('chromium'), {
    executablePath: process.env.PIPELINE_TEST_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1300, height: 900 },
  });
}

/** Seconds from navigation to `selector` on screen, in a fresh tab (the cookie already set). */
async function firstRender(browser: BrowserContext, url: string, selector: string): Promise<number> {
  const page = await browser.newPage();
  const t0 = performance.now();
  await page.goto(url);
  await page.waitForSelector(selector, { timeout: 60_000 });
  const t = (performance.now() - t0) / 1000;
  await page.close();
  return t;
}

async function measure(browser: BrowserContext, ui: UiServer, hash: string, selector: string): Promise<{ first: number; best: number }> {
  const origin = new URL(ui.url).origin;
  // The first visit trades the token for the cookie; it is not timed.
  const p = await browser.newPage();
  await p.goto(ui.url);
  await p.close();
  const first = await firstRender(browser, `${origin}/${hash}`, selector);
  let best = Infinity;
  for (let i = 1; i < repeat; i++) best = Math.min(best, await firstRender(browser, `${origin}/${hash}`, selector));
  return { first, best };
}

// ---- workspaces
const manyDir = cmdWorkspace();
const ws = openFake(join(manyDir, 'cache'));
const lrs = [0.001, 0.0003, 0.003, 0.0001];
const lengths = [32, 64, 128, 256];
const models = ['reference', 'bilstm_maxpool', 'gru'];
ws.state.transaction(() => {
  for (let i = 0; i < N; i++) addFakeRun(ws, { lr: lrs[i % 4]!, length: lengths[Math.floor(i / 4) % 4]!, model: models[i % 3]!, mAP: 0.3 + ((i * 37) % 100) / 500, result: String(i) }, i);
});
ws.close();
const emptyDir = cmdWorkspace();

// The demo run, in process, with the live publisher attached. Timing the publisher inside the
// run would also charge it the run's own garbage collections and the other processes of a busy
// machine, so its cost is measured apart: every event of the run replayed through a fresh
// publisher (no time passes, so no timed writes), plus as many writes of the final state as the
// run's publisher made, each timed on its own.
const demoDir = demoWorkspace();
const pub = livePublisher(join(demoDir, 'cache'));
const recorded: EngineEvent[] = [];
const engine = new Engine(loadProject({ root: demoDir }), {
  listener: (e) => {
    recorded.push(structuredClone(e));
    pub.listener(e);
  },
});
const r0 = performance.now();
const result = await engine.run();
const runMs = performance.now() - r0;
pub.close();
engine.close();
if (!result.ok) throw new Error('the demo run failed');
const replayDir = tmp('replay');
let listenerMs = Infinity;
for (let k = 0; k < 5; k++) {
  const p = livePublisher(replayDir, { everyMs: 1e9 });
  const t = performance.now();
  for (const e of recorded) if (e.type !== 'run-end') p.listener(e);
  listenerMs = Math.min(listenerMs, performance.now() - t);
  p.listener(recorded[recorded.length - 1]!); // run-end: writes the final state once
}
const finalState = readFileSync(join(replayDir, LIVE_FILE), 'utf8');
const writeTimes: number[] = [];
for (let k = 0; k < 21; k++) {
  const t = performance.now();
  writeFileSync(join(replayDir, 'w.tmp'), JSON.stringify(JSON.parse(finalState)));
  renameSync(join(replayDir, 'w.tmp'), join(replayDir, LIVE_FILE));
  writeTimes.push(performance.now() - t);
}
writeTimes.sort((a, b) => a - b);
const writeMs = writeTimes[10]!;
const publishMs = listenerMs + pub.writes * writeMs;

// A flood: 100,000 item events as fast as they come (far faster than any stage finishes items).
const floodDir = tmp('flood');
const flood = livePublisher(floodDir);
flood.listener({ type: 'run-start', stages: [{ name: 's' }] });
flood.listener({ type: 'stage-start', stage: 's', total: 100_000, toRun: 100_000 });
const f0 = performance.now();
for (let i = 1; i <= 100_000; i++) flood.listener({ type: 'item', stage: 's', item: `m${i}`, ok: true, done: i, toRun: 100_000 });
const floodMs = performance.now() - f0;
flood.close();

// ---- the pages
const browser = await launch();
const uis: UiServer[] = [];
const serve = async (root: string) => {
  const s = await startUiServer({ root, port: 0 });
  uis.push(s);
  return s;
};
const empty = await measure(browser, await serve(emptyDir), '#/', '.empty');
const many = await measure(browser, await serve(manyDir), '#/', '[data-testid=runs-table] tbody tr');
const runPage = await measure(browser, await serve(demoDir), '#/run/latest', '[data-testid=training-curves] canvas');
// Live latency: a publisher writes a new state; how long until the open live page shows it
// (publish interval + the server's poll + the event + the render; the issue asks for < 1 s).
const latencyDir = cmdWorkspace();
mkdirSync(join(latencyDir, 'cache'));
const latencyUi = await serve(latencyDir);
const lp = await browser.newPage();
await lp.goto(latencyUi.url);
await lp.goto(`${new URL(latencyUi.url).origin}/#/live`);
await lp.waitForSelector('[data-testid=live-page]');
const livePub = livePublisher(join(latencyDir, 'cache'));
livePub.listener({ type: 'run-start', stages: [{ name: 'train' }] });
livePub.listener({ type: 'stage-start', stage: 'train' });
const latencies: number[] = [];
for (let k = 1; k <= 10; k++) {
  await new Promise((r) => setTimeout(r, 250));
  const t = performance.now();
  livePub.listener({ type: 'progress', stage: 'train', update: { done: k, total: 10, message: `step ${k} of 10` } });
  await lp.waitForSelector(`[data-testid=live-stages] tr[data-stage=train]:has-text("step ${k} of 10")`, { timeout: 10_000 });
  latencies.push(performance.now() - t);
}
livePub.close();
latencies.sort((a, b) => a - b);

await browser.close();
for (const s of uis) await s.close();

const f = (s: number) => s.toFixed(3);
const x = (s: number) => `${(s / empty.best).toFixed(2)}x`;
console.log(`pipeline ui first render in headless Chromium; best of ${repeat - 1} after the first load`);
console.log('| page | first load (s) | later loads, best (s) | vs empty page |');
console.log('|---|---:|---:|---:|');
console.log(`| runs page, no runs (baseline: the bundle and an empty table) | ${f(empty.first)} | ${f(empty.best)} | 1.00x |`);
console.log(`| runs page, ${N} recorded runs (first page of 50 rows) | ${f(many.first)} | ${f(many.best)} | ${x(many.best)} |`);
console.log(`| run page of a ${values.movies}-movie demo run (genre table and 3 charts) | ${f(runPage.first)} | ${f(runPage.best)} | ${x(runPage.best)} |`);
console.log('');
console.log('| live feed | value |');
console.log('|---|---:|');
console.log(`| demo run wall time (in process) | ${(runMs / 1000).toFixed(2)} s |`);
console.log(`| engine events | ${recorded.length} |`);
console.log(`| writes of cache/live.json during the run | ${pub.writes} (${(finalState.length / 1024).toFixed(1)} KiB at the end) |`);
console.log(`| every event through the listener (replayed, best of 5) | ${listenerMs.toFixed(2)} ms |`);
console.log(`| one write (median of 21) | ${writeMs.toFixed(3)} ms |`);
console.log(`| publishing in all: listener + writes x write | ${publishMs.toFixed(2)} ms |`);
console.log(`| share of the run | ${((100 * publishMs) / runMs).toFixed(3)} % |`);
console.log(`| 100,000 item events, flood | ${floodMs.toFixed(1)} ms (${((floodMs * 1000) / 100_000).toFixed(2)} µs per event) |`);
console.log(`| run progress to the open page (publish, poll, event, render), median / max of 10 | ${latencies[5]!.toFixed(0)} / ${latencies[9]!.toFixed(0)} ms |`);
if (N >= 1000) console.log(`target: runs page over ${N} runs <= 1 s: ${many.first <= 1 ? 'met' : 'NOT met'} (first load ${f(many.first)} s)`);
console.log(`target: demo run page <= 0.5 s: ${runPage.first <= 0.5 ? 'met' : 'NOT met'} (first load ${f(runPage.first)} s)`);
console.log(`target: live feed < 2 % of a run: ${(100 * publishMs) / runMs < 2 ? 'met' : 'NOT met'}`);
console.log(`target: the page follows the run within 1 s: ${latencies[9]! < 1000 ? 'met' : 'NOT met'} (max ${latencies[9]!.toFixed(0)} ms)`);
if (values.keep) console.log(`kept: ${dirs.join(' ')}`);
else for (const d of dirs) rmSync(d, { recursive: true, force: true });
