// The ONNX Runtime LSTM with its two directions run at once (parallelDirections: single-direction
// sessions, one worker thread per direction, results through shared memory) gives the bits of
// the sequential whole-layer sessions, in every direction/sequence case, for the output and
// every gradient, step after step and across batch sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnnxLstm, type OnnxLstmOptions } from '../stages/nn/rnn/onnx/onnx-lstm.js';
import { randArray } from './helpers/rnn-reference.js';

const bytes = (arrays: Float32Array[]): Buffer => Buffer.concat(arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));

test('parallel directions: bit-identical output and gradients to the sequential sessions', async () => {
  const [T, F, H] = [12, 16, 8];
  const variants: Partial<OnnxLstmOptions>[] = [{ parallelDirections: false }, { parallelDirections: true }];
  for (const bidirectional of [false, true]) {
    for (const returnSequences of [false, true]) {
      const runs: Buffer[] = [];
      for (const v of variants) {
        const rnn = await OnnxLstm.create({ units: H, features: F, steps: T, bidirectional, returnSequences, inputGradient: true, threads: 1, ...v });
        const weights = rnn.weightShapes().map((s, i) => randArray(s.reduce((a, b) => a * b, 1), `pw${i}`, 0.5));
        const parts: Float32Array[] = [];
        // Two batch sizes, one after the other (the kept arrays are used in part, then whole).
        for (const B of [5, 3, 5]) {
          const x = randArray(B * T * F, `px${B}`);
          const fwd = await rnn.forward(x, B, weights);
          const back = await rnn.backward(x, B, weights, fwd, randArray(fwd.output.length, `pdy${B}`));
          // Copies: with parallelDirections the layer reuses its result arrays at the next step.
          parts.push(...[fwd.output, ...back.grads, back.dx!].map((a) => a.slice()));
        }
        await rnn.release();
        runs.push(bytes(parts));
      }
      assert.ok(runs[0]!.length > 0);
      runs.slice(1).forEach((r, i) => assert.ok(runs[0]!.equals(r), `bi=${bidirectional} seq=${returnSequences}: ${JSON.stringify(variants[i + 1])} differs from sequential`));
    }
  }
});

test('parallel directions: a backward without its forward fails with a clear error, and the layer stays usable', async () => {
  const [B, T, F, H] = [2, 5, 6, 4];
  const rnn = await OnnxLstm.create({ units: H, features: F, steps: T, bidirectional: true, returnSequences: false, inputGradient: false, threads: 1, parallelDirections: true });
  try {
    const weights = rnn.weightShapes().map((s, i) => randArray(s.reduce((a, b) => a * b, 1), `ew${i}`, 0.5));
    const x = randArray(B * T * F, 'ex');
    const fwd = await rnn.forward(x, B, weights);
    const dy = randArray(fwd.output.length, 'edy');
    const first = bytes((await rnn.backward(x, B, weights, fwd, dy)).grads);
    // The worker let the step's saved tensors go with its backward: a second one is refused.
    await assert.rejects(rnn.backward(x, B, weights, fwd, dy), /direction worker: backward of step 1 without its forward/);
    const again = await rnn.backward(x, B, weights, await rnn.forward(x, B, weights), dy);
    assert.ok(bytes(again.grads).equals(first));
  } finally {
    await rnn.release();
  }
});

test('parallel directions holding their weights: Adam updates in the workers, errors through the mailbox are clear, and the layer stays usable', async () => {
  const { FusedAdamOptimizer } = await import('../stages/nn/fused-adam.js');
  const [B, T, F, H] = [3, 4, 5, 2];
  const rnn = await OnnxLstm.create({ units: H, features: F, steps: T, bidirectional: true, returnSequences: true, inputGradient: true, threads: 1, parallelDirections: true });
  try {
    const weights = rnn.weightShapes().map((s, i) => randArray(s.reduce((a, b) => a * b, 1), `hw${i}`, 0.5));
    await rnn.loadState({ weights });
    const attrs = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8).nextStepAttrs();
    const x = randArray(B * T * F, 'hx');
    const dy = randArray(B * T * 2 * H, 'hdy');
    // The first step's requests go by message (new shared arrays), the next ones through the mailbox.
    for (let s = 0; s < 3; s++) {
      const fwd = await rnn.forward(x, B, null);
      const back = await rnn.backward(x, B, null, fwd, dy, { adam: attrs });
      assert.equal(back.grads.length, 0);
      assert.equal(back.dx!.length, B * T * F);
    }
    const fwd = await rnn.forward(x, B, null);
    await rnn.backward(x, B, null, fwd, dy, { adam: attrs });
    await assert.rejects(rnn.backward(x, B, null, fwd, dy, { adam: attrs }), /direction worker: backward of step \d+ without its forward/);
    // Still usable, and the held weights moved away from the loaded ones (4 updates).
    const state = await rnn.fetchState();
    assert.ok(!bytes(state.weights).equals(bytes(weights)));
    assert.ok(state.m.some((m) => m.some((v) => v !== 0)));
    await rnn.backward(x, B, null, await rnn.forward(x, B, null), dy, { adam: attrs });
  } finally {
    await rnn.release();
  }
});
