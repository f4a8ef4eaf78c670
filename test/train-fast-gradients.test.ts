// The gradients registered by stages/nn/fast-gradients.ts give tfjs' own values to the bit: each
// case is computed with tfjs' gradient first, then with ours (registration is process-wide),
// on the wasm and the cpu backends, ties and -0 included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { registerFastGradients } from '../stages/nn/fast-gradients.js';
import { randArray } from './helpers/rnn-reference.js';

interface Case {
  name: string;
  shape: number[];
  axis: number | number[];
  keepDims: boolean;
  data: Float32Array;
}

function cases(): Case[] {
  const [B, T, C] = [3, 7, 5];
  const plain = randArray(B * T * C, 'mx');
  // Ties: every value rounded to one of a few levels, so several steps share the max; and zeros of both signs.
  const ties = plain.map((v) => Math.round(v * 2) / 2);
  for (let i = 0; i < ties.length; i += 4) ties[i] = i % 8 === 0 ? -0 : 0;
  // Near-ties: values a few ulps (and a few 1e-9) below the max of their column.
  const near = Float32Array.from(plain, (v, i) => (i % 3 === 0 ? 0.0011099583934992552 : i % 3 === 1 ? 0.0011099581606686115 : v - 1e-9));
  return [
    { name: 'max over time, near-ties (a few ulps apart)', shape: [B, T, C], axis: 1, keepDims: false, data: near },
    { name: 'max over time [B,T,C]', shape: [B, T, C], axis: 1, keepDims: false, data: plain },
    { name: 'max over time, ties and signed zeros', shape: [B, T, C], axis: 1, keepDims: false, data: ties },
    { name: 'max over two axes, keepDims', shape: [B, T, C], axis: [0, 2], keepDims: true, data: ties },
    { name: 'max over the last axis', shape: [B, T, C], axis: -1, keepDims: false, data: plain },
  ];
}

/** x's gradient of sum(max(x) * r) for each case, as bytes. */
function grads(): Buffer[] {
  return cases().map((c) =>
    tf.tidy(() => {
      const x = tf.tensor(c.data, c.shape);
      const probe = tf.max(x, c.axis, c.keepDims);
      const r = tf.tensor(randArray(probe.size, `r${c.name}`), probe.shape);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.max(a, c.axis, c.keepDims), r)))(x);
      return Buffer.from((g.dataSync() as Float32Array).buffer.slice(0));
    }),
  );
}

test('Max gradient: bit-identical to tfjs\' own on wasm and cpu', async () => {
  const stock = new Map<string, Buffer[]>();
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    await tf.ready();
    stock.set(backend, grads());
  }
  registerFastGradients();
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    await tf.ready();
    const ours = grads();
    cases().forEach((c, i) => {
      const a = stock.get(backend)![i]!;
      assert.ok(a.some((b) => b !== 0), `${c.name}: the gradient is not all zeros`);
      assert.ok(ours[i]!.equals(a), `${backend}, ${c.name}: differs from tfjs' gradient`);
    });
  }
});
