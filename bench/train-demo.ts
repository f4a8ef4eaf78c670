// Wall time of the demo's train stage with the default conf, through the real CLI, and the
// epochs to the selected model. Builds the demo's inputs first (frames, embed, fixlen, labels:
// not timed), then times `pipeline run train` (model + mean_mlp baseline) in a temp workspace.
// The machine's load average is printed beside the figures: on a shared machine they are
// noisy.
//
//   node dist/bench/train-demo.js                    default conf
//   node dist/bench/train-demo.js -p train.epochs=3  extra -p overrides for the train run
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'bin', 'pipeline.js');

function pipeline(ws: string, args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: ws, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

interface TrainMeta {
  model: string;
  selected_epoch: number;
  epochs_run: number;
  value: number | null;
  stopped: string;
  baseline: { selected_epoch: number; epochs_run: number; value: number | null } | null;
}

function main(): void {
  const extra = process.argv.slice(2);
  const ws = mkdtempSync(join(tmpdir(), 'bench-train-demo-'));
  try {
    for (const p of ['pipeline.yaml', 'conf', 'schema']) if (existsSync(join(repo, p))) cpSync(join(repo, p), join(ws, p), { recursive: true });
    const t0 = performance.now();
    pipeline(ws, ['run', 'fixlen', 'labels', ...extra]);
    console.log(`inputs (frames, embed, fixlen, labels) built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const load0 = loadavg()[0]!;
    const out = pipeline(ws, ['run', 'train', '--json', ...extra]).trim().split('\n').at(-1)!;
    const run = JSON.parse(out) as { stages: Array<{ name: string; state: string; seconds: number }> };
    const stage = run.stages.find((s) => s.name === 'train')!;
    const record = JSON.parse(pipeline(ws, ['show', 'latest', '--json'])) as {
      record: { stages: Record<string, { output: { meta: TrainMeta } }> };
    };
    const meta = record.record.stages['train']!.output.meta;
    const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));
    console.log(`train stage (${meta.model} + mean_mlp baseline): ${stage.seconds.toFixed(1)} s wall (${stage.state}), load average ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
    console.log(`  ${meta.model}: selected epoch ${meta.selected_epoch} of ${meta.epochs_run} (${meta.stopped}), val weighted F1 ${f(meta.value)}`);
    if (meta.baseline !== null) {
      console.log(`  mean_mlp baseline: selected epoch ${meta.baseline.selected_epoch} of ${meta.baseline.epochs_run}, val weighted F1 ${f(meta.baseline.value)}`);
    }
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

main();
