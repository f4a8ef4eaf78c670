// What the train and metrics stages put in their fingerprints besides params: the resolved
// tfjs backend (both: scores differ slightly by backend) and, for train.rnn onnx, the ONNX
// Runtime version. Both env() calls run during `pipeline status`, so they must stay cheap:
// neither may load tfjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const stages = join(dirname(fileURLToPath(import.meta.url)), '..', 'stages');

test('train and metrics record the same resolved backend, without loading tfjs', () => {
  const script = `
    import { createRequire } from 'node:module';
    const { default: train } = await import(${JSON.stringify(join(stages, 'train.js'))});
    const { default: metrics } = await import(${JSON.stringify(join(stages, 'metrics.js'))});
    const ctx = (params) => ({ params, paramOr: (k, d) => (k in params ? params[k] : d) });
    const out = {
      train: await train.env(ctx({})),
      trainFast: await train.env(ctx({ 'train.rnn': 'fast' })),
      metrics: await metrics.env(ctx({})),
      tfjsLoaded: Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('tfjs-core')),
    };
    console.log(JSON.stringify(out));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { train: Record<string, string>; trainFast: Record<string, string>; metrics: Record<string, string>; tfjsLoaded: boolean };
  assert.equal(out.tfjsLoaded, false);
  for (const key of ['tfjs', 'backend', '@tensorflow/tfjs-backend-wasm', 'wasm.simd']) {
    assert.ok(out.metrics[key] !== undefined, `metrics env lacks ${key}`);
    assert.equal(out.metrics[key], out.train[key], key);
  }
  // The default train.rnn is onnx: its runtime's version is fingerprinted; not with fast.
  assert.match(out.train['onnxruntime'] ?? '', /^\d+\.\d+\.\d+$/);
  assert.equal(out.trainFast['onnxruntime'], undefined);
  assert.equal(out.metrics['onnxruntime'], undefined);
});
