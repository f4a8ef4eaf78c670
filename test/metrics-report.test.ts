// The report writers on hand-made predictions: files, their formats, the table beside the
// published figures, the notes on n/a genres, the plots (rendered for real through sharp),
// the CLI table and diff, and the kind's param and split handling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { UserError } from '../src/errors.js';
import { decodeNpy } from '../src/npy.js';
import { chooseSplit, readMetricsParams } from '../stages/metrics.js';
import { asMetricsJson, diffMetrics, formatMetricsTable } from '../stages/report/cli.js';
import type { History } from '../stages/report/metrics-json.js';
import { REFERENCE_BILSTM, RESNET, publishedMeanAp } from '../stages/report/published.js';
import { buildReport } from '../stages/report/report.js';
import type { ReportInputs } from '../stages/report/report.js';
import { testContext, testWorkspace } from '../fixtures-lib/stage-ctx.js';

const GENRES = ['Drama', 'Comedy', 'Animation', 'Horror'];

/** 6 movies x 4 genres. Animation has no positives; Horror is predicted perfectly. */
function inputs(overrides: Partial<ReportInputs> = {}): ReportInputs {
  // prettier-ignore
  const targets = Int8Array.from([
    1, 0, 0, 1,
    1, 1, 0, 0,
    0, 1, 0, 0,
    1, 0, 0, 1,
    0, 0, 0, 0,
    1, 1, 0, 0,
  ]);
  // prettier-ignore
  const predictions = Float32Array.from([
    0.9, 0.2, 0.1, 0.8,
    0.6, 0.7, 0.6, 0.1,
    0.4, 0.3, 0.2, 0.2,
    0.7, 0.5, 0.1, 0.9,
    0.2, 0.1, 0.3, 0.3,
    0.5, 0.6, 0.1, 0.4,
  ]);
  const history: History = {
    epochs: [1, 2, 3, 4].map((e) => ({ epoch: e, train_loss: 1 / e, val_loss: 0.5 + 0.1 * (e - 2) ** 2, val_map: 0.2 * e, val_weighted_f1: 0.15 * e })),
    selected: { epoch: 3, metric: 'val_map', value: 0.6 },
    stopped: 'patience',
  };
  return {
    model: 'bilstm',
    predictions,
    history,
    genres: GENRES,
    ids: ['tt1', 'tt2', 'tt3', 'tt4', 'tt5', 'tt6'],
    targets,
    split: 'test',
    requestedSplit: 'test',
    threshold: 0.5,
    missing: [],
    baseline: { model: 'mean-pool MLP', predictions: predictions.map((v, i) => (i % 3 === 0 ? 0.5 : v)), history: null },
    outDir: 'outputs/metrics',
    pngScale: 1,
    ...overrides,
  };
}

test('published figures: mean AP as the reference states it (ResNet 46.9 over 21, BiLSTM 42.4 over 20)', () => {
  const r = publishedMeanAp(RESNET);
  assert.equal(r.count, 21);
  assert.equal(r.mean!.toFixed(1), '46.9');
  const b = publishedMeanAp(REFERENCE_BILSTM);
  assert.equal(b.count, 20);
  assert.equal(b.mean!.toFixed(1), '42.4');
  assert.equal(REFERENCE_BILSTM.rows.Animation!.ap, null);
});

test('buildReport writes every output, in the formats other tools read', async () => {
  const rep = await buildReport(inputs());
  const names = [...rep.files.keys()].sort();
  assert.deepEqual(names, [
    'baseline/predictions.npy',
    'ids.json',
    'metrics.json',
    'metrics.md',
    'plots/ap-bars.png',
    'plots/ap-bars.svg',
    'plots/pr-curves.png',
    'plots/pr-curves.svg',
    'plots/training.png',
    'plots/training.svg',
    'predictions.npy',
    'targets.npy',
  ]);
  const pred = decodeNpy(rep.files.get('predictions.npy') as Buffer);
  assert.equal(pred.dtype, '<f4');
  assert.deepEqual(pred.shape, [6, 4]);
  assert.equal((pred.data as Float32Array)[0], Math.fround(0.9));
  const tgt = decodeNpy(rep.files.get('targets.npy') as Buffer);
  assert.equal(tgt.dtype, '|i1');
  assert.deepEqual(tgt.shape, [6, 4]);
  assert.deepEqual(JSON.parse(rep.files.get('ids.json') as string), ['tt1', 'tt2', 'tt3', 'tt4', 'tt5', 'tt6']);

  const m = asMetricsJson(JSON.parse(rep.files.get('metrics.json') as string), 'metrics.json');
  assert.equal(m.movies, 6);
  assert.deepEqual(m.genres, GENRES);
  assert.deepEqual(m.genres_without_positives, ['Animation']);
  const horror = m.per_genre.find((g) => g.genre === 'Horror')!;
  assert.equal(horror.ap, 1);
  assert.equal(horror.precision, 1);
  assert.equal(horror.recall, 1);
  assert.equal(m.per_genre.find((g) => g.genre === 'Animation')!.ap, null);
  // Drama: scores .9(+) .6(+) .4(-) .7(+) .2(-) .5(+) -> ranks .9+ .7+ .6+ .5+ : AP 1
  assert.equal(m.per_genre[0]!.ap, 1);
  // Comedy: .2(-) .7(+) .3(+) .5(-) .1(-) .6(+) -> .7+ .6+ .5- .3+ : AP = 1/3 + 1/3 + 1/3*3/4
  assert.ok(Math.abs(m.per_genre[1]!.ap! - (2 / 3 + 0.25)) < 1e-12);
  assert.ok(Math.abs(m.mAP! - (1 + 11 / 12 + 1) / 3) < 1e-12, 'mAP over the 3 genres with positives');
  assert.equal(m.baseline?.model, 'mean-pool MLP');
  assert.deepEqual(m.training?.selected, { epoch: 3, metric: 'val_map', value: 0.6 });
  assert.equal(rep.headline?.name, 'mAP');
  assert.equal(rep.headline?.value, m.mAP);
});

test('metrics.md: the table beside the published figures, means, baseline, and the n/a note', async () => {
  const rep = await buildReport(inputs());
  const md = rep.files.get('metrics.md') as string;
  assert.match(md, /^# Genre metrics: bilstm on test/m);
  assert.match(md, /\| genre \| ours \(bilstm\) P@0\.5 \/ R@0\.5 \/ AP \| baseline AP \| ResNet \| ref\. BiLSTM \| F1 \| support \|/);
  assert.match(md, /\| Drama \| [\d.]+ \/ [\d.]+ \/ 100\.00 \| [\d.]+ \| 71\.16 \/ 79\.42 \/ 79\.95 \| 77\.67 \/ 79\.97 \/ 80\.31 \|/);
  assert.match(md, /\| Animation \| 0\.00 \/ 0\.00 \/ n\/a \| n\/a \| 93\.16 \/ 74\.09 \/ 86\.45 \| 0\.00 \/ 0\.00 \/ n\/a \|/);
  assert.match(md, /\*\*mean AP\*\* \| \*\*97\.22 \(3 genres\)\*\*/);
  assert.match(md, /Animation has no positive movies in test: AP n\/a, left out of mAP and micro AP/);
  assert.match(md, /baseline \(mean-pool MLP\)/);
  assert.match(md, /Training: 4 epochs, epoch 3 selected by val_map 0\.600; stopped: patience/);
  assert.match(md, /!\[Precision-recall curves\]\(plots\/pr-curves\.svg\)/);
});

test('plots are valid SVG and PNG at the SVG size times the scale', async () => {
  const rep = await buildReport(inputs({ pngScale: 2 }));
  for (const name of ['ap-bars', 'pr-curves', 'training']) {
    const svg = rep.files.get(`plots/${name}.svg`) as string;
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="(\d+)" height="(\d+)"/);
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!;
    const meta = await sharp(rep.files.get(`plots/${name}.png`) as Buffer).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, Number(w) * 2, `${name} width`);
    assert.equal(meta.height, Number(h) * 2, `${name} height`);
    // Not a blank image: the rendered chart has ink (dark pixels) on it.
    const stats = await sharp(rep.files.get(`plots/${name}.png`) as Buffer).stats();
    assert.ok(stats.channels[0]!.min < 100, `${name} has dark pixels`);
  }
  // Genre names and the published series reach the charts.
  assert.match(rep.files.get('plots/ap-bars.svg') as string, />ResNet \(published by the MovieNet authors\)</);
  assert.match(rep.files.get('plots/pr-curves.svg') as string, />no positives in test</);
  assert.match(rep.files.get('plots/training.svg') as string, />selected: epoch 3</);
});

test('no history: no training plot; the report says nothing about training', async () => {
  const rep = await buildReport(inputs({ history: null, baseline: null }));
  assert.equal(rep.files.has('plots/training.svg'), false);
  assert.equal(rep.files.has('baseline/predictions.npy'), false);
  assert.equal(rep.metrics.training, null);
  assert.equal(rep.metrics.baseline, null);
  assert.doesNotMatch(rep.files.get('metrics.md') as string, /Training:/);
  assert.doesNotMatch(rep.summary[0]!, /baseline/);
});

test('summary lines: headline, best and worst, n/a genres, fallback split, where the report is', async () => {
  const rep = await buildReport(inputs({ split: 'val', requestedSplit: 'test' }));
  assert.match(rep.summary[0]!, /^mAP 0\.972 on val \(no test movies\) \(6 movies\), model [\w -]+ — baseline \(mean-pool MLP\) [\d.]+; best: Drama 1\.00, Horror 1\.00, Comedy 0\.92$/);
  assert.match(rep.summary[1]!, /^Animation: no positive movies in val, AP n\/a, left out of mAP$/);
  assert.match(rep.summary.at(-1)!, /^report: outputs\/metrics\/metrics\.md · plots: outputs\/metrics\/plots\//);
  assert.deepEqual(rep.metrics.notes, ['metrics.split is test but the split has no test movies: scored val instead.']);
  assert.match(rep.files.get('metrics.md') as string, /The split has no test movies, so this evaluates \*\*val\*\*/);
});

test('formatMetricsTable and diffMetrics', async () => {
  const a = (await buildReport(inputs())).metrics;
  const worse = inputs();
  worse.predictions = worse.predictions.map((v, i) => (i % 4 === 0 ? 1 - v : v));
  const b = (await buildReport({ ...worse, model: 'lstm' })).metrics;
  const table = formatMetricsTable(a);
  assert.match(table, /^bilstm on test: 6 movies, threshold 0\.5/);
  assert.match(table, /\nDrama +[\d.]+ \/ [\d.]+ \/ 100\.00 +[\d.]+ +71\.16 \/ 79\.42 \/ 79\.95 +77\.67 \/ 79\.97 \/ 80\.31/);
  assert.match(table, /\nmean AP +97\.22 \(3 genres\)/);
  const diff = diffMetrics(a, b, { a: 'run1', b: 'run2' });
  assert.match(diff, /^run1: bilstm on test \(6 movies\)\nrun2: lstm on test \(6 movies\)/);
  // Only Drama changed: its AP drops, the others do not move.
  const drama = /\nDrama +100\.00 +([\d.]+) +(-[\d.]+)/.exec(diff);
  assert.ok(drama !== null, diff);
  assert.equal(Number(drama[2]), -(100 - Number(drama[1])));
  assert.match(diff, /\nHorror +100\.00 +100\.00 +0\.00 +0\.00 +0\.00 +0\.00/);
  assert.match(diff, /\nAnimation +n\/a +n\/a +n\/a/);
  assert.match(diff, /\nmAP +97\.22 +[\d.]+ +-[\d.]+/);
  assert.match(diff, /largest AP changes: Drama -/);
  assert.throws(() => asMetricsJson({ mAP: 1 }, 'x/metrics.json'), (e: unknown) => e instanceof UserError && /x\/metrics\.json/.test(e.message));
});

test('params: defaults, and bad values named at once', () => {
  const ws = testWorkspace();
  try {
    assert.deepEqual(readMetricsParams(testContext(ws, { stage: 'metrics', params: {}, declared: ['metrics'] })), { split: 'test', threshold: 0.5, batchSize: 32 });
    assert.throws(
      () => readMetricsParams(testContext(ws, { stage: 'metrics', params: { metrics: { split: 'testing', threshold: 1.5 } } })),
      (e: unknown) => e instanceof UserError && /metrics\.split must be one of train, val, test, got "testing"/.test(e.message) && /metrics\.threshold/.test(e.message),
    );
  } finally {
    ws.cleanup();
  }
});

test('split: test, or val when test is empty; an empty split is a UserError', () => {
  assert.equal(chooseSplit({ train: ['a'], val: ['b'], test: ['c'] }, 'test'), 'test');
  assert.equal(chooseSplit({ train: ['a'], val: ['b'], test: [] }, 'test'), 'val');
  assert.equal(chooseSplit({ train: ['a'], val: ['b'], test: [] }, 'train'), 'train');
  assert.throws(() => chooseSplit({ train: ['a'], val: [], test: [] }, 'test'), (e: unknown) => e instanceof UserError && /train 1, val 0, test 0/.test(e.message));
  assert.throws(() => chooseSplit({ train: ['a'], val: [], test: ['c'] }, 'val'), UserError);
});
