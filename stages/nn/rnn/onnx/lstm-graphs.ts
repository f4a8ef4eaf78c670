// The forward and the backward pass of a (bidirectional) LSTM layer as two ONNX graphs, so
// that ONNX Runtime's native kernels (MLAS matrix products, multi-threaded) run them. ONNX
// Runtime's Node package is inference only: it has no autodiff, so the backward graph is
// written out here, step by step, with the same equations as ../lstm.ts.
//
// Weights are in tfjs-layers' layout (kernel [F,4H], recurrentKernel [H,4H], bias [4H], gates
// i,f,c,o), one triple per direction. What does not depend on the recurrence runs for all steps
// at once (input projection, activation derivatives, weight gradients: large Gemms); only the
// recurrence itself runs step by step, as the body of an ONNX `Scan` (a dozen nodes). An
// earlier version unrolled the steps into the graph (a few nodes per step): ONNX Runtime then
// took about 20 s to build the sessions at T=256 (it grows faster than T), against well under a
// second with Scan, for the same speed per step. The time length is fixed when the graphs are
// built; the batch size is free.
import { GraphBuilder } from './graph.js';

export interface LstmGraphOptions {
  units: number;
  features: number;
  steps: number;
  bidirectional: boolean;
  returnSequences: boolean;
  /** Whether the backward graph also returns d(loss)/d(input). */
  inputGradient: boolean;
  /**
   * A bidirectional layer's one direction only (0: forward in time, 1: backward), with that
   * direction's weight and saved-tensor names; Y, dY and dX are then that direction's share
   * ([B,(T,)H]; dX its term of the sum). Two such graphs run at once compute what the whole
   * layer's graphs do, node for node (onnx-lstm.ts runs them on two threads).
   */
  direction?: 0 | 1;
  /**
   * The layer's input goes through a per-frame LayerNorm (over F, biased variance, epsilon
   * inside the square root, then * gamma + beta) inside the graphs: the forward takes the raw
   * input X with `gamma` and `beta` [F]; the backward returns `dgamma` and `dbeta` [F] (with
   * one direction: that direction's term) instead of dX (the raw input is data: no dX). The
   * fold saves one of the backward's three large products: the kernel's gradient is built from
   * M = N^T dz (N the normalised input) as dW = gamma * M + beta * db, and the LayerNorm's
   * from the same M: dgamma = rowsum(W * M), dbeta = W db, with no d(input) [T*B,F] at all.
   */
  inputNorm?: { epsilon: number };
}

/** Names of the per-direction tensors the forward pass hands to the backward pass ([T,B,*], time-major). */
export const SAVED = ['S', 'C', 'H'] as const;
/** With inputNorm: the normalised input, time-major rows [T*B,F], the forward hands the backward (one for all directions). */
export const NORMED = 'N';

export const weightNames = (d: number): [string, string, string] => [`W${d}`, `U${d}`, `b${d}`];
export const savedName = (what: string, d: number): string => `${what}${d}`;

const BATCH = 'batch';

function directions(o: LstmGraphOptions): number[] {
  if (o.direction !== undefined) {
    if (!o.bidirectional) throw new Error('lstm graphs: direction needs a bidirectional layer');
    return [o.direction];
  }
  return o.bidirectional ? [0, 1] : [0];
}

/** X [B,T,F] -> time-major rows [T*B, F]. */
function timeMajorRows(g: GraphBuilder, x: string, o: LstmGraphOptions): string {
  const xt = g.one('Transpose', [x], { perm: [1, 0, 2] });
  return g.one('Reshape', [xt, g.int64([-1, o.features])]);
}

/** Zeros [B,H], B taken from X at run time. */
function zeroState(g: GraphBuilder, x: string, units: number): string {
  const batch = g.one('Slice', [g.one('Shape', [x]), g.int64([0]), g.int64([1])]);
  return g.one('ConstantOfShape', [g.one('Concat', [batch, g.int64([units])], { axis: 0 })]);
}

/**
 * A Scan over axis 0 of `scanned` ([T,B,*] each), carrying `state`, in time order (reverse:
 * from the last step to the first). Scan outputs are stored at the index of their time step
 * whichever the direction. Returns [final states..., stacked scan outputs...].
 */
function scan(g: GraphBuilder, body: GraphBuilder, state: string[], scanned: string[], outputs: number, reverse: boolean): string[] {
  return g.op(
    'Scan',
    [...state, ...scanned],
    {
      body: { graph: body },
      num_scan_inputs: scanned.length,
      scan_input_directions: scanned.map(() => (reverse ? 1 : 0)),
      scan_output_directions: Array.from({ length: outputs }, () => (reverse ? 1 : 0)),
    },
    state.length + outputs,
  );
}

/**
 * One LSTM step, the Scan body of the forward pass. State h, c [B,H]; scanned: the projected
 * input of the step xp [B,4H]; outputs: new h, c, then (scanned out) the gate activations
 * S = [i, f, g, o] [B,4H], c and h.
 */
function forwardStep(g: GraphBuilder, d: number, u: string, H: number): GraphBuilder {
  const s = g.subgraph(`lstm_step_${d}`);
  const h = s.input(`h_in${d}`, [BATCH, H]);
  const c = s.input(`c_in${d}`, [BATCH, H]);
  const xp = s.input(`xp${d}`, [BATCH, 4 * H]);
  const z = s.one('Add', [xp, s.one('MatMul', [h, u])]);
  const [zi, zf, zg, zo] = s.op('Split', [z, s.int64([H, H, H, H])], { axis: 1 }, 4) as [string, string, string, string];
  const i = s.one('Sigmoid', [zi]);
  const f = s.one('Sigmoid', [zf]);
  const gg = s.one('Tanh', [zg]);
  const o = s.one('Sigmoid', [zo]);
  const cNew = s.one('Add', [s.one('Mul', [f, c]), s.one('Mul', [i, gg])]);
  const hNew = s.one('Mul', [o, s.one('Tanh', [cNew])]);
  s.output(hNew, `h_out${d}`, [BATCH, H]);
  s.output(cNew, `c_out${d}`, [BATCH, H]);
  s.output(s.one('Concat', [i, f, gg, o], { axis: 1 }), `s_step${d}`, [BATCH, 4 * H]);
  s.output(cNew, `c_step${d}`, [BATCH, H]);
  s.output(hNew, `h_step${d}`, [BATCH, H]);
  return s;
}

/** Y [B,T,dirs*H] or [B,dirs*H], plus every direction's S [T,B,4H], C, H [T,B,H]. */
export function lstmForwardGraph(o: LstmGraphOptions): Uint8Array {
  const g = new GraphBuilder();
  const { units: H, steps: T, features: F } = o;
  const x = g.input('X', [BATCH, T, F]);
  const rows = timeMajorRows(g, x, o);
  let x2 = rows;
  if (o.inputNorm !== undefined) {
    // (x - mean) / sqrt(var + eps) over F, each row: the maths of LayerNorm (models/layers/layer-norm.ts).
    const mean = g.one('ReduceMean', [rows], { axes: [1], keepdims: 1 });
    const centred = g.one('Sub', [rows, mean]);
    const variance = g.one('ReduceMean', [g.one('Mul', [centred, centred])], { axes: [1], keepdims: 1 });
    const normed = g.one('Mul', [centred, g.one('Reciprocal', [g.one('Sqrt', [g.one('Add', [variance, g.float([o.inputNorm.epsilon])])])])]);
    g.output(normed, NORMED, ['rows', F]);
    x2 = g.one('Add', [g.one('Mul', [normed, g.input('gamma', [F])]), g.input('beta', [F])]);
  }
  const zeros = zeroState(g, x, H);
  const lasts: string[] = [];
  const seqs: string[] = [];
  for (const d of directions(o)) {
    const [wn, un, bn] = weightNames(d);
    const w = g.input(wn, [F, 4 * H]);
    const u = g.input(un, [H, 4 * H]);
    const b = g.input(bn, [4 * H]);
    // The input projection of every step at once: one large Gemm.
    const xp = g.one('Reshape', [g.one('Gemm', [x2, w, b]), g.int64([T, -1, 4 * H])]);
    const [hLast, , sAll, cAll, hAll] = scan(g, forwardStep(g, d, u, H), [zeros, zeros], [xp], 3, d === 1) as [string, string, string, string, string];
    g.output(sAll, savedName('S', d), [T, BATCH, 4 * H]);
    g.output(cAll, savedName('C', d), [T, BATCH, H]);
    g.output(hAll, savedName('H', d), [T, BATCH, H]);
    lasts.push(hLast);
    seqs.push(hAll);
  }
  const dirs = directions(o).length;
  if (o.returnSequences) {
    const y = dirs === 1 ? seqs[0]! : g.one('Concat', seqs, { axis: 2 });
    g.output(g.one('Transpose', [y], { perm: [1, 0, 2] }), 'Y', [BATCH, T, dirs * H]);
  } else {
    g.output(dirs === 1 ? lasts[0]! : g.one('Concat', lasts, { axis: 1 }), 'Y', [BATCH, dirs * H]);
  }
  return g.encode('lstm_forward');
}

/**
 * One step of the backward recurrence, the Scan body of the backward pass. State: the gradient
 * arriving at h and at c from the next step in iteration order [B,H]; scanned: (the gradient
 * of the layer's output at this step,) P [B,4H], K [B,H] and f [B,H] of this step; outputs: the
 * states for the previous step, then (scanned out) dz [B,4H], the gradient at the gates'
 * pre-activations.
 */
function backwardStep(g: GraphBuilder, d: number, ut: string, H: number, withOut: boolean): GraphBuilder {
  const s = g.subgraph(`lstm_grad_step_${d}`);
  const dhNext = s.input(`dh_in${d}`, [BATCH, H]);
  const dcNext = s.input(`dc_in${d}`, [BATCH, H]);
  const dOut = withOut ? s.input(`dy_t${d}`, [BATCH, H]) : '';
  const p = s.input(`p_t${d}`, [BATCH, 4 * H]);
  const k = s.input(`k_t${d}`, [BATCH, H]);
  const f = s.input(`f_t${d}`, [BATCH, H]);
  const dh = withOut ? s.one('Add', [dOut, dhNext]) : dhNext;
  const dc = s.one('Add', [dcNext, s.one('Mul', [dh, k])]);
  const dz = s.one('Mul', [s.one('Concat', [dc, dc, dc, dh], { axis: 1 }), p]);
  s.output(s.one('MatMul', [dz, ut]), `dh_out${d}`, [BATCH, H]);
  s.output(s.one('Mul', [dc, f]), `dc_out${d}`, [BATCH, H]);
  s.output(dz, `dz_step${d}`, [BATCH, 4 * H]);
  return s;
}

/**
 * Inputs: X, each direction's U (and W when inputGradient), the forward's saved tensors and dY
 * (shaped as Y). Outputs: each direction's dW, dU, db (and dX).
 */
export function lstmBackwardGraph(o: LstmGraphOptions): Uint8Array {
  const g = new GraphBuilder();
  const { units: H, steps: T, features: F } = o;
  const dirs = directions(o).length;
  const norm = o.inputNorm !== undefined;
  if (norm && o.inputGradient) throw new Error('lstm graphs: inputNorm returns dgamma and dbeta, not dX');
  const x = g.input('X', [BATCH, T, F]);
  // With inputNorm: the normalised input and the LayerNorm's weights; the kernel's gradient from N.
  const x2 = norm ? g.input(NORMED, ['rows', F]) : timeMajorRows(g, x, o);
  const gamma2 = norm ? g.one('Unsqueeze', [g.input('gamma', [F]), g.int64([1])]) : '';
  const beta2 = norm ? g.one('Unsqueeze', [g.input('beta', [F]), g.int64([1])]) : '';
  const normGrads: [string, string][] = [];
  const dy = g.input('dY', o.returnSequences ? [BATCH, T, dirs * H] : [BATCH, dirs * H]);
  // Per direction: the gradient arriving at each step's h ([T,B,H]), or at the last h ([B,H]).
  const dyParts: string[] = o.returnSequences
    ? dirs === 1
      ? [g.one('Transpose', [dy], { perm: [1, 0, 2] })]
      : g.op('Split', [g.one('Transpose', [dy], { perm: [1, 0, 2] }), g.int64([H, H])], { axis: 2 }, 2)
    : dirs === 1
      ? [dy]
      : g.op('Split', [dy, g.int64([H, H])], { axis: 1 }, 2);
  const zeros = zeroState(g, x, H);
  const dxs: string[] = [];
  for (const [di, d] of directions(o).entries()) {
    const [wn, un, bn] = weightNames(d);
    const u = g.input(un, [H, 4 * H]);
    const w = o.inputGradient || norm ? g.input(wn, [F, 4 * H]) : '';
    const sAll = g.input(savedName('S', d), [T, BATCH, 4 * H]);
    const cAll = g.input(savedName('C', d), [T, BATCH, H]);
    const hAll = g.input(savedName('H', d), [T, BATCH, H]);
    const [si, sf, sg, so] = g.op('Split', [sAll, g.int64([H, H, H, H])], { axis: 2 }, 4) as [string, string, string, string];
    const one = g.float([1]);
    const zero3 = g.one('Unsqueeze', [zeros, g.int64([0])]);
    // State before each step: the neighbour in iteration order, zero before the first.
    const before = (v: string): string =>
      d === 0
        ? g.one('Concat', [zero3, g.one('Slice', [v, g.int64([0]), g.int64([T - 1]), g.int64([0])])], { axis: 0 })
        : g.one('Concat', [g.one('Slice', [v, g.int64([1]), g.int64([T]), g.int64([0])]), zero3], { axis: 0 });
    const cPrev = before(cAll);
    const hPrev = before(hAll);
    // Step-independent factors for all steps at once (see ../lstm.ts):
    // dz_i = dc*g*i(1-i), dz_f = dc*c_prev*f(1-f), dz_c = dc*i*(1-g^2), dz_o = dh*tanh(c)*o(1-o),
    // dc = dc_next + dh*o*(1-tanh(c)^2).
    const tc = g.one('Tanh', [cAll]);
    const sigD = (v: string): string => g.one('Mul', [v, g.one('Sub', [one, v])]);
    const p = g.one(
      'Concat',
      [
        g.one('Mul', [sg, sigD(si)]),
        g.one('Mul', [cPrev, sigD(sf)]),
        g.one('Mul', [si, g.one('Sub', [one, g.one('Mul', [sg, sg])])]),
        g.one('Mul', [tc, sigD(so)]),
      ],
      { axis: 2 },
    );
    const k = g.one('Mul', [so, g.one('Sub', [one, g.one('Mul', [tc, tc])])]);
    const ut = g.one('Transpose', [u], { perm: [1, 0] });
    // Iteration runs backwards through the forward pass's order: from the last step to the
    // first for the forward direction, from the first to the last for the backward one.
    const body = backwardStep(g, d, ut, H, o.returnSequences);
    const initialDh = o.returnSequences ? zeros : dyParts[di]!;
    const scanned = o.returnSequences ? [dyParts[di]!, p, k, sf] : [p, k, sf];
    const [, , dzAll] = scan(g, body, [initialDh, zeros], scanned, 1, d === 0) as [string, string, string];
    const dz2 = g.one('Reshape', [dzAll, g.int64([-1, 4 * H])]);
    const hPrev2 = g.one('Reshape', [hPrev, g.int64([-1, H])]);
    const db = g.one('ReduceSum', [dz2, g.int64([0])], { keepdims: 0 });
    if (norm) {
      const m = g.one('Gemm', [x2, dz2], { transA: 1 });
      g.output(g.one('Add', [g.one('Mul', [gamma2, m]), g.one('Mul', [beta2, g.one('Unsqueeze', [db, g.int64([0])])])]), `d${wn}`, [F, 4 * H]);
      normGrads.push([g.one('ReduceSum', [g.one('Mul', [w, m]), g.int64([1])], { keepdims: 0 }), g.one('MatMul', [w, db])]);
    } else {
      g.output(g.one('Gemm', [x2, dz2], { transA: 1 }), `d${wn}`, [F, 4 * H]);
    }
    g.output(g.one('Gemm', [hPrev2, dz2], { transA: 1 }), `d${un}`, [H, 4 * H]);
    g.output(db, `d${bn}`, [4 * H]);
    if (o.inputGradient) dxs.push(g.one('Gemm', [dz2, w], { transB: 1 }));
  }
  if (norm) {
    // Each direction's term; the whole layer adds them (a float32 Add, as a caller adding two directions' terms).
    const sum = (k: 0 | 1): string => (normGrads.length === 1 ? normGrads[0]![k] : g.one('Add', [normGrads[0]![k], normGrads[1]![k]]));
    g.output(sum(0), 'dgamma', [F]);
    g.output(sum(1), 'dbeta', [F]);
  }
  if (o.inputGradient) {
    const dx2 = dxs.length === 1 ? dxs[0]! : g.one('Add', dxs);
    const dxt = g.one('Reshape', [dx2, g.int64([T, -1, F])]);
    g.output(g.one('Transpose', [dxt], { perm: [1, 0, 2] }), 'dX', [BATCH, T, F]);
  }
  return g.encode('lstm_backward');
}
