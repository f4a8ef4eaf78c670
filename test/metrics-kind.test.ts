// The metrics kind end to end on a real temp store: the real fixlen kind makes the features,
// the real train kind fits a tiny model and its baseline (a few epochs), and the metrics kind
// scores them. Then the things only the kind does: the fallback split, movies without
// features, a model trained on other genres, and a train tree from somewhere else.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import seedrandom from 'seedrandom';
import { UserError } from '../src/errors.js';
import type { Conf } from '../src/params.js';
import { decodeNpy, encodeNpy } from '../src/npy.js';
import type { Artifact, ItemTask, TreeArtifact } from '../src/stage-api.js';
import fixlen from '../stages/fixlen.js';
import metrics from '../stages/metrics.js';
import { asMetricsJson } from '../stages/report/cli.js';
import train from '../stages/train.js';
import { collectionArtifact, logsOf, RecordingSink, testContext, testWorkspace, treeArtifact } from '../fixtures-lib/stage-ctx.js';

const GENRES = ['Drama', 'Comedy', 'Horror', 'Western'];
const L = 8;
const D = 16;
const ws = testWorkspace();
const store = ws.store;
after(() => ws.cleanup());

let features: ReturnType<typeof collectionArtifact>;
let labels: TreeArtifact;
let trained: TreeArtifact;
const ids = Array.from({ length: 36 }, (_, i) => `tt${String(i).padStart(4, '0')}`);
const onehot = new Map<string, number[]>();

async function labelsTree(split: { train: string[]; val: string[]; test: string[] }, genres = GENRES): Promise<TreeArtifact> {
  const counts = Object.fromEntries(
    (['train', 'val', 'test', 'all'] as const).map((s) => {
      const members = s === 'all' ? ids : split[s];
      return [s, { movies: members.length, genres: Object.fromEntries(genres.map((g, j) => [g, members.filter((id) => onehot.get(id)![j] === 1).length])) }];
    }),
  );
  return treeArtifact({
    'ids.json': await store.put(JSON.stringify(ids)),
    'labels.json': await store.put(JSON.stringify(Object.fromEntries(onehot))),
    'genres.json': await store.put(JSON.stringify(genres)),
    'split.json': await store.put(JSON.stringify(split)),
    'counts.json': await store.put(JSON.stringify(counts)),
  });
}

before(async () => {
  // Each movie: 5..20 frames whose features carry its genres (column j shifted by +1 for genre
  // j), so a model can learn something in a few epochs. Western has no positives at all.
  const rng = seedrandom('metrics-kind');
  const tasks: ItemTask[] = [];
  for (const [i, id] of ids.entries()) {
    const y = [i % 2, i % 3 === 0 ? 1 : 0, i % 4 === 1 ? 1 : 0, 0];
    onehot.set(id, y);
    const n = 5 + (i % 16);
    const x = new Float32Array(n * D);
    for (let r = 0; r < n; r++) for (let k = 0; k < D; k++) x[r * D + k] = rng() - 0.5 + (k < 4 && y[k] === 1 ? 1 : 0);
    tasks.push({ id, input: 'x', upstream: { tree: { [`${id}.npy`]: await store.put(encodeNpy(x, [n, D])) } } });
  }
  const sink = new RecordingSink();
  await fixlen.run(testContext(ws, { stage: 'fixlen', params: { fixlen: { length: L, method: 'pool' } } }), tasks, sink);
  assert.equal(sink.failures.size, 0);
  features = collectionArtifact(sink.outputs);
  labels = await labelsTree({ train: ids.slice(0, 24), val: ids.slice(24, 30), test: ids.slice(30) });
  assert.equal(train.type, 'reduce');
  const out = await train.run(
    testContext(ws, {
      stage: 'train',
      params: { train: { model: 'reference', epochs: 3, hidden: 8, batch_size: 8, baseline: true, backend: 'auto' } },
      ports: { features, labels },
    }),
  );
  trained = treeArtifact(out.tree);
});

/** Runs the metrics kind; `params` is the conf's metrics section, `ports` its bound inputs (model, features, labels). */
async function runMetrics(params: Conf, ports: Record<string, Artifact>) {
  const ctx = testContext(ws, { stage: 'metrics', params: { metrics: params }, declared: ['metrics'], ports });
  assert.equal(metrics.type, 'reduce');
  const out = await metrics.run(ctx);
  return { out, ctx };
}

test('scores the trained model and its baseline on test; writes every output', async () => {
  const { out } = await runMetrics({ split: 'test', threshold: 0.5 }, { model: trained, features, labels });
  for (const f of ['metrics.json', 'predictions.npy', 'targets.npy', 'ids.json', 'metrics.md', 'baseline/predictions.npy', 'plots/ap-bars.png', 'plots/pr-curves.svg', 'plots/training.png']) {
    assert.ok(out.tree[f] !== undefined, `${f} is written`);
  }
  const m = asMetricsJson(await store.readJson(out.tree['metrics.json']!), 'metrics.json');
  assert.equal(m.split, 'test');
  assert.equal(m.movies, 6);
  assert.deepEqual(m.genres, GENRES);
  assert.deepEqual(m.genres_without_positives, ['Western']);
  assert.deepEqual(await store.readJson(out.tree['ids.json']!), ids.slice(30));
  const pred = decodeNpy(await store.read(out.tree['predictions.npy']!));
  assert.equal(pred.dtype, '<f4');
  assert.deepEqual(pred.shape, [6, 4]);
  for (const v of pred.data as Float32Array) assert.ok(v >= 0 && v <= 1, `probability ${v}`);
  const tgt = decodeNpy(await store.read(out.tree['targets.npy']!));
  assert.deepEqual(Array.from(tgt.data as Int8Array), ids.slice(30).flatMap((id) => onehot.get(id)!));
  assert.equal(m.model, 'reference');
  assert.equal(m.baseline?.model, 'mean_mlp');
  assert.equal(m.training?.epochs, 3);
  assert.equal(out.headline?.name, 'mAP');
  assert.equal(out.headline?.value, m.mAP);
  assert.match(out.summary![0]!, /^mAP \d\.\d{3} on test \(6 movies\), model \w+ — baseline \(mean_mlp\) \d\.\d{3}; best: /);
  assert.ok(out.summary!.some((l) => /^report: outputs\/metrics\/metrics\.md/.test(l)));
  // Scoring is deterministic: the same inputs give the same files.
  const again = await runMetrics({ split: 'test', threshold: 0.5 }, { model: trained, features, labels });
  assert.equal(again.out.tree['predictions.npy'], out.tree['predictions.npy']);
  assert.equal(again.out.tree['metrics.json'], out.tree['metrics.json']);
});

test('no test movies: scores val and says so', async () => {
  const noTest = await labelsTree({ train: ids.slice(0, 24), val: ids.slice(24), test: [] });
  const { out, ctx } = await runMetrics({}, { model: trained, features, labels: noTest });
  const m = asMetricsJson(await store.readJson(out.tree['metrics.json']!), 'metrics.json');
  assert.equal(m.split, 'val');
  assert.equal(m.requested_split, 'test');
  assert.equal(m.movies, 12);
  assert.match(out.summary![0]!, / on val \(no test movies\) \(12 movies\)/);
  assert.ok(logsOf(ctx).some((l) => /no test movies in the split: scoring val instead/.test(l)));
});

test('movies without features are left out and listed', async () => {
  const partial = collectionArtifact(new Map([...features.items].filter(([id]) => id !== 'tt0031')));
  const { out } = await runMetrics({}, { model: trained, features: partial, labels });
  const m = asMetricsJson(await store.readJson(out.tree['metrics.json']!), 'metrics.json');
  assert.equal(m.movies, 5);
  assert.deepEqual(m.missing_movies, ['tt0031']);
  assert.ok(out.summary!.some((l) => /1 movies of test have no features/.test(l)));
});

test('a model trained on other genres is a UserError naming both lists', async () => {
  const other = await labelsTree({ train: ids.slice(0, 24), val: ids.slice(24, 30), test: ids.slice(30) }, ['Drama', 'Comedy', 'Horror', 'Sport']);
  await assert.rejects(
    runMetrics({}, { model: trained, features, labels: other }),
    (e: unknown) => e instanceof UserError && /trained on genres \[Drama, Comedy, Horror, Western\] but the labels have \[Drama, Comedy, Horror, Sport\]/.test(e.message),
  );
});

test('a train tree from elsewhere (evaluate): only model/ is needed, no history, no baseline', async () => {
  const bare = treeArtifact(Object.fromEntries(Object.entries(trained.tree).filter(([k]) => k.startsWith('model/'))));
  const { out } = await runMetrics({ split: 'val' }, { model: bare, features, labels });
  const m = asMetricsJson(await store.readJson(out.tree['metrics.json']!), 'metrics.json');
  assert.equal(m.split, 'val');
  assert.equal(m.baseline, null);
  assert.equal(m.training, null);
  assert.equal(out.tree['plots/training.svg'], undefined);
  assert.equal(out.tree['plots/ap-bars.svg'] !== undefined, true);
});
