// The forward and the backward pass of a (bidirectional) LSTM layer as two ONNX graphs, so
// that ONNX Runtime's native kernels (MLAS matrix products, multi-threaded) run them. ONNX
// Runtime's Node package is inference only: it has no autodiff, so the backward graph is
// written out here, step by step, with the same equations as ../lstm.ts.
//
// Weights are in tfjs-layers' layout (kernel [F,4H], recurrentKernel [H,4H], bias [4H], gates
// i,f,c,o), one triple per direction. The time length is fixed when the graphs are built (the
// graph is unrolled: a few nodes per step); the batch size is free.
import { GraphBuilder } from './graph.js';

export interface LstmGraphOptions {
  units: number;
  features: number;
  steps: number;
  bidirectional: boolean;
  returnSequences: boolean;
  /** Whether the backward graph also returns d(loss)/d(input). */
  inputGradient: boolean;
}

/** Names of the per-direction tensors the forward pass hands to the backward pass. */
export const SAVED = ['I', 'F', 'G', 'O', 'C', 'H'] as const;

export const weightNames = (d: number): [string, string, string] => [`W${d}`, `U${d}`, `b${d}`];
export const savedName = (what: string, d: number): string => `${what}${d}`;

const BATCH = 'batch';

function directions(o: LstmGraphOptions): number[] {
  return o.bidirectional ? [0, 1] : [0];
}

/** Iteration order of direction d: position k works on time step order[k]. */
function order(o: LstmGraphOptions, d: number): number[] {
  return Array.from({ length: o.steps }, (_, k) => (d === 1 ? o.steps - 1 - k : k));
}

/** X [B,T,F] -> time-major rows [T*B, F]. */
function timeMajorRows(g: GraphBuilder, x: string, o: LstmGraphOptions): string {
  const xt = g.one('Transpose', [x], { perm: [1, 0, 2] });
  return g.one('Reshape', [xt, g.int64([-1, o.features])]);
}

/** Y [B,T,2H] or [B,2H] plus every direction's I, F, G, O, C, H ([T,B,H], time-major). */
export function lstmForwardGraph(o: LstmGraphOptions): Uint8Array {
  const g = new GraphBuilder();
  const { units: H, steps: T, features: F } = o;
  const x = g.input('X', [BATCH, T, F]);
  const x2 = timeMajorRows(g, x, o);
  const lasts: string[] = [];
  const seqs: string[] = [];
  for (const d of directions(o)) {
    const [wn, un, bn] = weightNames(d);
    const w = g.input(wn, [F, 4 * H]);
    const u = g.input(un, [H, 4 * H]);
    const b = g.input(bn, [4 * H]);
    const xp = g.one('Reshape', [g.one('Gemm', [x2, w, b]), g.int64([T, -1, 4 * H])]);
    const xps = g.op('Split', [xp, g.int64(new Array<number>(T).fill(1))], { axis: 0 }, T);
    const rec: Record<(typeof SAVED)[number], string[]> = { I: [], F: [], G: [], O: [], C: [], H: [] };
    let h = '';
    let c = '';
    order(o, d).forEach((t, k) => {
      const z = k === 0 ? xps[t]! : g.one('Add', [xps[t]!, g.one('MatMul', [h, u])]);
      const [zi, zf, zg, zo] = g.op('Split', [z, g.int64([H, H, H, H])], { axis: 2 }, 4) as [string, string, string, string];
      const i = g.one('Sigmoid', [zi]);
      const f = g.one('Sigmoid', [zf]);
      const gg = g.one('Tanh', [zg]);
      const oo = g.one('Sigmoid', [zo]);
      const ig = g.one('Mul', [i, gg]);
      c = k === 0 ? ig : g.one('Add', [g.one('Mul', [f, c]), ig]);
      h = g.one('Mul', [oo, g.one('Tanh', [c])]);
      rec.I[t] = i;
      rec.F[t] = f;
      rec.G[t] = gg;
      rec.O[t] = oo;
      rec.C[t] = c;
      rec.H[t] = h;
    });
    for (const what of SAVED) g.output(g.one('Concat', rec[what], { axis: 0 }), savedName(what, d), [T, BATCH, H]);
    lasts.push(h);
    seqs.push(savedName('H', d));
  }
  const dirs = directions(o).length;
  if (o.returnSequences) {
    const y = dirs === 1 ? seqs[0]! : g.one('Concat', seqs, { axis: 2 });
    g.output(g.one('Transpose', [y], { perm: [1, 0, 2] }), 'Y', [BATCH, T, dirs * H]);
  } else {
    const y = dirs === 1 ? lasts[0]! : g.one('Concat', lasts, { axis: 2 });
    g.output(g.one('Reshape', [y, g.int64([-1, dirs * H])]), 'Y', [BATCH, dirs * H]);
  }
  return g.encode('lstm_forward');
}

/**
 * Inputs: X, each direction's U (and W when inputGradient), the forward's saved tensors and dY
 * (shaped as Y). Outputs: each direction's dW, dU, db (and dX).
 */
export function lstmBackwardGraph(o: LstmGraphOptions): Uint8Array {
  const g = new GraphBuilder();
  const { units: H, steps: T, features: F } = o;
  const dirs = directions(o).length;
  const x = g.input('X', [BATCH, T, F]);
  const x2 = timeMajorRows(g, x, o);
  const dy = g.input('dY', o.returnSequences ? [BATCH, T, dirs * H] : [BATCH, dirs * H]);
  // Per direction: the gradient arriving at each step's h (time-major pieces), or at the last h.
  const dyParts: string[] = o.returnSequences
    ? dirs === 1
      ? [g.one('Transpose', [dy], { perm: [1, 0, 2] })]
      : g.op('Split', [g.one('Transpose', [dy], { perm: [1, 0, 2] }), g.int64([H, H])], { axis: 2 }, 2)
    : (dirs === 1 ? [dy] : g.op('Split', [dy, g.int64([H, H])], { axis: 1 }, 2)).map((p) => g.one('Reshape', [p, g.int64([1, -1, H])]));
  const ones = g.int64(new Array<number>(T).fill(1));
  const dxs: string[] = [];
  for (const d of directions(o)) {
    const [wn, un] = weightNames(d);
    const u = g.input(un, [H, 4 * H]);
    const w = o.inputGradient ? g.input(wn, [F, 4 * H]) : '';
    const s = Object.fromEntries(SAVED.map((what) => [what, g.input(savedName(what, d), [T, BATCH, H])])) as Record<
      (typeof SAVED)[number],
      string
    >;
    const one = g.float([1]);
    const zeros = g.one('Mul', [g.one('Slice', [s.C, g.int64([0]), g.int64([1]), g.int64([0])]), g.float([0])]);
    // State before each step: the neighbour in iteration order, zero before the first.
    const before = (v: string): string =>
      d === 0
        ? g.one('Concat', [zeros, g.one('Slice', [v, g.int64([0]), g.int64([T - 1]), g.int64([0])])], { axis: 0 })
        : g.one('Concat', [g.one('Slice', [v, g.int64([1]), g.int64([T]), g.int64([0])]), zeros], { axis: 0 });
    const cPrev = before(s.C);
    const hPrev = before(s.H);
    // Step-independent factors for all steps at once (see ../lstm.ts):
    // dz_i = dc*g*i(1-i), dz_f = dc*c_prev*f(1-f), dz_c = dc*i*(1-g^2), dz_o = dh*tanh(c)*o(1-o),
    // dc = dc_next + dh*o*(1-tanh(c)^2).
    const tc = g.one('Tanh', [s.C]);
    const sigD = (v: string): string => g.one('Mul', [v, g.one('Sub', [one, v])]);
    const p = g.one(
      'Concat',
      [
        g.one('Mul', [s.G, sigD(s.I)]),
        g.one('Mul', [cPrev, sigD(s.F)]),
        g.one('Mul', [s.I, g.one('Sub', [one, g.one('Mul', [s.G, s.G])])]),
        g.one('Mul', [tc, sigD(s.O)]),
      ],
      { axis: 2 },
    );
    const kk = g.one('Mul', [s.O, g.one('Sub', [one, g.one('Mul', [tc, tc])])]);
    const ps = g.op('Split', [p, ones], { axis: 0 }, T);
    const ks = g.op('Split', [kk, ones], { axis: 0 }, T);
    const fs = g.op('Split', [s.F, ones], { axis: 0 }, T);
    const dys = o.returnSequences ? g.op('Split', [dyParts[d]!, ones], { axis: 0 }, T) : null;
    const ut = g.one('Transpose', [u], { perm: [1, 0] });
    const dz: string[] = new Array<string>(T);
    let dhNext = '';
    let dcNext = '';
    const ord = order(o, d);
    for (let k = T - 1; k >= 0; k--) {
      const t = ord[k]!;
      const dOut = dys !== null ? dys[t]! : k === T - 1 ? dyParts[d]! : '';
      const dh = dhNext === '' ? dOut : dOut === '' ? dhNext : g.one('Add', [dOut, dhNext]);
      const dcHere = g.one('Mul', [dh, ks[t]!]);
      const dc = dcNext === '' ? dcHere : g.one('Add', [dcNext, dcHere]);
      dz[t] = g.one('Mul', [g.one('Concat', [dc, dc, dc, dh], { axis: 2 }), ps[t]!]);
      if (k > 0) {
        dcNext = g.one('Mul', [dc, fs[t]!]);
        dhNext = g.one('MatMul', [dz[t]!, ut]);
      }
    }
    const dz2 = g.one('Reshape', [g.one('Concat', dz, { axis: 0 }), g.int64([-1, 4 * H])]);
    const hPrev2 = g.one('Reshape', [hPrev, g.int64([-1, H])]);
    g.output(g.one('Gemm', [x2, dz2], { transA: 1 }), `d${wn}`, [F, 4 * H]);
    g.output(g.one('Gemm', [hPrev2, dz2], { transA: 1 }), `d${un}`, [H, 4 * H]);
    g.output(g.one('ReduceSum', [dz2, g.int64([0])], { keepdims: 0 }), `d${weightNames(d)[2]}`, [4 * H]);
    if (o.inputGradient) dxs.push(g.one('Gemm', [dz2, w], { transB: 1 }));
  }
  if (o.inputGradient) {
    const dx2 = dxs.length === 1 ? dxs[0]! : g.one('Add', dxs);
    const dxt = g.one('Reshape', [dx2, g.int64([T, -1, F])]);
    g.output(g.one('Transpose', [dxt], { perm: [1, 0, 2] }), 'dX', [BATCH, T, F]);
  }
  return g.encode('lstm_backward');
}
