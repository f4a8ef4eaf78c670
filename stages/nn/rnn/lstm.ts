// A whole LSTM sequence as two tfjs ops with hand-written gradients, shaped for the wasm
// backend. Why by hand: tfjs-layers' LSTM runs each step's cell through autodiff, so its
// backward is dozens of tiny ops per step plus a weight-gradient matMul per step with a
// transposed operand. The wasm backend sends every transposed matMul to a naive scalar loop
// (about 12x slower than XNNPACK, which it only uses for plain [M,K]x[K,N] products), and each
// op costs tens of microseconds of dispatch. So here:
//   - the input projection of all steps is one matMul (x·W, XNNPACK);
//   - a step is 11 small ops forward and 7 backward; everything that does not depend on the
//     recurrence (activation derivatives, the products they enter) is computed for all steps
//     at once before the backward loop;
//   - every weight gradient is one large matMul per batch over all steps, with explicitly
//     transposed operands (a transpose kernel is fast, a transposed matMul is not), and the
//     per-step matMul runs against a transposed recurrent kernel made once per batch, so XNNPACK
//     packs it once (its operator cache is keyed by the weight tensor).
//
// Layout and maths are tfjs-layers' (kernel [F,4H], recurrentKernel [H,4H], bias [4H], gates
// i,f,c,o; c' = f*c + i*tanh(.), h = o*tanh(c'); sigmoid as recurrent activation). Internally
// the candidate gate uses tanh(z) = 2*sigmoid(2z) - 1 so one sigmoid covers all four gates: the
// weights enter pre-scaled (columns of the c gate doubled) through recorded tf.mul ops, whose
// own gradients undo the scaling.
import * as tf from '../tf.js';
import { joinAlong, splitAlong, stack0, unstack0 } from './kernels.js';
import { columnSums, customOp, fastTanh, hiddenGrads, project, sequenceSizes, stepOrder, type SequenceOptions } from './project.js';

export type { SequenceOptions } from './project.js';

/** Column scale [4H] that doubles the candidate (c) gate: tanh(z) = 2*sigmoid(2z) - 1. */
function gateScale(units: number): tf.Tensor1D {
  const s = new Float32Array(4 * units).fill(1);
  s.fill(2, 2 * units, 3 * units);
  return tf.tensor1d(s);
}

/**
 * Runs an LSTM over a time-major x [T,B,F] from zero state; returns [T,B,H] (time-major) or the
 * final h [B,H]. Differentiable w.r.t. x, kernel, recurrentKernel and bias (tf.grad,
 * optimizer.minimize, LayersModel.fit).
 */
export function lstmSequence(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  opts: SequenceOptions,
): tf.Tensor {
  const { steps, batch, features, units } = sequenceSizes('lstmSequence', 4, x, kernel, recurrentKernel);
  const scale = gateScale(units);
  // Recorded ops: their gradients (dy*scale) take the scaled-space gradients back to W, U, b.
  const w = tf.mul(kernel, scale) as tf.Tensor2D;
  const u = tf.mul(recurrentKernel, scale) as tf.Tensor2D;
  const b = tf.mul(bias, scale) as tf.Tensor1D;
  scale.dispose();
  const xp = project(x, w, b);
  const order = stepOrder(steps, opts);

  const op = customOp(([xpIn, , uIn], save) => {
    const xs = unstack0(xpIn!);
    // Per time step t (not iteration position): sigmoid of the gates, c, c before, h before.
    const sig: tf.Tensor[] = new Array(steps);
    const cs: tf.Tensor[] = new Array(steps);
    const cPrev: tf.Tensor[] = new Array(steps);
    const hPrev: tf.Tensor[] = new Array(steps);
    const hs: tf.Tensor[] = new Array(steps);
    const zeros = tf.zeros([batch, units]);
    let h: tf.Tensor = zeros;
    let c: tf.Tensor = zeros;
    order.forEach((t, k) => {
      const z = k === 0 ? xs[t]! : tf.add(xs[t]!, tf.matMul(h, uIn!));
      const s = tf.sigmoid(z);
      const [si, sf, sg, so] = splitAlong(s, [units, units, units, units], 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const g = tf.sub(tf.mul(sg, 2), 1);
      const cNew = k === 0 ? tf.mul(si, g) : tf.add(tf.mul(sf, c), tf.mul(si, g));
      const hNew = tf.mul(so, fastTanh(cNew));
      sig[t] = s;
      cPrev[t] = c;
      hPrev[t] = h;
      cs[t] = cNew;
      hs[t] = hNew;
      h = hNew;
      c = cNew;
    });
    const sAll = stack0(sig);
    const cAll = stack0(cs);
    const cPrevAll = stack0(cPrev);
    const hPrevAll = stack0(hPrev);
    save([sAll, cAll, cPrevAll, hPrevAll, tf.reshape(x, [batch * steps, features]), uIn!]);
    const value = opts.returnSequences ? stack0(hs) : tf.clone(h);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [S, C, Cp, Hp, x2, uSaved] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor2D, tf.Tensor2D];
        const G = 4 * units;
        // Step-independent factors, for all steps at once ([B,T,*]):
        // dz_i = dc*g*si', dz_f = dc*c_prev*sf', dz_c = dc*i*2*sg', dz_o = dh*tanh(c)*so',
        // dc += dh*o*(1 - tanh(c)^2); s' = s*(1-s).
        const [Si, Sf, Sg, So] = splitAlong(S, [units, units, units, units], 2) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const D = tf.mul(S, tf.sub(1, S));
        const [Di, Df, Dg, Do] = splitAlong(D, [units, units, units, units], 2) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const TC = fastTanh(C);
        const P = joinAlong(
          [tf.mul(tf.sub(tf.mul(Sg, 2), 1), Di), tf.mul(Cp, Df), tf.mul(tf.mul(Si, Dg), 2), tf.mul(TC, Do)],
          2,
        );
        const K = tf.mul(So, tf.sub(1, tf.square(TC)));
        const Ps = unstack0(P);
        const Ks = unstack0(K);
        const Fs = unstack0(Sf);
        const hiddenGrad = hiddenGrads(dy, opts, steps);
        const ut = tf.transpose(uSaved);
        const dz: tf.Tensor[] = new Array(steps);
        let dhNext: tf.Tensor | null = null;
        let dcNext: tf.Tensor | null = null;
        for (let k = steps - 1; k >= 0; k--) {
          const t = order[k]!;
          const dh = hiddenGrad(k, t, dhNext);
          const dcHere = tf.mul(dh, Ks[t]!);
          const dc: tf.Tensor = dcNext === null ? dcHere : tf.add(dcNext, dcHere);
          const dzt = tf.mul(joinAlong([dc, dc, dc, dh], 1), Ps[t]!);
          dz[t] = dzt;
          if (k > 0) {
            dcNext = tf.mul(dc, Fs[t]!);
            dhNext = tf.matMul(dzt, ut);
          }
        }
        const dXp = stack0(dz);
        const dZ2 = tf.reshape(dXp, [batch * steps, G]);
        const dW = tf.matMul(tf.transpose(x2), dZ2);
        const dU = tf.matMul(tf.transpose(tf.reshape(Hp, [batch * steps, units])), dZ2);
        const dB = columnSums(dZ2 as tf.Tensor2D);
        return [dXp, dW, dU, dB];
      },
    };
  });
  return op(xp, w, u, b);
}
