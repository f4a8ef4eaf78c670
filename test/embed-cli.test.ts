// embed through the real CLI in a temp workspace on the demo dataset: outputs numpy reads,
// adding a movie embeds only that movie, speed-only params rerun nothing, a missing model
// stops the stage with the fix.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeNpy } from '../src/npy.js';
import { PACKAGE_ROOT, Rig, lastJson } from './helpers/rig.js';

interface RunJson {
  ok: boolean;
  stages: Array<{ name: string; state: string; items?: { total: number; ran: number; cached: number; failed: number } }>;
}

let rig: Rig;
before(() => {
  rig = Rig.create({
    'pipeline.yaml': readFileSync(join(PACKAGE_ROOT, 'pipeline.yaml'), 'utf8'),
    'conf/default.yaml': readFileSync(join(PACKAGE_ROOT, 'conf', 'default.yaml'), 'utf8'),
  });
});
after(() => rig.cleanup());

const embedStage = (r: RunJson) => r.stages.find((s) => s.name === 'embed')!;

async function run(...args: string[]): Promise<RunJson> {
  const r = await rig.cli(['run', 'embed', '--json', '-p', 'dataset.source=demo', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return lastJson<RunJson>(r.stdout);
}

test('demo movies -> outputs/embed/<id>.npy, float32 [N,512]; one more movie embeds one movie', async () => {
  const first = await run('-p', 'dataset.movies=3');
  assert.deepEqual(embedStage(first).items, { total: 3, ran: 3, cached: 0, failed: 0 });
  const files = readdirSync(rig.path('outputs/embed')).sort();
  assert.deepEqual(files, ['tt9000001.npy', 'tt9000002.npy', 'tt9000003.npy']);
  for (const f of files) {
    const a = decodeNpy(readFileSync(rig.path(`outputs/embed/${f}`)));
    assert.equal(a.dtype, '<f4');
    assert.equal(a.shape.length, 2);
    assert.equal(a.shape[1], 512);
    assert.ok(a.shape[0]! >= 9, `${f}: ${a.shape[0]} frames`);
  }
  const second = await run('-p', 'dataset.movies=4');
  assert.deepEqual(embedStage(second).items, { total: 4, ran: 1, cached: 3, failed: 0 });
  // Batch size and threads are speed only: nothing reruns.
  const third = await run('-p', 'dataset.movies=4', '-p', 'embed.batch_size=5', '-p', 'embed.threads=1');
  assert.equal(embedStage(third).items?.ran, 0);
});

test('encoder onnx without the model file: the stage stops, naming embed.model and the fix', async () => {
  const r = await rig.cli(['run', 'embed', '-p', 'dataset.source=demo', '-p', 'dataset.movies=3', '-p', 'embed.encoder=onnx']);
  assert.notEqual(r.code, 0);
  const out = r.stdout + r.stderr;
  assert.match(out, /embed\.model: no model file at models\/clip-vit-base-patch32-vision\.onnx/);
  assert.match(out, /docs\/EMBED\.md/);
});
