// The demo's first impression, through the real CLI in a temp workspace (pipeline.yaml and conf/
// copied from the repository): the wall time of a whole `pipeline run` with the default conf
// (what `npm ci && npx pipeline run` does on a fresh clone), the time of each stage, and what
// the train stage selected and the metrics stage scored (the model's and the mean_mlp
// baseline's test mAP).
//
// Then, in the same workspace (frames, embed, fixlen and labels cached), the train and metrics
// stages again with the defaults this project had before train.rnn onnx (rnn fast, 6 epochs,
// batch 32): the baseline of the ratios printed at the end. The machine's load average is
// printed beside the figures: on a shared machine they are noisy.
//
//   node dist/bench/train-demo.js                      default conf, then the old defaults
//   node dist/bench/train-demo.js -p train.seed=1      extra -p overrides for every run
//   node dist/bench/train-demo.js --no-compare         skip the old-defaults run
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'bin', 'pipeline.js');

const OLD_DEFAULTS = ['-p', 'train.rnn=fast', '-p', 'train.epochs=6', '-p', 'train.batch_size=32'];

function pipeline(ws: string, args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: ws, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

interface FitMeta {
  model: string;
  selected_epoch: number;
  epochs_run: number;
  value: number | null;
  stopped: string;
}

interface Outcome {
  wall: number;
  stages: Array<{ name: string; state: string; seconds: number }>;
  train: FitMeta & { baseline: FitMeta | null };
  metrics: { mAP: number; baseline_mAP?: number; split: string; movies: number };
}

function run(ws: string, args: string[]): Outcome {
  const t0 = performance.now();
  const out = pipeline(ws, ['run', '--json', ...args]).trim().split('\n').at(-1)!;
  const wall = (performance.now() - t0) / 1000;
  const { stages } = JSON.parse(out) as { stages: Outcome['stages'] };
  const record = JSON.parse(pipeline(ws, ['show', 'latest', '--json'])) as {
    record: { stages: Record<string, { output: { meta: unknown } }> };
  };
  const meta = (stage: string): unknown => record.record.stages[stage]!.output.meta;
  return { wall, stages, train: meta('train') as Outcome['train'], metrics: meta('metrics') as Outcome['metrics'] };
}

function report(label: string, o: Outcome, load: [number, number]): void {
  const f = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : v.toFixed(3));
  const ran = o.stages.filter((s) => s.state === 'ran').map((s) => `${s.name} ${s.seconds.toFixed(1)} s`);
  console.log(`${label}: ${o.wall.toFixed(1)} s wall (load average ${load[0].toFixed(1)} -> ${load[1].toFixed(1)})`);
  console.log(`  ran: ${ran.join(', ')}`);
  const t = o.train;
  console.log(`  ${t.model}: selected epoch ${t.selected_epoch} of ${t.epochs_run} (${t.stopped}), val weighted F1 ${f(t.value)}; test mAP ${f(o.metrics.mAP)} (${o.metrics.movies} ${o.metrics.split} movies)`);
  if (t.baseline !== null) {
    console.log(`  mean_mlp baseline: selected epoch ${t.baseline.selected_epoch} of ${t.baseline.epochs_run}, val weighted F1 ${f(t.baseline.value)}; test mAP ${f(o.metrics.baseline_mAP)}`);
  }
}

const seconds = (o: Outcome, stage: string): number => o.stages.find((s) => s.name === stage)?.seconds ?? NaN;

function main(): void {
  const args = process.argv.slice(2);
  const compare = !args.includes('--no-compare');
  const extra = args.filter((a) => a !== '--no-compare');
  const ws = mkdtempSync(join(tmpdir(), 'bench-train-demo-'));
  try {
    for (const p of ['pipeline.yaml', 'conf', 'schema']) if (existsSync(join(repo, p))) cpSync(join(repo, p), join(ws, p), { recursive: true });
    const l0 = loadavg()[0]!;
    const fresh = run(ws, extra);
    report('whole demo, default conf, fresh workspace', fresh, [l0, loadavg()[0]!]);
    if (!compare) return;
    const l1 = loadavg()[0]!;
    const old = run(ws, [...OLD_DEFAULTS, ...extra]);
    report(`train + metrics with the old defaults (${OLD_DEFAULTS.filter((a) => a !== '-p').join(' ')})`, old, [l1, loadavg()[0]!]);
    const ratio = (a: number, b: number): string => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : 'n/a');
    console.log('');
    console.log('| conf | train stage s | epochs run | test mAP | baseline test mAP |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [label, o] of [['old defaults', old], ['default', fresh]] as const) {
      console.log(`| ${label} | ${seconds(o, 'train').toFixed(1)} | ${o.train.epochs_run} | ${o.metrics.mAP.toFixed(3)} | ${o.metrics.baseline_mAP?.toFixed(3) ?? 'n/a'} |`);
    }
    console.log(`train stage time, default / old defaults: ${ratio(seconds(fresh, 'train'), seconds(old, 'train'))}; seconds per epoch: ${ratio(seconds(fresh, 'train') / fresh.train.epochs_run, seconds(old, 'train') / old.train.epochs_run)}`);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

main();
