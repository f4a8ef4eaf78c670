// stages/nn/tf.ts in place of the @tensorflow/tfjs umbrella: besides tfjs-core's and
// tfjs-layers' exports, every gradient and every Tensor method that tfjs-core ships is
// registered, as the umbrella registers them. Both lists are read from tfjs-core's own files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import * as tf from '../stages/nn/tf.js';

const coreDist = join(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/package.json')), 'dist');
const read = (path: string): string => readFileSync(join(coreDist, path), 'utf8');

test("every gradient of tfjs-core's register_all_gradients is registered", () => {
  const kernels = [...read('register_all_gradients.js').matchAll(/from '\.\/gradients\/(\w+)_grad'/g)].map((m) => m[1]!);
  assert.ok(kernels.length > 100, `${kernels.length} gradients listed`);
  assert.deepEqual(kernels.filter((k) => tf.getGradient(k) === undefined), []);
});

test("every chained op of tfjs-core's register_all_chained_ops is a Tensor method", () => {
  const files = [...read('public/chained_ops/register_all_chained_ops.js').matchAll(/^import '\.\/(\w+)';$/gm)].map((m) => m[1]!);
  const methods = files.flatMap((f) => [...read(`public/chained_ops/${f}.js`).matchAll(/\.prototype\.(\w+) = function/g)].map((m) => m[1]!));
  assert.ok(methods.length > 100, `${methods.length} methods listed`);
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  assert.deepEqual(methods.filter((m) => typeof proto[m] !== 'function'), []);
});

test('a gradient through Tensor methods on the cpu backend', async () => {
  assert.ok(await tf.setBackend('cpu'));
  const x = tf.tensor1d([1, -2, 3]);
  const g = tf.grad((v: tf.Tensor) => v.square().mul(0.5).sum())(x);
  assert.deepEqual(Array.from(g.dataSync()), [1, -2, 3]);
  tf.dispose([x, g]);
});
