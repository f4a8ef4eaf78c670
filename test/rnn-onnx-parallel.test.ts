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

test('parallel directions holding a folded LayerNorm too: a backward that runs the next forward gives the bits of a forward of its own; errors are clear', async () => {
  const { FusedAdamOptimizer } = await import('../stages/nn/fused-adam.js');
  const [B, T, F, H] = [3, 4, 6, 2];
  const options: OnnxLstmOptions = { units: H, features: F, steps: T, bidirectional: true, returnSequences: true, inputGradient: false, inputNorm: { epsilon: 1e-3 }, threads: 1, parallelDirections: true };
  const weights = (await OnnxLstm.create({ ...options, parallelDirections: false })).weightShapes().map((s, i) => randArray(s.reduce((a, b) => a * b, 1), `nw${i}`, 0.5));
  const norm = { weights: [randArray(F, 'ng', 0.5).map((v) => 1 + v), randArray(F, 'nb', 0.5)] as [Float32Array, Float32Array] };
  const attrs = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-8).nextStepAttrs();
  const xs = [0, 1, 2, 3].map((s) => randArray((s === 2 ? 2 : B) * T * F, `nx${s}`));
  const batchOf = (x: Float32Array): number => x.length / (T * F);
  const runs: Buffer[] = [];
  for (const ahead of [false, true]) {
    const rnn = await OnnxLstm.create(options);
    try {
      await rnn.loadState({ weights, norm });
      const outs: Float32Array[] = [];
      let fwd = await rnn.forward(xs[0]!, batchOf(xs[0]!), null);
      for (let s = 0; s < xs.length; s++) {
        outs.push(fwd.output.slice());
        const dy = randArray(fwd.output.length, `ndy${s}`);
        const next = s + 1 < xs.length ? xs[s + 1]! : undefined;
        const back = await rnn.backward(xs[s]!, batchOf(xs[s]!), null, fwd, dy, { adam: attrs, ...(ahead && next !== undefined ? { next: { x: next, batch: batchOf(next) } } : {}) });
        // Held gamma and beta: no LayerNorm gradient comes back, the workers update them.
        assert.equal(back.normGrads, undefined);
        assert.equal(back.next !== undefined, ahead && next !== undefined);
        if (next !== undefined) fwd = back.next !== undefined ? await back.next() : await rnn.forward(next, batchOf(next), null);
      }
      const state = await rnn.fetchState();
      assert.ok(state.norm !== undefined);
      assert.ok(state.norm.weights.some((a, k) => a.some((v, i) => v !== norm.weights[k]![i])), 'gamma and beta did not move');
      runs.push(bytes([...outs, ...state.weights, ...state.m, ...state.v, ...state.norm.weights, ...state.norm.m, ...state.norm.v]));
      if (ahead) {
        // A next forward needs an update of held weights.
        const f2 = await rnn.forward(xs[0]!, B, null);
        await assert.rejects(rnn.backward(xs[0]!, B, null, f2, randArray(f2.output.length, 'ne'), { next: { x: xs[1]!, batch: B } }), /runs the next forward only with an Adam update/);
        // A forward run ahead and never asked for is waited for by what comes next.
        const back = await rnn.backward(xs[0]!, B, null, f2, randArray(f2.output.length, 'ne'), { adam: attrs, next: { x: xs[1]!, batch: B } });
        assert.ok(back.next !== undefined);
        const f3 = await rnn.forward(xs[2]!, 2, null);
        assert.equal(f3.output.length, 2 * T * 2 * H);
      }
    } finally {
      await rnn.release();
    }
  }
  assert.ok(runs[0]!.equals(runs[1]!), 'the next forward run ahead differs from one of its own');
});
