// The train kind end to end over a real workspace (store, file-state cache, the engine's
// context): outputs, history, TensorBoard files, loading the saved model back, learning a
// planted signal, determinism, abort + resume, errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ItemError, UserError } from '../src/errors.js';
import type { Conf } from '../src/params.js';
import type { JsonValue, ReduceOutput } from '../src/stage-api.js';
import { loadGenreModel, predictProbabilities, resolveInTree } from '../stages/models/api.js';
import type { History } from '../stages/models/fit.js';
import { readEvents } from '../stages/nn/tensorboard/event-writer.js';
import { multiLabelMetrics } from '../stages/report/metrics-math.js';
import train from '../stages/train.js';
import { abortOnProgress, collectionArtifact, logsOf, progressOf, TempFolders, type ContextOptions, type TestContext, type TestWorkspace } from '../fixtures-lib/stage-ctx.js';
import { chanceMap, storeSynthetic, syntheticMovies, trainContext, type Synthetic } from './helpers/train-data.js';

const SHAPE = { length: 12, width: 24 };
/** The train section of the conf (nested under `train:` as in conf/default.yaml). */
const BASE: Record<string, JsonValue> = {
  model: 'reference',
  backend: 'auto',
  seed: 0,
  epochs: 6,
  batch_size: 16,
  lr: 0.01,
  lr_decay_every: 4,
  lr_decay: 0.5,
  patience: 50,
  hidden: 8,
  layers: 1,
  bidirectional: true,
  max_pooling: 4,
  dropout: 0.1,
  heads: 2,
  rnn: 'fast',
  loss: 'bce_pos_count',
  focal_gamma: 2,
  focal_alpha: 0.5,
  baseline: true,
};

const conf = (over: Record<string, JsonValue> = {}): Conf => ({ train: { ...BASE, ...over } });

describe('train stage', () => {
  const temp = new TempFolders();
  let ws: TestWorkspace;
  let data: Synthetic;
  let inputs: Awaited<ReturnType<typeof storeSynthetic>>;
  let first: ReduceOutput;
  /** The train kind's context for BASE with `over` applied (a scratch folder per parameter set). */
  const trainCtx = (
    over: Record<string, JsonValue> = {},
    { inputs: ins = inputs, ...opts }: Pick<ContextOptions, 'signal' | 'onEvent' | 'onError'> & { inputs?: typeof inputs } = {},
  ): TestContext => trainContext(ws, conf(over), ins, opts);

  before(async () => {
    ws = temp.workspace('pipeline-train-test-');
    data = syntheticMovies({ movies: 60, ...SHAPE, genres: 4, frames: 8, seed: 3 });
    inputs = await storeSynthetic(ws, data);
    first = await train.run(trainCtx());
  });
  after(() => temp.cleanup());

  it('writes the model, its description, history, TensorBoard files and the baseline', () => {
    const names = Object.keys(first.tree).sort();
    for (const p of ['model/model.json', 'model/weights.bin', 'model/genre-model.json', 'history.json', 'tensorboard/config.yaml']) {
      assert.ok(names.includes(p), `missing ${p} in ${names.join(', ')}`);
      assert.ok(names.includes(`baseline/${p}`), `missing baseline/${p}`);
    }
    assert.equal(names.filter((n) => /^tensorboard\/events\.out\.tfevents\.\d+\.pipeline$/.test(n)).length, 1);
    const meta = first.meta!;
    assert.equal(meta['model'], 'reference');
    assert.equal(meta['backend'], 'wasm');
    assert.equal(meta['selection_metric'], 'val_weighted_f1');
    assert.equal(meta['epochs_run'], 6);
    assert.equal(meta['stopped'], 'max_epochs');
    assert.equal((meta['baseline'] as Record<string, unknown>)['model'], 'mean_mlp');
    assert.equal(first.headline?.name, 'val weighted F1');
    assert.equal(first.summary?.length, 2);
  });

  it('records a history the metrics stage can read, with the selected epoch the best val F1', async () => {
    const h = await ws.store.readJson<History>(first.tree['history.json']!);
    assert.equal(h.epochs.length, 6);
    for (const e of h.epochs) {
      for (const k of ['epoch', 'train_loss', 'val_loss', 'val_map', 'val_weighted_f1', 'lr', 'seconds'] as const) {
        assert.equal(typeof e[k], 'number', `${k} of epoch ${e.epoch}`);
      }
    }
    assert.deepEqual(h.epochs.map((e) => e.lr), [0.01, 0.01, 0.01, 0.01, 0.005, 0.005]);
    const bestF1 = Math.max(...h.epochs.map((e) => e.val_weighted_f1!));
    const firstBest = h.epochs.find((e) => e.val_weighted_f1 === bestF1)!;
    assert.deepEqual(h.selected, { epoch: firstBest.epoch, metric: 'val_weighted_f1', value: bestF1 });
    assert.equal(first.meta!['selected_epoch'], firstBest.epoch);
    assert.equal(h.stopped, 'max_epochs');
  });

  it('saves the selected epoch: the loaded model reproduces its validation F1', async () => {
    const h = await ws.store.readJson<History>(first.tree['history.json']!);
    const model = await loadGenreModel(resolveInTree(ws.store, first.tree));
    try {
      assert.deepEqual(model.genres, data.genres);
      assert.equal(model.info.selectedEpoch, h.selected.epoch);
      const ids = data.split.val;
      const x = new Float32Array(ids.length * SHAPE.length * SHAPE.width);
      ids.forEach((id, i) => x.set(data.features.get(id)!, i * SHAPE.length * SHAPE.width));
      const p = await predictProbabilities(model, x, ids.length, SHAPE.length, SHAPE.width, 7);
      const y = ids.flatMap((id) => data.labels.get(id)!);
      const m = multiLabelMetrics({ scores: p, targets: y, rows: ids.length, cols: 4 }, 0.5);
      assert.ok(Math.abs(m.weightedF1 - h.selected.value!) < 1e-9, `${m.weightedF1} vs ${h.selected.value}`);
    } finally {
      model.dispose();
    }
  });

  it('writes TensorBoard events with per-epoch scalars and the config beside them', async () => {
    const name = Object.keys(first.tree).find((n) => n.startsWith('tensorboard/events.'))!;
    const events = readEvents(await ws.store.read(first.tree[name]!));
    assert.equal(events[0]!.fileVersion, 'brain.Event:2');
    const byTag = new Map<string, Array<[number, number]>>();
    for (const e of events) {
      for (const v of e.summary?.value ?? []) {
        if (v.simpleValue !== undefined) byTag.set(v.tag, [...(byTag.get(v.tag) ?? []), [e.step, v.simpleValue]]);
      }
    }
    const h = await ws.store.readJson<History>(first.tree['history.json']!);
    for (const tag of ['loss/train', 'loss/val', 'mAP/val', 'weighted_f1/val', 'lr', 'AP/val/Genre0', 'AP/val/Genre3']) {
      assert.deepEqual(byTag.get(tag)?.map(([s]) => s), [1, 2, 3, 4, 5, 6], tag);
    }
    // float32 in the event, float64 in the history
    byTag.get('loss/val')!.forEach(([s, v]) => assert.equal(v, Math.fround(h.epochs[s - 1]!.val_loss!)));
    assert.ok(events.some((e) => e.summary?.value.some((v) => v.tag === 'config' && v.metadata?.pluginData?.pluginName === 'text')));
    const yaml = (await ws.store.read(first.tree['tensorboard/config.yaml']!)).toString();
    assert.match(yaml, /^train:$/m);
    assert.match(yaml, /^ {2}model: reference$/m);
    assert.match(yaml, /^ {2}lr: 0\.01$/m);
  });

  it('learns the planted genre signal far above chance, and so does the baseline', async () => {
    const h = await ws.store.readJson<History>(first.tree['history.json']!);
    const b = await ws.store.readJson<History>(first.tree['baseline/history.json']!);
    const chance = chanceMap(data, data.split.val);
    assert.ok(chance < 0.45, `chance mAP ${chance}`);
    assert.ok(h.epochs.at(-1)!.val_map! > chance + 0.3, `reference mAP ${h.epochs.map((e) => e.val_map).join(', ')} vs chance ${chance}`);
    assert.ok(b.epochs.at(-1)!.val_map! > chance + 0.3, `baseline mAP ${b.epochs.map((e) => e.val_map).join(', ')} vs chance ${chance}`);
  });

  it('is reproducible: same seed, data and backend give byte-identical weights', async () => {
    const again = await train.run(trainCtx());
    assert.equal(again.tree['model/weights.bin'], first.tree['model/weights.bin']);
    assert.equal(again.tree['model/model.json'], first.tree['model/model.json']);
    assert.equal(again.tree['baseline/model/weights.bin'], first.tree['baseline/model/weights.bin']);
    const other = await train.run(trainCtx({ seed: 1, baseline: false }));
    assert.notEqual(other.tree['model/weights.bin'], first.tree['model/weights.bin']);
    assert.equal(other.tree['baseline/model/weights.bin'], undefined);
  });

  it('stops cleanly on abort, keeps the best model so far, and a rerun resumes to the same weights', async () => {
    const params = { baseline: false, dropout: 0.3 };
    const uninterrupted = await train.run(trainCtx(params));
    // Abort in the middle of epoch 4.
    const ctx = trainCtx(params, abortOnProgress((m) => m.includes('epoch 4/6 batch 2/')));
    await assert.rejects(train.run(ctx), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /interrupted at epoch 4, batch 3\/3; best model so far \(epoch \d\) saved in /);
      assert.match(e.hint ?? '', /resume after epoch 3/);
      return true;
    });
    const scratch = await ctx.scratchDir();
    // The warning names the folder where the best model so far is.
    const said = logsOf(ctx).find((l) => l.includes('the best model so far'));
    assert.equal(/ is in (\S+)$/.exec(said ?? '')?.[1], join(scratch, 'model', 'best'), logsOf(ctx).join('\n'));
    const best = await loadGenreModel((rel) => `${scratch}/model/best/${rel}`);
    assert.equal(best.name, 'reference');
    best.dispose();
    const bestHistory = JSON.parse(readFileSync(`${scratch}/model/best/history.json`, 'utf8')) as History;
    assert.equal(bestHistory.stopped, 'interrupted');
    assert.equal(bestHistory.epochs.length, 3);

    const resumedCtx = trainCtx(params);
    const resumed = await train.run(resumedCtx);
    assert.ok(logsOf(resumedCtx).some((l) => l.includes('resuming after epoch 3')), logsOf(resumedCtx).join('\n'));
    assert.equal(resumed.tree['model/weights.bin'], uninterrupted.tree['model/weights.bin']);
    assert.equal(resumed.tree['history.json'] === undefined, false);
    const h1 = await ws.store.readJson<History>(uninterrupted.tree['history.json']!);
    const h2 = await ws.store.readJson<History>(resumed.tree['history.json']!);
    assert.deepEqual(h2.epochs.map((e) => e.train_loss), h1.epochs.map((e) => e.train_loss));
    // The resumed run's event file still holds every epoch.
    const name = Object.keys(resumed.tree).find((n) => n.startsWith('tensorboard/events.'))!;
    const steps = readEvents(await ws.store.read(resumed.tree[name]!)).flatMap((e) => (e.summary?.value.some((v) => v.tag === 'loss/train') ? [e.step] : []));
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  });

  it('train.baseline_parallel (the baseline on a worker thread) is speed only: byte-identical outputs', async () => {
    const seq = await train.run(trainCtx({ baseline_parallel: false }));
    const volatile = (n: string): boolean => /(^|\/)(history\.json|tensorboard\/)/.test(n);
    const kept = (o: ReduceOutput): Record<string, string> => Object.fromEntries(Object.entries(o.tree).filter(([n]) => !volatile(n)));
    assert.deepEqual(kept(seq), kept(first));
    assert.ok(Object.keys(kept(first)).includes('baseline/model/weights.bin'));
    const h1 = await ws.store.readJson<History>(first.tree['baseline/history.json']!);
    const h2 = await ws.store.readJson<History>(seq.tree['baseline/history.json']!);
    assert.deepEqual(h2.epochs.map((e) => [e.train_loss, e.val_map]), h1.epochs.map((e) => [e.train_loss, e.val_map]));
    // Its epochs reached the stage's progress (series points), its logs the stage's log.
    const ctx = trainCtx({ seed: 2 });
    await train.run(ctx);
    assert.deepEqual(progressOf(ctx).filter((u) => u.point?.series === 'baseline mean_mlp').map((u) => u.point!.step), [1, 2, 3, 4, 5, 6]);
    assert.ok(!progressOf(ctx).some((u) => u.message?.startsWith('baseline') && u.done !== undefined), 'the baseline thread sends no done/total');
  });

  it('an abort while the model and the baseline train at once stops both; the rerun resumes to the same weights', async () => {
    // At the end of the baseline thread's first epoch: the model is then still training or done
    // (the thread's start takes a while), and either way both keep what they have.
    const ctx = trainCtx({}, abortOnProgress((m) => m.startsWith('baseline mean_mlp epoch 1/6 loss')));
    await assert.rejects(train.run(ctx), /(reference|baseline mean_mlp) training interrupted at epoch \d/);
    const rerun = trainCtx();
    const out = await train.run(rerun);
    const logs = logsOf(rerun).join('\n');
    assert.match(logs, /reference: (resuming after epoch \d|training had finished)/);
    assert.match(logs, /baseline mean_mlp: resuming after epoch \d/);
    assert.equal(out.tree['model/weights.bin'], first.tree['model/weights.bin']);
    assert.equal(out.tree['baseline/model/weights.bin'], first.tree['baseline/model/weights.bin']);
  });

  it('does not retrain a finished model when the baseline is interrupted', async () => {
    // One after the other (train.baseline_parallel false), so the model has finished first.
    const ctx = trainCtx({ baseline_parallel: false }, abortOnProgress((m) => m.startsWith('baseline mean_mlp epoch 2/6 batch 2/')));
    await assert.rejects(train.run(ctx), /baseline mean_mlp training interrupted at epoch 2/);
    const rerun = trainCtx();
    const out = await train.run(rerun);
    assert.ok(logsOf(rerun).some((l) => /reference: training had finished \(max_epochs, epoch 6\)/.test(l)), logsOf(rerun).join('\n'));
    assert.ok(logsOf(rerun).some((l) => /baseline mean_mlp: resuming after epoch 1/.test(l)), logsOf(rerun).join('\n'));
    assert.ok(!progressOf(rerun).some((u) => u.message?.startsWith('reference epoch')));
    assert.equal(out.tree['model/weights.bin'], first.tree['model/weights.bin']);
    assert.equal(out.tree['baseline/model/weights.bin'], first.tree['baseline/model/weights.bin']);
    assert.equal(out.tree['history.json'] !== undefined, true);
    const h = await ws.store.readJson<History>(out.tree['history.json']!);
    const h0 = await ws.store.readJson<History>(first.tree['history.json']!);
    assert.deepEqual(h.selected, h0.selected);
  });

  it('early-stops after patience epochs without improvement', async () => {
    const out = await train.run(trainCtx({ patience: 1, epochs: 30, baseline: false, model: 'mean_mlp' }));
    const h = await ws.store.readJson<History>(out.tree['history.json']!);
    assert.equal(h.stopped, 'early_stop');
    assert.equal(h.epochs.length, h.selected.epoch + 1);
    assert.ok(h.epochs.length < 30);
  });

  it('selects the last epoch when there is no validation split, and says so', async () => {
    const d = syntheticMovies({ movies: 20, ...SHAPE, genres: 4, frames: 8, seed: 4, split: [1, 0] });
    const ctx = trainCtx({ epochs: 2, model: 'mean_mlp' }, { inputs: await storeSynthetic(ws, d) });
    const out = await train.run(ctx);
    const h = await ws.store.readJson<History>(out.tree['history.json']!);
    assert.deepEqual(h.selected, { epoch: 2, metric: 'val_weighted_f1', value: null });
    assert.equal(h.epochs[0]!.val_loss, null);
    assert.ok(logsOf(ctx).some((l) => l.includes('no validation movies')));
    assert.equal(out.headline, undefined);
    // mean_mlp as the model: the baseline is the same files, not a second training.
    assert.equal(out.tree['baseline/model/weights.bin'], out.tree['model/weights.bin']);
  });

  it('reports bad params, unknown models and missing native backends as user errors', async () => {
    await assert.rejects(train.run(trainCtx({ model: 'refrence' })), /unknown model 'refrence' \(did you mean 'reference'\?\)/);
    await assert.rejects(
      train.run(trainCtx({ lr: -1, loss: 'hinge', lr_rate: 3 })),
      (e: unknown) => e instanceof UserError && /train\.lr must be a number > 0/.test(e.message) && /train\.loss must be one of bce, bce_pos_count/.test(e.message) && /unknown key train\.lr_rate/.test(e.message),
    );
    await assert.rejects(
      train.run(trainCtx({ backend: 'tensorflow' })),
      (e: unknown) => e instanceof UserError && /@tensorflow\/tfjs-node is not installed/.test(e.message) && /npm install @tensorflow\/tfjs-node@/.test(e.hint ?? '') && /internet/.test(e.hint ?? ''),
    );
    assert.throws(() => train.env!(trainCtx({ backend: 'tensorflow-gpu' })), /tfjs-node-gpu is not installed/);
    assert.deepEqual(Object.keys(train.env!(trainCtx()) as Record<string, string>).sort(), ['@tensorflow/tfjs-backend-wasm', 'backend', 'tfjs', 'wasm.simd']);
  });

  it('trains on the cpu backend when asked, and records it', async () => {
    const out = await train.run(trainCtx({ backend: 'cpu', epochs: 1, model: 'mean_mlp' }));
    assert.equal(out.meta!['backend'], 'cpu');
    const info = await ws.store.readJson<{ backend: string }>(out.tree['model/genre-model.json']!);
    assert.equal(info.backend, 'cpu');
    assert.equal((train.env!(trainCtx({ backend: 'cpu' })) as Record<string, string>)['backend'], 'cpu');
  });

  it('reports a movie with features that are not a .npy file as an item error: under on_error skip it trains without it, under fail it stops', async () => {
    const d = syntheticMovies({ movies: 20, ...SHAPE, genres: 4, frames: 8, seed: 5 });
    const ins = await storeSynthetic(ws, d);
    const bad = d.split.train[0]!;
    const items = new Map(ins.fixlen.items);
    items.set(bad, { tree: { [`${bad}.npy`]: await ws.store.put(Buffer.from('not an npy file')) } });
    const broken = { ...ins, fixlen: collectionArtifact(items) };
    const over = { epochs: 1, model: 'mean_mlp' };
    await assert.rejects(train.run(trainCtx(over, { inputs: broken })), (e: unknown) => e instanceof ItemError && e.item === bad);
    const ctx = trainCtx(over, { inputs: broken, onError: 'skip' });
    const out = await train.run(ctx);
    assert.equal(ctx.itemErrors.length, 1);
    assert.equal(ctx.itemErrors[0]!.item, bad);
    assert.match(ctx.itemErrors[0]!.describe('movie'), new RegExp(`movie ${bad}: ${bad}\\.npy: .*not a \\.npy file`));
    assert.equal(out.meta!['train_movies'], d.split.train.length - 1);
  });
});
