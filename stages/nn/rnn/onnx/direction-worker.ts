// One direction of a bidirectional ONNX Runtime LSTM, on a worker thread (see onnx-lstm.ts):
// onnxruntime-node's session.run computes on the calling thread, so two directions at the same
// time need two threads. Each direction has its own worker, which owns that direction's two
// sessions and keeps the forward's saved tensors (and its input and weights) until the backward
// of the same step, so only the layer's input, the direction's weights and its share of the
// output and of the gradients cross between threads, all of them through shared memory the
// caller keeps from step to step.
//
// The direction's weights live here, in a WebAssembly memory of this thread: a forward either
// brings new weights (copied in) or runs on those held. A backward may bring the scalars of an
// Adam update: the worker then updates its weights and both Adam moments itself, after it has
// answered (so the update runs while the caller computes the rest of the step), with
// fused-adam's own WebAssembly function (adam.wat), whose every operation is tfjs' Adam's in
// float32: the same bits as the caller's update would give. 'fetch' hands weights and moments
// back; 'load' sets both.
//
// With a folded LayerNorm (lstm-graphs.ts, inputNorm) the workers also hold its gamma and beta
// and their moments, one copy each: both directions' terms of their gradient are needed for an
// update, so after a backward each worker writes its terms into an exchange array both share,
// waits for the other's (mailbox.ts, NORM_STEP), adds the two (float32, as the whole layer's
// graph does) and updates its copy with the same scalars: the two copies stay equal, bit for
// bit. A backward can also carry the next step's forward, run right after the update, before
// the answer: one round trip a step.
//
// Why both directions run on workers and the results come back through shared memory:
// onnxruntime-node returns every output in a fresh ArrayBuffer (preallocated outputs are
// written, then copied out anyway). On the main thread those were megabytes of external
// memory per step, and V8 answers external memory with full collections of the main heap,
// which holds tfjs's tensors and models: 160 of them in the demo's train stage, 1.3 s of its
// 14. Here the fresh buffers die in a worker's small heap, and the caller's thread allocates
// nothing per step.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { adamOn, type AdamUpdate, type StepAttrs, wasmMemory } from '../../adam-module.js';
import { ATTRS, BACKWARD, BATCH, DONE, ERROR_LENGTH, FORWARD, HAS_ADAM, type Mailbox, NEXT_BATCH, NORM_STEP, SEQ, STATUS, STEP, TYPE } from './mailbox.js';

export interface InitMessage {
  type: 'init';
  forwardGraph: Uint8Array;
  backwardGraph: Uint8Array;
  sessionOptions: ort.InferenceSession.SessionOptions;
  /** This direction's weights, by graph input name, in the order of `load`, `fetch` and the gradients. */
  weights: { name: string; dims: number[] }[];
  /** The layer's sizes, for the requests of the mailbox (mailbox.ts), which bring only a batch size. */
  shape: { steps: number; features: number; units: number; returnSequences: boolean };
  /**
   * With a folded LayerNorm: its weights' graph input names ([F] each; gamma, beta), held here
   * too once a load brings them, and the exchange array of both directions' gradient terms
   * (shared by both workers: direction d's dgamma, dbeta at d * 2F).
   */
  norm?: { names: [string, string]; exchange: Float32Array; direction: 0 | 1 };
}
export interface ForwardMessage {
  type: 'forward';
  step: number;
  /** The layer's input [B,T,F] in shared memory (copied here). */
  x: Float32Array;
  dims: number[];
  /** New weights for this direction (shared memory, copied in), in init's order; absent: those held. */
  weights?: Float32Array[];
  /** Further 1-D inputs of the graph by name (e.g. a folded LayerNorm's gamma and beta), in shared memory, copied in. */
  inputs?: Record<string, Float32Array>;
  /** Where to write the outputs, by graph output name (shared memory of each output's size). */
  out: Record<string, Float32Array>;
}
export interface BackwardMessage {
  type: 'backward';
  step: number;
  /** This direction's share of d(loss)/d(output), in shared memory (read before the reply). */
  dy: Float32Array;
  dims: number[];
  /** Where to write the gradients, by graph output name. */
  out: Record<string, Float32Array>;
  /** When given: after answering, one Adam update of the held weights with this step's gradients. */
  adam?: StepAttrs;
  /**
   * With adam: the next step's forward, run on the updated weights before answering (the
   * update then comes first too). Its outputs are written into next.out.
   */
  next?: Omit<ForwardMessage, 'type' | 'weights'>;
}
/** Weights and their Adam moments, each list in init's order. */
export interface HeldArrays {
  weights: Float32Array[];
  m?: Float32Array[];
  v?: Float32Array[];
}
/** Weights in init's order, and their Adam moments (absent: zeros). Shared memory, copied in. */
export interface LoadMessage extends HeldArrays {
  type: 'load';
  /** With init's norm: the LayerNorm's gamma and beta to hold too (and their moments). */
  norm?: HeldArrays;
}
export interface FetchMessage {
  type: 'fetch';
  /** Where to write the held weights and moments, in init's order (shared memory of their sizes). */
  weights: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  /** Where to write the held gamma and beta and their moments, when held. */
  norm?: { weights: Float32Array[]; m: Float32Array[]; v: Float32Array[] };
}
export type Request = InitMessage | ForwardMessage | BackwardMessage | LoadMessage | FetchMessage;
export type Reply = { ok: true } | { ok: false; error: string };

/** One weight in this thread's WebAssembly memory: the weight, its two moments, its gradient. */
interface Held {
  name: string;
  dims: number[];
  /** Byte offsets of w, m, v, g. */
  at: [number, number, number, number];
  w: Float32Array;
  m: Float32Array;
  v: Float32Array;
  g: Float32Array;
}

let fwdSession: ort.InferenceSession | null = null;
let bwdSession: ort.InferenceSession | null = null;
let held: Held[] = [];
/** The folded LayerNorm's gamma and beta (init's norm), after held's entries in the same memory. */
let normHeld: Held[] = [];
/** init's norm; `loaded`: whether a load brought gamma and beta (then forwards bring none and backwards update them). */
let norm: (NonNullable<InitMessage['norm']> & { loaded: boolean }) | null = null;
/** This worker's mailbox control and the other direction's (serve), for the LayerNorm's meeting point. */
let ownControl: Int32Array | null = null;
let peerControl: Int32Array | null = null;
let adam: AdamUpdate | null = null;
let kept: { step: number; feeds: Record<string, ort.Tensor> } | null = null;
/** Whether the held weights are set (by a forward's weights or a load). */
let loaded = false;
/** Set when an update after a reply failed: the held weights are then not to be trusted. */
let broken: string | null = null;
let shape: InitMessage['shape'] | null = null;
/**
 * The shared arrays of the last forward and backward that came by message (whole, from offset
 * 0): a mailbox request uses their first values (mailbox.ts).
 */
let bound: { x?: Float32Array; y?: Float32Array; inputs?: Record<string, Float32Array>; dy?: Float32Array; out?: Record<string, Float32Array> } = {};
const whole = (a: Float32Array): Float32Array => new Float32Array(a.buffer, 0, a.buffer.byteLength / 4);

/** The memory and the update function, with room for every weight's four arrays (16-byte aligned). */
function allocate(weights: { name: string; dims: number[] }[], normCount: number): void {
  const sizes = weights.map((w) => w.dims.reduce((a, b) => a * b, 1));
  const padded = sizes.map((n) => Math.ceil(n / 4) * 16);
  const bytes = 4 * padded.reduce((a, b) => a + b, 0);
  const memory = wasmMemory(bytes);
  adam = adamOn(memory);
  // The memory never grows after this, so the views stay valid.
  let offset = 0;
  held = weights.map((w, i) => {
    const at = [0, 1, 2, 3].map((k) => offset + k * padded[i]!) as Held['at'];
    offset += 4 * padded[i]!;
    const view = (o: number): Float32Array => new Float32Array(memory.buffer, o, sizes[i]!);
    return { name: w.name, dims: w.dims, at, w: view(at[0]), m: view(at[1]), v: view(at[2]), g: view(at[3]) };
  });
  normHeld = held.splice(held.length - normCount, normCount);
}

function setAll(into: (h: Held) => Float32Array, from: Float32Array[] | undefined, what: string, list = held): void {
  if (from !== undefined && from.length !== list.length) throw new Error(`direction worker: ${from.length} ${what} arrays for ${list.length} weights`);
  list.forEach((h, i) => {
    const dst = into(h);
    const src = from?.[i];
    if (src === undefined) dst.fill(0);
    else if (src.length !== dst.length) throw new Error(`direction worker: ${what} of ${h.name} has ${src.length} values, expected ${dst.length}`);
    else dst.set(src);
  });
}

/** This thread's copies of the shared inputs, kept from step to step (one per name and size). */
const local = new Map<string, Float32Array>();
function own(name: string, shared: Float32Array): Float32Array {
  let buf = local.get(name);
  if (buf === undefined || buf.length !== shared.length) {
    buf = new Float32Array(shared.length);
    local.set(name, buf);
  }
  buf.set(shared);
  return buf;
}

/** Copies the named outputs into the caller's shared arrays, which must have their sizes. */
function write(out: ort.InferenceSession.OnnxValueMapType, into: Record<string, Float32Array>): void {
  for (const [name, dst] of Object.entries(into)) {
    const t = out[name];
    if (t === undefined) throw new Error(`direction worker: the graph has no output ${name}`);
    const src = t.data as Float32Array;
    if (src.length !== dst.length) throw new Error(`direction worker: output ${name} has ${src.length} values, its shared array ${dst.length}`);
    dst.set(src);
  }
}

/** The longest a worker waits at the LayerNorm's meeting point for the other direction. */
const MEET_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * This direction's terms of the LayerNorm's gradient into the exchange array, then the other
 * direction's: both added into the held gamma's and beta's gradients. The other worker does
 * the same with the same values (a float32 sum of two values does not depend on their order).
 */
function meet(step: number, out: ort.InferenceSession.OnnxValueMapType): void {
  const n = norm!;
  const own = ownControl;
  const peer = peerControl;
  if (own === null || peer === null) throw new Error('direction worker: a held LayerNorm needs both directions\' mailboxes');
  const F = normHeld[0]!.w.length;
  n.names.forEach((name, k) => {
    const g = out[`d${name}`];
    if (g === undefined) throw new Error(`direction worker: the graph has no gradient d${name}`);
    n.exchange.set(g.data as Float32Array, (2 * n.direction + k) * F);
  });
  Atomics.store(own, NORM_STEP, step);
  Atomics.notify(own, NORM_STEP);
  const start = Date.now();
  for (;;) {
    const at = Atomics.load(peer, NORM_STEP);
    if (at === step) break;
    if (at === -step) throw new Error(`direction worker: the other direction's backward of step ${step} failed`);
    if (Atomics.load(peer, STATUS) === 2) throw new Error('direction worker: the other direction\'s worker stopped');
    if (Date.now() - start > MEET_TIMEOUT_MS) throw new Error(`direction worker: no LayerNorm gradient from the other direction in ${MEET_TIMEOUT_MS / 60000} minutes`);
    Atomics.wait(peer, NORM_STEP, at, 1000);
  }
  const other = 1 - n.direction;
  normHeld.forEach((h, k) => {
    const mine = n.exchange.subarray((2 * n.direction + k) * F, (2 * n.direction + k + 1) * F);
    const theirs = n.exchange.subarray((2 * other + k) * F, (2 * other + k + 1) * F);
    for (let i = 0; i < F; i++) h.g[i] = mine[i]! + theirs[i]!;
  });
}

/** One Adam update of every held weight with its gradient (in g), in place. */
function update(a: StepAttrs): void {
  for (const h of [...held, ...normHeld]) {
    const [w, m, v, g] = h.at;
    adam!(w, m, v, g, w, m, v, h.w.length, a);
  }
}

/** Handles a request; what it returns runs after the reply (the Adam update). */
async function handle(m: Request): Promise<(() => void) | void> {
  if (m.type === 'init') {
    [fwdSession, bwdSession] = await Promise.all([
      ort.InferenceSession.create(m.forwardGraph, m.sessionOptions),
      ort.InferenceSession.create(m.backwardGraph, m.sessionOptions),
    ]);
    const normWeights = m.norm === undefined ? [] : m.norm.names.map((name) => ({ name, dims: [m.shape.features] }));
    allocate([...m.weights, ...normWeights], normWeights.length);
    norm = m.norm === undefined ? null : { ...m.norm, loaded: false };
    shape = m.shape;
    return;
  }
  if (fwdSession === null || bwdSession === null) throw new Error('direction worker: not initialised');
  if (broken !== null) throw new Error(`direction worker: an Adam update failed (${broken}); the held weights are lost`);
  if (m.type === 'load') {
    setAll((h) => h.w, m.weights, 'weight');
    setAll((h) => h.m, m.m, 'first moment');
    setAll((h) => h.v, m.v, 'second moment');
    if (m.norm !== undefined) {
      if (norm === null) throw new Error('direction worker: LayerNorm weights for a layer without a folded LayerNorm');
      setAll((h) => h.w, m.norm.weights, 'LayerNorm weight', normHeld);
      setAll((h) => h.m, m.norm.m, 'LayerNorm first moment', normHeld);
      setAll((h) => h.v, m.norm.v, 'LayerNorm second moment', normHeld);
    }
    if (norm !== null) norm.loaded = m.norm !== undefined;
    loaded = true;
    return;
  }
  if (m.type === 'fetch') {
    if (!loaded) throw new Error('direction worker: no weights to fetch');
    held.forEach((h, i) => {
      m.weights[i]!.set(h.w);
      m.m[i]!.set(h.m);
      m.v[i]!.set(h.v);
    });
    if (m.norm !== undefined) {
      if (norm?.loaded !== true) throw new Error('direction worker: no LayerNorm weights to fetch');
      normHeld.forEach((h, i) => {
        m.norm!.weights[i]!.set(h.w);
        m.norm!.m[i]!.set(h.m);
        m.norm!.v[i]!.set(h.v);
      });
    }
    return;
  }
  if (m.type === 'forward') {
    bindForward(m);
    if (m.weights !== undefined) {
      setAll((h) => h.w, m.weights, 'weight');
      loaded = true;
    }
    await forward(m);
    return;
  }
  if (kept === null || kept.step !== m.step) {
    throw new Error(`direction worker: backward of step ${m.step} without its forward (kept: ${kept?.step ?? 'none'})`);
  }
  bound.dy = whole(m.dy);
  // dX's size follows the batch (whole array bound, a view taken per request); the others' does not.
  bound.out = Object.fromEntries(Object.entries(m.out).map(([k, a]) => [k, k === 'dX' ? whole(a) : a]));
  if (m.next !== undefined) bindForward(m.next);
  const step = m.adam;
  if (m.next !== undefined && step === undefined) throw new Error('direction worker: a backward with the next forward needs an Adam update');
  const withNorm = step !== undefined && norm?.loaded === true;
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await bwdSession.run({ ...kept.feeds, dY: new ort.Tensor('float32', own('dY', m.dy), m.dims) });
  } catch (e) {
    // The other direction waits for this one's LayerNorm terms: tell it there are none.
    if (withNorm && ownControl !== null) {
      Atomics.store(ownControl, NORM_STEP, -m.step);
      Atomics.notify(ownControl, NORM_STEP);
    }
    throw e;
  }
  kept = null;
  write(out, m.out);
  if (step === undefined) return;
  // The gradients into the memory first: the reply lets the caller reuse its shared arrays.
  for (const h of held) {
    const g = out[`d${h.name}`];
    if (g === undefined) throw new Error(`direction worker: the graph has no gradient d${h.name}`);
    h.g.set(g.data as Float32Array);
  }
  const finish = (): void => {
    if (withNorm) meet(m.step, out);
    update(step);
  };
  if (m.next === undefined) return finish;
  finish();
  await forward({ type: 'forward', ...m.next });
}

/** A forward's shared arrays, as the mailbox's requests will use them. */
function bindForward(m: Omit<ForwardMessage, 'type' | 'weights'>): void {
  bound.x = whole(m.x);
  bound.y = m.out['Y'] === undefined ? undefined : whole(m.out['Y']);
  // Fixed-size arrays: bound as they came.
  bound.inputs = m.inputs;
}

/** A forward on the held weights (and gamma and beta: the request's, else the held ones); keeps what its backward needs. */
async function forward(m: ForwardMessage): Promise<void> {
  if (!loaded) throw new Error('direction worker: a forward without weights, and none held');
  const feeds: Record<string, ort.Tensor> = { X: new ort.Tensor('float32', own('X', m.x), m.dims) };
  if (m.inputs !== undefined) for (const [name, a] of Object.entries(m.inputs)) feeds[name] = new ort.Tensor('float32', own(name, a), [a.length]);
  else if (norm !== null) {
    if (!norm.loaded) throw new Error('direction worker: a forward without the LayerNorm\'s weights, and none held');
    for (const h of normHeld) feeds[h.name] = new ort.Tensor('float32', h.w, h.dims);
  }
  for (const h of held) feeds[h.name] = new ort.Tensor('float32', h.w, h.dims);
  const out = await fwdSession!.run(feeds);
  // What the backward graph takes besides dY: its inputs among this step's inputs and outputs.
  // (The weights are the held arrays: an update comes only after the backward.)
  const keep: Record<string, ort.Tensor> = {};
  for (const name of bwdSession!.inputNames) {
    const t = feeds[name] ?? out[name];
    if (t !== undefined) keep[name] = t;
  }
  kept = { step: m.step, feeds: keep };
  write(out, m.out);
}

/** A mailbox request as the message it stands for, over the bound shared arrays. */
function fromMailbox(control: Int32Array, attrs: Float32Array): ForwardMessage | BackwardMessage {
  if (shape === null) throw new Error('direction worker: not initialised');
  const { steps: T, features: F, units: H, returnSequences } = shape;
  const batch = Atomics.load(control, BATCH);
  const step = Atomics.load(control, STEP);
  const type = Atomics.load(control, TYPE);
  const outDims = returnSequences ? [batch, T, H] : [batch, H];
  const n = outDims.reduce((a, b) => a * b, 1);
  const view = (a: Float32Array | null | undefined, length: number, what: string): Float32Array => {
    if (a === undefined || a === null || a.length < length) throw new Error(`direction worker: a mailbox request without its ${what} array`);
    return a.subarray(0, length);
  };
  if (type === FORWARD) {
    return {
      type: 'forward',
      step,
      x: view(bound.x, batch * T * F, 'input'),
      dims: [batch, T, F],
      ...(bound.inputs === undefined ? {} : { inputs: bound.inputs }),
      out: { Y: view(bound.y, n, 'output') },
    };
  }
  if (type !== BACKWARD) throw new Error(`direction worker: mailbox request of unknown type ${type}`);
  const adam = Atomics.load(control, HAS_ADAM) === 1 ? (Object.fromEntries(ATTRS.map((k, i) => [k, attrs[i]!])) as unknown as StepAttrs) : undefined;
  const nextBatch = Atomics.load(control, NEXT_BATCH);
  const nextDims = returnSequences ? [nextBatch, T, H] : [nextBatch, H];
  return {
    type: 'backward',
    step,
    dy: view(bound.dy, n, 'output gradient'),
    dims: outDims,
    out: Object.fromEntries(Object.entries(bound.out ?? {}).map(([k, a]) => [k, k === 'dX' ? view(a, batch * T * F, 'input gradient') : a])),
    ...(adam === undefined ? {} : { adam }),
    ...(nextBatch === 0
      ? {}
      : {
          next: {
            step: step + 1,
            x: view(bound.x, nextBatch * T * F, 'input'),
            dims: [nextBatch, T, F],
            ...(bound.inputs === undefined ? {} : { inputs: bound.inputs }),
            out: { Y: view(bound.y, nextDims.reduce((a, b) => a * b, 1), 'output') },
          },
        }),
  };
}

/** Runs what comes after a reply; a failure there breaks the held weights (the next request says so). */
function runAfter(after: (() => void) | void): void {
  if (after === undefined) return;
  try {
    after();
  } catch (e) {
    broken = e instanceof Error ? e.message : String(e);
  }
}

// Node 20 has Atomics.waitAsync; the project's TypeScript lib (ES2023) does not declare it.
const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number) => { async: false } | { async: true; value: Promise<string> } }).waitAsync;

/** Answers the mailbox's requests, one after the other, until the thread stops. */
async function serve(box: Mailbox, relayTo: SharedArrayBuffer | undefined, peer: SharedArrayBuffer | undefined): Promise<void> {
  const control = new Int32Array(box.control);
  ownControl = control;
  peerControl = peer === undefined ? null : new Int32Array(peer);
  // The other direction's mailbox, woken as this one is (onnx-lstm.ts, DirectionWorker's relay).
  const relay = relayTo === undefined ? null : new Int32Array(relayTo);
  const attrs = new Float32Array(box.attrs);
  const errorBytes = new Uint8Array(box.error);
  // The caller sleeps until DONE moves: tell it when this thread stops for any reason.
  process.on('exit', () => {
    Atomics.store(control, STATUS, 2);
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
    if (relay !== null) Atomics.notify(relay, SEQ);
  });
  let seen = Atomics.load(control, SEQ);
  for (;;) {
    const wait = waitAsync(control, SEQ, seen);
    if (wait.async) await wait.value;
    const seq = Atomics.load(control, SEQ);
    if (seq === seen) continue;
    seen = seq;
    // The caller wrote the other direction's request before this one's: wake it first.
    if (relay !== null) Atomics.notify(relay, SEQ);
    let after: (() => void) | void = undefined;
    try {
      after = await handle(fromMailbox(control, attrs));
      Atomics.store(control, STATUS, 0);
    } catch (e) {
      const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, errorBytes.length);
      errorBytes.set(text);
      Atomics.store(control, ERROR_LENGTH, text.length);
      Atomics.store(control, STATUS, 1);
    }
    Atomics.store(control, DONE, seq);
    Atomics.notify(control, DONE);
    runAfter(after);
  }
}

const port = parentPort;
if (port !== null) {
  port.on('message', (m: Request) => {
    handle(m).then(
      (after) => {
        port.postMessage({ ok: true } satisfies Reply);
        runAfter(after);
      },
      (e: unknown) => port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
    );
  });
  const data = workerData as { mailbox?: Mailbox; relay?: SharedArrayBuffer; peer?: SharedArrayBuffer } | null;
  if (data?.mailbox !== undefined) void serve(data.mailbox, data.relay, data.peer);
}
