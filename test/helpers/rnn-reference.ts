// An independent float64 implementation of tfjs' LSTM/GRU equations (sigmoid gates), for
// finite-difference checks of the recurrent layers' gradients.
import assert from 'node:assert/strict';
import seedrandom from 'seedrandom';
import type { RecurrentCell } from '../../stages/nn/recurrent.js';

export interface Case {
  cell: RecurrentCell;
  bidirectional: boolean;
  returnSequences: boolean;
}

export type Params = { x: Float64Array; w: Float64Array[] }; // w: [kernel, recurrent, bias] per direction

/** Output of the layer for input p.x [B,T,F] and weights p.w (tfjs order), in float64. */
export function refForward(c: Case, p: Params, [B, T, F]: [number, number, number], H: number): Float64Array {
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const G = c.cell === 'lstm' ? 4 : 3;
  const dirs = c.bidirectional ? 2 : 1;
  const D = dirs * H;
  const out = new Float64Array(c.returnSequences ? B * T * D : B * D);
  for (let d = 0; d < dirs; d++) {
    const [W, U, bias] = [p.w[3 * d]!, p.w[3 * d + 1]!, p.w[3 * d + 2]!];
    for (let b = 0; b < B; b++) {
      let h = new Float64Array(H);
      let cs = new Float64Array(H);
      for (let k = 0; k < T; k++) {
        const t = d === 1 ? T - 1 - k : k;
        const xz = new Float64Array(G * H);
        const hz = new Float64Array(G * H);
        for (let j = 0; j < G * H; j++) {
          let s = bias[j]!;
          for (let f = 0; f < F; f++) s += p.x[(b * T + t) * F + f]! * W[f * G * H + j]!;
          xz[j] = s;
        }
        const hNew = new Float64Array(H);
        if (c.cell === 'lstm') {
          for (let j = 0; j < G * H; j++) {
            let s = 0;
            for (let q = 0; q < H; q++) s += h[q]! * U[q * G * H + j]!;
            hz[j] = s;
          }
          const cNew = new Float64Array(H);
          for (let q = 0; q < H; q++) {
            const i = sig(xz[q]! + hz[q]!);
            const f = sig(xz[H + q]! + hz[H + q]!);
            const g = Math.tanh(xz[2 * H + q]! + hz[2 * H + q]!);
            const o = sig(xz[3 * H + q]! + hz[3 * H + q]!);
            cNew[q] = f * cs[q]! + i * g;
            hNew[q] = o * Math.tanh(cNew[q]!);
          }
          cs = cNew;
        } else {
          const z = new Float64Array(H);
          const r = new Float64Array(H);
          for (let q = 0; q < H; q++) {
            let sz = 0;
            let sr = 0;
            for (let m = 0; m < H; m++) {
              sz += h[m]! * U[m * G * H + q]!;
              sr += h[m]! * U[m * G * H + H + q]!;
            }
            z[q] = sig(xz[q]! + sz);
            r[q] = sig(xz[H + q]! + sr);
          }
          for (let q = 0; q < H; q++) {
            let sh = 0;
            for (let m = 0; m < H; m++) sh += r[m]! * h[m]! * U[m * G * H + 2 * H + q]!;
            const hh = Math.tanh(xz[2 * H + q]! + sh);
            hNew[q] = z[q]! * h[q]! + (1 - z[q]!) * hh;
          }
        }
        h = hNew;
        if (c.returnSequences) for (let q = 0; q < H; q++) out[(b * T + t) * D + d * H + q] = h[q]!;
      }
      if (!c.returnSequences) for (let q = 0; q < H; q++) out[b * D + d * H + q] = h[q]!;
    }
  }
  return out;
}


/** Central finite differences of loss() w.r.t. every entry of arr (restored afterwards). */
export function finiteDifferences(arr: Float64Array, loss: () => number, eps = 1e-6): Float32Array {
  const numeric = new Float32Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i]!;
    arr[i] = v + eps;
    const up = loss();
    arr[i] = v - eps;
    const down = loss();
    arr[i] = v;
    numeric[i] = (up - down) / (2 * eps);
  }
  return numeric;
}

/** Uniform values in [-scale, scale) from a seeded generator. */
export function randArray(n: number, seed: string, scale = 1): Float32Array {
  const rng = seedrandom(seed);
  return Float32Array.from({ length: n }, () => (rng() * 2 - 1) * scale);
}

/** Element-wise |actual - expected| <= rel * max(|expected|, 10% of the largest |expected|). */
export function assertClose(actual: Float32Array, expected: Float32Array, rel: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    if (!(err <= rel * Math.max(Math.abs(expected[i]!), scale * 0.1))) {
      assert.fail(`${what}[${i}]: ${actual[i]} vs ${expected[i]} (|err| ${err.toExponential(2)}, max |expected| ${scale.toExponential(2)})`);
    }
  }
}
