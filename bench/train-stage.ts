// The demo's `train` stage end to end against a PyTorch twin of it, on the same data in the
// same run. Through the real CLI in a temp workspace (pipeline.yaml, conf/ and schema/ copied
// from the repository, as bench/train-demo.ts does): `pipeline run` with the default conf, the
// train stage's seconds from the run's per-stage timing (`pipeline run --json`), then `pipeline
// checkout` of that run, whose fixlen/<id>.npy features, labels/ and params.yaml the twin reads:
// bench/train-stage-torch.py trains the same models (train.model and the mean_mlp baseline)
// with the same loss, epochs, batch size, Adam and learning-rate schedule, validation and
// selection, with PyTorch's default threads (one per core) and with 1.
//
// Ratio: PyTorch seconds / the train stage's seconds (> 1: ours is faster). The stage's
// seconds hold everything the stage does (reading the features from the store, its backend and
// modules loading, both fits, saving both models and their ONNX export); PyTorch's hold the
// features read, both fits and saves, not python's and torch's start (printed apart). The
// mAPs are for information: the twin draws its own random numbers, so they should land in the
// same range, not equal ours. PyTorch's columns say "not measured" when `python3 -c "import
// torch"` fails. Figures from a shared machine are noisy: the load average is printed beside.
//
//   node dist/bench/train-stage.js                       default conf; PyTorch default threads and 1
//   node dist/bench/train-stage.js --no-torch1           skip PyTorch's 1-thread run
//   node dist/bench/train-stage.js -p train.epochs=6     -p overrides, forwarded to pipeline run
//   node dist/bench/train-stage.js --no-torch1 --pairs 5 then 4 more pairs (the train stage rerun,
//                                                         PyTorch's default threads), alternated;
//                                                         prints each pair's ratio and the median
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'bin', 'pipeline.js');
const TORCH_SCRIPT = join(repo, 'bench', 'train-stage-torch.py');
const NOT_MEASURED = 'not measured (python3 cannot import torch; pip install torch numpy)';
/** What the twin implements (bench/train-stage-torch.py). */
const TWIN_MODELS = ['bilstm_maxpool', 'mean_mlp'];
const TWIN_LOSSES = ['bce', 'bce_pos_count'];

function pipeline(ws: string, args: string[]): string {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: ws, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`pipeline ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function box(): string {
  const c = cpus()[0];
  const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.trim().split(/\s+/) ?? [];
  const simd = ['avx512f', 'avx2', 'fma'].filter((f) => flags.includes(f));
  return `${c?.model.trim() ?? '?'} x${cpus().length} (${simd.length === 0 ? 'no AVX2' : simd.join(' ')}), Node ${process.version}`;
}

function torchAvailable(): boolean {
  const r = spawnSync('python3', ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

interface SelectedEpoch {
  /** Sum of the per-epoch times (training steps + validation), as fit.ts records them. */
  epochS: number;
  epochs: number;
  selected: number;
  valMap: number | null;
  testMap: number | null;
}

interface Side {
  label: string;
  threads: string;
  seconds: number;
  models: Record<string, SelectedEpoch>;
}

interface History {
  epochs: Array<{ epoch: number; val_map: number | null; seconds: number }>;
  selected: { epoch: number };
}

/** The pipeline's side: a fresh `pipeline run`, its train stage's seconds, what it selected and scored. */
function ours(ws: string, extra: string[]): { side: Side; inputs: string; train: Record<string, unknown>; backend: string } {
  const out = pipeline(ws, ['run', '--json', ...extra]).trim().split('\n').at(-1)!;
  const { stages } = JSON.parse(out) as { stages: Array<{ name: string; state: string; seconds: number }> };
  const stage = stages.find((s) => s.name === 'train');
  if (stage?.state !== 'ran') throw new Error(`the train stage did not run (${stage?.state ?? 'absent'}): ${out}`);
  const record = JSON.parse(pipeline(ws, ['show', 'latest', '--json'])) as {
    record: { stages: Record<string, { output: { meta: unknown } }> };
  };
  const meta = (s: string): Record<string, unknown> => record.record.stages[s]!.output.meta as Record<string, unknown>;
  const trainMeta = meta('train') as { model: string; backend: string; baseline: { model: string } | null };
  const metrics = meta('metrics') as { mAP: number | null; baseline_mAP?: number | null };
  // The twin's inputs: the run's outputs and resolved params, as `pipeline checkout` writes them.
  const inputs = join(ws, 'twin-inputs');
  pipeline(ws, ['checkout', 'latest', '--to', inputs, '--json']);
  const params = parseYaml(readFileSync(join(inputs, 'params.yaml'), 'utf8')) as { train: Record<string, unknown> };
  const fromHistory = (dir: string, testMap: number | null | undefined): SelectedEpoch => {
    const h = JSON.parse(readFileSync(join(inputs, 'train', dir, 'history.json'), 'utf8')) as History;
    return {
      epochS: h.epochs.reduce((a, e) => a + e.seconds, 0),
      epochs: h.epochs.length,
      selected: h.selected.epoch,
      valMap: h.epochs.find((e) => e.epoch === h.selected.epoch)?.val_map ?? null,
      testMap: testMap ?? null,
    };
  };
  const models: Record<string, SelectedEpoch> = { [trainMeta.model]: fromHistory('', metrics.mAP) };
  if (trainMeta.baseline !== null && trainMeta.model !== 'mean_mlp') models['mean_mlp'] = fromHistory('baseline', metrics.baseline_mAP);
  const t = params.train;
  const threads = `ONNX Runtime ${String(t['onnx_threads'])}${t['onnx_parallel'] === true ? ' per direction, directions in parallel' : ''}`;
  return {
    side: { label: `pipeline train stage (${trainMeta.backend}, train.rnn ${String(t['rnn'])})`, threads, seconds: stage.seconds, models },
    inputs,
    train: t,
    backend: trainMeta.backend,
  };
}

interface TwinJson {
  total_s: number;
  load_s: number;
  import_s: number;
  threads: number;
  torch: string;
  movies: Record<string, number>;
  models: Record<string, { seconds: number; epoch_s: number; epochs_run: number; selected_epoch: number; val_map: number | null; test_map: number | null; steps: number }>;
}

/** PyTorch's side: bench/train-stage-torch.py on the checked-out features, with the run's train.* params. */
function twin(inputs: string, t: Record<string, unknown>, threads: number): { side: Side; json: TwinJson } {
  const arg = (flag: string, key: string): string[] => [flag, String(t[key])];
  const args = [
    TORCH_SCRIPT, '--inputs', inputs, '--threads', String(threads),
    ...arg('--model', 'model'), '--baseline', t['baseline'] === true ? '1' : '0', ...arg('--loss', 'loss'),
    ...arg('--epochs', 'epochs'), ...arg('--batch-size', 'batch_size'), ...arg('--lr', 'lr'),
    ...arg('--lr-decay-every', 'lr_decay_every'), ...arg('--lr-decay', 'lr_decay'), ...arg('--patience', 'patience'),
    ...arg('--hidden', 'hidden'), ...arg('--layers', 'layers'), ...arg('--dropout', 'dropout'), ...arg('--seed', 'seed'),
  ];
  const r = spawnSync('python3', args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.error !== undefined || r.status !== 0) throw new Error(`bench/train-stage-torch.py failed (${r.status}): ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as TwinJson;
  const models: Record<string, SelectedEpoch> = {};
  for (const [name, m] of Object.entries(j.models)) {
    models[name] = { epochS: m.epoch_s, epochs: m.epochs_run, selected: m.selected_epoch, valMap: m.val_map, testMap: m.test_map };
  }
  return { side: { label: `PyTorch ${j.torch} CPU`, threads: `${j.threads}${threads === 0 ? ' (default)' : ''}`, seconds: j.total_s, models }, json: j };
}

const f3 = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));

function table(sides: Side[], names: string[], torchNote: string | null): void {
  const base = sides[0]!;
  const per = names.map((n) => `${n}: s in epochs (epoch selected / run)`);
  const maps = names.map((n) => `${n} val / test mAP`);
  console.log('');
  console.log(`| implementation | threads | train seconds | PyTorch s / ours s | ${per.join(' | ')} | ${maps.join(' | ')} |`);
  console.log(`|---|---|---:|---:|${names.map(() => '---:|').join('')}${names.map(() => '---|').join('')}`);
  for (const s of sides) {
    const ratio = s === base ? '' : `**${(s.seconds / base.seconds).toFixed(2)}x**`;
    const cells = names.map((n) => {
      const m = s.models[n];
      return m === undefined ? 'n/a' : `${m.epochS.toFixed(1)} (${m.selected} / ${m.epochs})`;
    });
    const mapCells = names.map((n) => `${f3(s.models[n]?.valMap)} / ${f3(s.models[n]?.testMap)}`);
    console.log(`| ${s.label} | ${s.threads} | ${s.seconds.toFixed(1)} | ${ratio} | ${cells.join(' | ')} | ${mapCells.join(' | ')} |`);
  }
  if (torchNote !== null) console.log(`| PyTorch | | ${torchNote} | | ${names.map(() => '').join(' | ')} | ${names.map(() => '').join(' | ')} |`);
}

function main(): void {
  const args = process.argv.slice(2);
  const torch1 = !args.includes('--no-torch1');
  const pairsAt = args.indexOf('--pairs');
  const pairs = pairsAt < 0 ? 1 : Number(args[pairsAt + 1]);
  if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs needs a whole number >= 1');
  const extra = args.filter((a, i) => a !== '--no-torch1' && i !== pairsAt && i !== pairsAt + 1);
  for (let i = 0; i < extra.length; i += 2) {
    if (extra[i] !== '-p' || extra[i + 1] === undefined) throw new Error(`unexpected argument ${extra[i]}: use --no-torch1, --pairs N and -p key=value`);
  }
  console.log(`box: ${box()}`);
  const withTorch = torchAvailable();
  const ws = mkdtempSync(join(tmpdir(), 'bench-train-stage-'));
  try {
    for (const p of ['pipeline.yaml', 'conf', 'schema']) if (existsSync(join(repo, p))) cpSync(join(repo, p), join(ws, p), { recursive: true });
    const l0 = loadavg()[0]!;
    const t0 = performance.now();
    const o = ours(ws, extra);
    const names = Object.keys(o.side.models);
    console.log(`pipeline run, fresh workspace: ${((performance.now() - t0) / 1000).toFixed(1)} s wall; train stage ${o.side.seconds.toFixed(1)} s (load average ${l0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)})`);
    const sides: Side[] = [o.side];
    let note: string | null = null;
    const model = String(o.train['model']);
    const loss = String(o.train['loss']);
    if (!withTorch) note = NOT_MEASURED;
    else if (!TWIN_MODELS.includes(model) || !TWIN_LOSSES.includes(loss)) {
      note = `not measured (the twin implements train.model ${TWIN_MODELS.join(' / ')} with train.loss ${TWIN_LOSSES.join(' / ')}; this run has ${model}, ${loss})`;
    } else {
      for (const threads of torch1 ? [0, 1] : [0]) {
        const l1 = loadavg()[0]!;
        const { side, json } = twin(o.inputs, o.train, threads);
        console.log(
          `${side.label}, ${json.threads} thread(s): ${json.total_s.toFixed(1)} s (features read ${json.load_s.toFixed(2)} s; ` +
            `${Object.entries(json.models).map(([n, m]) => `${n} ${m.seconds.toFixed(1)} s, ${m.steps} steps`).join('; ')}; ` +
            `python + torch start ${json.import_s.toFixed(1)} s apart; load average ${l1.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)})`,
        );
        sides.push(side);
      }
    }
    const t = o.train;
    console.log(
      `\n${model} + ${t['baseline'] === true && model !== 'mean_mlp' ? 'mean_mlp baseline' : 'no baseline'}: ${String(t['epochs'])} epochs max, batch ${String(t['batch_size'])}, ` +
        `Adam lr ${String(t['lr'])} (x${String(t['lr_decay'])} every ${String(t['lr_decay_every'])} epochs), loss ${loss}, hidden ${String(t['hidden'])}, dropout ${String(t['dropout'])}; ` +
        `selection on val weighted F1; test mAP of the selected epoch (ours: the metrics stage)`,
    );
    table(sides, names, note);
    if (pairs > 1 && sides.length > 1) {
      // This kind of box drifts by tens of percent within minutes: more pairs, each ours then
      // PyTorch's default threads, one right after the other; the median of their ratios.
      const ratios = [sides[1]!.seconds / o.side.seconds];
      console.log(`\nalternated pairs (train stage rerun with --force, then PyTorch, default threads):`);
      console.log(`| pair | ours s | PyTorch s | PyTorch s / ours s |`);
      console.log(`|---:|---:|---:|---:|`);
      console.log(`| 1 | ${o.side.seconds.toFixed(1)} | ${sides[1]!.seconds.toFixed(1)} | ${ratios[0]!.toFixed(2)}x |`);
      for (let k = 2; k <= pairs; k++) {
        const out = pipeline(ws, ['run', '--json', '--force', 'train', ...extra]).trim().split('\n').at(-1)!;
        const stage = (JSON.parse(out) as { stages: Array<{ name: string; state: string; seconds: number }> }).stages.find((x) => x.name === 'train');
        if (stage?.state !== 'ran') throw new Error(`the train stage did not run again: ${out}`);
        const torch = twin(o.inputs, o.train, 0).side.seconds;
        ratios.push(torch / stage.seconds);
        console.log(`| ${k} | ${stage.seconds.toFixed(1)} | ${torch.toFixed(1)} | ${ratios.at(-1)!.toFixed(2)}x |`);
      }
      const sorted = [...ratios].sort((a, b) => a - b);
      const mid = sorted.length / 2;
      const median = sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
      console.log(`median PyTorch s / ours s over ${ratios.length} pairs: **${median.toFixed(2)}x** (range ${sorted[0]!.toFixed(2)}-${sorted.at(-1)!.toFixed(2)}x)`);
    }
    console.log(`\nbox: ${box()}; load average ${loadavg().map((v) => v.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

main();
