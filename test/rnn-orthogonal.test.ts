// The orthogonal initialiser of the recurrent kernels (stages/nn/orthogonal.ts): orthogonal,
// equal to tfjs' own initialiser up to rounding, seeded, quiet, and serialisable in a stock
// layer's config.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '../stages/nn/tf.js';
import { SeededRandom } from '../stages/models/seeded-random.js';
import { directoryHandler } from '../stages/models/io.js';
import { activateBackend, resolveBackend } from '../stages/nn/backend.js';
import { Orthogonal, orthonormalColumns } from '../stages/nn/orthogonal.js';
import { recurrent } from '../stages/nn/recurrent.js';
import { assertClose } from './helpers/rnn-reference.js';

/** max |(A Aᵀ or AᵀA) - I| over the smaller Gram matrix of a row-major [rows, cols] matrix. */
function gramError(a: Float32Array, rows: number, cols: number): number {
  const n = Math.min(rows, cols);
  const at = (i: number, j: number): number => (rows >= cols ? a[i * cols + j]! : a[j * cols + i]!);
  const m = Math.max(rows, cols);
  let worst = 0;
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += at(k, p) * at(k, q);
      worst = Math.max(worst, Math.abs(s - (p === q ? 1 : 0)));
    }
  }
  return worst;
}

test('gives orthonormal rows or columns, tall or wide, scaled by gain', async () => {
  await activateBackend(resolveBackend('wasm'));
  for (const [rows, cols] of [[128, 512], [512, 128], [64, 64]] as const) {
    const w = new Orthogonal({ seed: 3 }).apply([rows, cols]);
    assert.deepEqual(w.shape, [rows, cols]);
    const err = gramError(w.dataSync() as Float32Array, rows, cols);
    assert.ok(err < 1e-5, `[${rows},${cols}]: |QᵀQ - I| ${err}`);
    w.dispose();
  }
  const g = new Orthogonal({ seed: 3, gain: 2 }).apply([8, 4]);
  const one = new Orthogonal({ seed: 3 }).apply([8, 4]);
  assertClose(g.dataSync() as Float32Array, (tf.mul(one, 2).dataSync() as Float32Array), 1e-6, 'gain 2');
  tf.dispose([g, one]);
  // Q of a Householder-unfriendly input: columns nearly parallel.
  const a = Float64Array.from({ length: 6 * 3 }, (_, i) => 1 + 1e-6 * Math.sin(i));
  const q = orthonormalColumns(a, 6, 3);
  assert.ok(gramError(Float32Array.from(q), 6, 3) < 1e-6);
  assert.throws(() => orthonormalColumns(new Float64Array(4 * 2), 4, 2), /linearly dependent/);
});

test('equals tfjs\' orthogonal initialiser with the same seed, up to rounding', async () => {
  await activateBackend(resolveBackend('wasm'));
  // Small enough that tfjs does not warn (<= 2000 elements).
  for (const shape of [[8, 32], [32, 8], [20, 20]]) {
    const ours = new Orthogonal({ seed: 11 }).apply(shape);
    const theirs = tf.initializers.orthogonal({ seed: 11 }).apply(shape);
    assertClose(ours.dataSync() as Float32Array, theirs.dataSync() as Float32Array, 1e-4, `[${shape.join(',')}]`);
    tf.dispose([ours, theirs]);
  }
});

test('is reproducible: by seed, or by the seeded Math.random training installs', async () => {
  await activateBackend(resolveBackend('wasm'));
  const draw = (o: Orthogonal): Float32Array => {
    const t = o.apply([16, 64]);
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return d;
  };
  assert.deepEqual(draw(new Orthogonal({ seed: 5 })), draw(new Orthogonal({ seed: 5 })));
  assert.notDeepEqual(draw(new Orthogonal({ seed: 5 })), draw(new Orthogonal({ seed: 6 })));
  const a = new SeededRandom('x').run(() => draw(new Orthogonal()));
  const b = new SeededRandom('x').run(() => draw(new Orthogonal()));
  assert.deepEqual(a, b);
});

test('building the recurrent layers prints nothing (tfjs\' initialiser warned for every LSTM kernel)', async () => {
  await activateBackend(resolveBackend('wasm'));
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]): void => {
    warned.push(args.map(String).join(' '));
  };
  try {
    for (const impl of ['fast', 'stock'] as const) {
      const input = tf.input({ shape: [4, 512] });
      const model = tf.model({ inputs: input, outputs: recurrent({ cell: 'lstm', units: 128, bidirectional: true, returnSequences: false, impl, seed: 1 }).apply(input) as tf.SymbolicTensor });
      model.dispose();
    }
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warned, []);
});

test('a stock layer initialised with it saves and loads back (the class is registered)', async () => {
  await activateBackend(resolveBackend('wasm'));
  const dir = mkdtempSync(join(tmpdir(), 'rnn-orthogonal-'));
  try {
    const input = tf.input({ shape: [3, 5] });
    const model = tf.model({ inputs: input, outputs: recurrent({ cell: 'lstm', units: 4, bidirectional: false, returnSequences: false, impl: 'stock', seed: 2 }).apply(input) as tf.SymbolicTensor });
    await model.save(directoryHandler(dir));
    const loaded = await tf.loadLayersModel(directoryHandler(dir));
    const x = tf.tensor3d(Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.cos(i)), [2, 3, 5]);
    assert.deepEqual((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync());
    const config = JSON.stringify(loaded.layers[1]!.getConfig());
    assert.match(config, /"className":"PipelineOrthogonal"/);
    model.dispose();
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
