// A whole GRU sequence as tfjs ops with a hand-written gradient; the same structure and reasons
// as lstm.ts (one input-projection matMul for all steps, few ops per step, weight gradients as
// one matMul per batch against explicitly transposed operands).
//
// Maths and layout are tfjs-layers' GRU (Keras reset_after=false): kernel [F,3H],
// recurrentKernel [H,3H], bias [3H], gates z, r, h:
//   z = sig(x·Wz + h·Uz + bz), r = sig(x·Wr + h·Ur + br),
//   hh = tanh(x·Wh + (r*h)·Uh + bh), h' = z*h + (1-z)*hh.
import * as tf from '../tf.js';
import { joinAlong, splitAlong, stack0, unstack0 } from './kernels.js';
import { columnSums, customOp, fastTanh, hiddenGrads, project, sequenceSizes, stepOrder, type SequenceOptions } from './project.js';

/**
 * Runs a GRU over a time-major x [T,B,F] from zero state; returns [T,B,H] or the final h [B,H].
 * Differentiable w.r.t. all four inputs.
 */
export function gruSequence(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  opts: SequenceOptions,
): tf.Tensor {
  const { steps, batch, features, units } = sequenceSizes('gruSequence', 3, x, kernel, recurrentKernel);
  const xp = project(x, kernel, bias);
  const order = stepOrder(steps, opts);

  const op = customOp(([xpIn, , uIn], save) => {
    const [xzr, xh] = splitAlong(xpIn!, [2 * units, units], 2) as [tf.Tensor, tf.Tensor];
    const xzrs = unstack0(xzr);
    const xhs = unstack0(xh);
    const [uzr, uh] = splitAlong(uIn!, [2 * units, units], 1) as [tf.Tensor2D, tf.Tensor2D];
    const gates: tf.Tensor[] = new Array(steps); // sigmoid(z, r) per time step
    const cands: tf.Tensor[] = new Array(steps); // hh
    const rhs: tf.Tensor[] = new Array(steps); // r*h_prev
    const hPrev: tf.Tensor[] = new Array(steps);
    const hs: tf.Tensor[] = new Array(steps);
    let h: tf.Tensor = tf.zeros([batch, units]);
    order.forEach((t, k) => {
      const a = tf.sigmoid(k === 0 ? xzrs[t]! : tf.add(xzrs[t]!, tf.matMul(h, uzr)));
      const [z, r] = splitAlong(a, [units, units], 1) as [tf.Tensor, tf.Tensor];
      const rh = tf.mul(r, h);
      const hh = fastTanh(k === 0 ? xhs[t]! : tf.add(xhs[t]!, tf.matMul(rh, uh)));
      const hNew = tf.add(hh, tf.mul(z, tf.sub(h, hh)));
      gates[t] = a;
      cands[t] = hh;
      rhs[t] = rh;
      hPrev[t] = h;
      hs[t] = hNew;
      h = hNew;
    });
    save([
      stack0(gates),
      stack0(cands),
      stack0(rhs),
      stack0(hPrev),
      tf.reshape(x, [batch * steps, features]),
      uzr,
      uh,
    ]);
    const value = opts.returnSequences ? stack0(hs) : tf.clone(h);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [A, HH, RH, Hp, x2, uzrS, uhS] = saved as [
          tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D,
        ];
        // Step-independent factors for all steps at once:
        // da_h = dh*(1-z)*(1-hh^2); da_z = dh*(h_prev-hh)*z(1-z); da_r = d(rh)*h_prev*r(1-r);
        // dh_prev = dh*z + d(rh)*r + [da_z,da_r]·Uzr^T, with d(rh) = da_h·Uh^T.
        const [Z, R] = splitAlong(A, [units, units], 2) as [tf.Tensor, tf.Tensor];
        const Ph = tf.mul(tf.sub(1, Z), tf.sub(1, tf.square(HH)));
        const Pz = tf.mul(tf.sub(Hp, HH), tf.mul(Z, tf.sub(1, Z)));
        const Pr = tf.mul(Hp, tf.mul(R, tf.sub(1, R)));
        const [Phs, Pzs, Prs, Zs, Rs] = [Ph, Pz, Pr, Z, R].map((p) => unstack0(p)) as [
          tf.Tensor[], tf.Tensor[], tf.Tensor[], tf.Tensor[], tf.Tensor[],
        ];
        const hiddenGrad = hiddenGrads(dy, opts, steps);
        const uzrT = tf.transpose(uzrS);
        const uhT = tf.transpose(uhS);
        const dAzr: tf.Tensor[] = new Array(steps);
        const dAh: tf.Tensor[] = new Array(steps);
        let dhNext: tf.Tensor | null = null;
        for (let k = steps - 1; k >= 0; k--) {
          const t = order[k]!;
          const dh = hiddenGrad(k, t, dhNext);
          const dah = tf.mul(dh, Phs[t]!);
          const drh = tf.matMul(dah, uhT);
          const dazr = joinAlong([tf.mul(dh, Pzs[t]!), tf.mul(drh, Prs[t]!)], 1);
          dAzr[t] = dazr;
          dAh[t] = dah;
          if (k > 0) dhNext = tf.add(tf.add(tf.mul(dh, Zs[t]!), tf.mul(drh, Rs[t]!)), tf.matMul(dazr, uzrT));
        }
        const dAzr2 = tf.reshape(stack0(dAzr), [batch * steps, 2 * units]);
        const dAh2 = tf.reshape(stack0(dAh), [batch * steps, units]);
        const dXp2 = joinAlong([dAzr2, dAh2], 1);
        const dW = tf.matMul(tf.transpose(x2), dXp2);
        const dUzr = tf.matMul(tf.transpose(tf.reshape(Hp, [batch * steps, units])), dAzr2);
        const dUh = tf.matMul(tf.transpose(tf.reshape(RH, [batch * steps, units])), dAh2);
        const dB = columnSums(dXp2 as tf.Tensor2D);
        return [tf.reshape(dXp2, [steps, batch, 3 * units]), dW, joinAlong([dUzr, dUh], 1), dB];
      },
    };
  });
  return op(xp, kernel, recurrentKernel, bias);
}
