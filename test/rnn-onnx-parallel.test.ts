// The ONNX Runtime LSTM with its two directions run at once (parallelDirections: the parallel
// executor, one intra-op thread per node) gives the same bits as the sequential executor, in
// every direction/sequence case, for the output and every gradient.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnnxLstm } from '../stages/nn/rnn/onnx/onnx-lstm.js';
import { randArray } from './helpers/rnn-reference.js';

test('parallel directions: bit-identical output and gradients to the sequential executor', async () => {
  const [B, T, F, H] = [5, 12, 16, 8];
  const x = randArray(B * T * F, 'px');
  for (const bidirectional of [false, true]) {
    for (const returnSequences of [false, true]) {
      const bits: Buffer[] = [];
      for (const parallelDirections of [false, true]) {
        const rnn = await OnnxLstm.create({ units: H, features: F, steps: T, bidirectional, returnSequences, inputGradient: true, threads: 1, parallelDirections });
        const weights = rnn.weightShapes().map((s, i) => randArray(s.reduce((a, b) => a * b, 1), `pw${i}`, 0.5));
        const fwd = await rnn.forward(x, B, weights);
        const dy = randArray(fwd.output.length, 'pdy');
        const back = await rnn.backward(x, B, weights, fwd, dy);
        await rnn.release();
        bits.push(Buffer.concat([fwd.output, ...back.grads, back.dx!].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
      }
      assert.ok(bits[0]!.length > 0);
      assert.ok(bits[0]!.equals(bits[1]!), `bi=${bidirectional} seq=${returnSequences}: parallel and sequential differ`);
    }
  }
});
