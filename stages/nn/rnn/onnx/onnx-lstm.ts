// Runs an LSTM layer's forward and backward passes through ONNX Runtime (see lstm-graphs.ts),
// and one training step of a model "[pre] -> LSTM layer -> head + loss" where the pre and head
// parts and the optimiser stay in tfjs. ONNX Runtime's session.run is asynchronous, so this
// cannot sit inside a tfjs custom gradient; it is an async per-batch step instead.
import * as tf from '../../tf.js';
import ort from 'onnxruntime-node';
import { Worker } from 'node:worker_threads';
import type { StepAttrs } from '../../adam-module.js';
import type { BackwardMessage, ForwardMessage, HeldArrays, Reply, Request } from './direction-worker.js';
import { ATTRS, BACKWARD, BATCH, FORWARD, HAS_ADAM, type Mailbox, newMailbox, NEXT_BATCH, SEQ, STEP, TYPE, DONE, STATUS, ERROR_LENGTH } from './mailbox.js';
import { lstmBackwardGraph, lstmForwardGraph, NORMED, SAVED, savedName, weightNames, type LstmGraphOptions } from './lstm-graphs.js';

export interface OnnxLstmOptions extends LstmGraphOptions {
  /**
   * Threads for ONNX Runtime's kernels (intra-op); default 1. Results are byte-identical run
   * after run for one thread count, but differ in the last bits between thread counts (how
   * MLAS splits its products), so the count belongs in a training fingerprint.
   */
  threads?: number;
  /**
   * A bidirectional layer's two directions at once, on two worker threads (direction-worker.ts),
   * each with its own single-direction sessions of `threads` intra-op threads. The graphs compute
   * the same nodes on the same data as the whole layer's, so results are bit-identical to the
   * sequential path on any machine (a test checks it): a speed-only switch. ONNX Runtime's own
   * parallel executor was tried first and was slower than sequential (it also hands the Scan
   * bodies' dozen small nodes between threads at every step).
   */
  parallelDirections?: boolean;
}

export interface ForwardResult {
  /**
   * [B,T,dirs*H] or [B,dirs*H], row-major. With parallelDirections the array is the layer's
   * own, overwritten by its next forward: copy it to keep it.
   */
  output: Float32Array;
  outputShape: number[];
  /** What the backward pass needs; pass it back unchanged. */
  saved: Record<string, ort.Tensor>;
}

export interface BackwardResult {
  /**
   * Gradients of the weights, in tfjs order (kernel, recurrentKernel, bias per direction). With
   * parallelDirections these arrays (and dx) are the layer's own, overwritten by its next
   * backward: copy them to keep them. Empty when the backward updated the weights itself (adam).
   */
  grads: Float32Array[];
  /** d(loss)/d(input) [B,T,F] when the layer was built with inputGradient. */
  dx?: Float32Array;
  /**
   * With parallel directions and `dxParts` asked for: the two directions' terms of dx instead
   * of dx (their float32 sum is dx; e.g. for a tfjs Add, which gives the same bits).
   */
  dxParts?: [Float32Array, Float32Array];
  /** With inputNorm: the folded LayerNorm's gradients, dgamma and dbeta [F] (the directions' terms added); absent when the workers hold gamma and beta. */
  normGrads?: [Float32Array, Float32Array];
  /**
   * With `next`: the next step's forward, which the workers run right after this backward and
   * its update. Call it (once) for that forward's result before anything else of this layer.
   */
  next?: () => Promise<ForwardResult>;
}

/** A folded LayerNorm's weights (inputNorm), [F] each. */
export interface NormWeights {
  gamma: Float32Array;
  beta: Float32Array;
}

export interface BackwardOptions {
  /**
   * With parallel directions: the direction workers also run one Adam update of the weights
   * they hold with these gradients (after answering, so the update overlaps what the caller
   * does next), and no weight gradient comes back.
   */
  adam?: StepAttrs;
  /** With parallel directions: return dx as its two directions' terms (dxParts). */
  dxParts?: boolean;
  /**
   * With adam, and gamma and beta held too when the layer has inputNorm: the input of the next
   * step's forward, which the workers then run on the updated weights within the same request
   * (one round trip a step instead of two; its result comes through BackwardResult.next).
   */
  next?: { x: Float32Array; batch: number };
}

/** What loadState hands the direction workers and fetchState gets back (tfjs order; absent moments: zeros). */
export interface LayerState {
  weights: Float32Array[];
  m?: Float32Array[];
  v?: Float32Array[];
  /** With inputNorm: the folded LayerNorm's gamma and beta, and their moments, for the workers to hold and update too. */
  norm?: { weights: [Float32Array, Float32Array]; m?: [Float32Array, Float32Array]; v?: [Float32Array, Float32Array] };
}

type Pair = [Float32Array, Float32Array];
/** What fetchState gets back: every array present. */
export interface HeldLayerState {
  weights: Float32Array[];
  m: Float32Array[];
  v: Float32Array[];
  norm?: { weights: Pair; m: Pair; v: Pair };
}

/** A request under way: through the mailbox (its number) or by message. */
type Ticket = { seq: number } | { message: Promise<void> };

/** How long a caller sleeps at most for a mailbox answer before it gives up on the worker. */
const MAILBOX_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * The worker thread that runs one direction (direction-worker.ts); one request at a time, by
 * message or, for a training step's forward and backward, through the mailbox (mailbox.ts).
 */
class DirectionWorker {
  readonly #worker: Worker;
  #pending: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #failed: Error | null = null;
  readonly #control: Int32Array;
  readonly #attrs: Float32Array;
  readonly #error: Uint8Array;
  #seq = 0;
  /** The shared memory of the worker's bound arrays: those of the last forward and backward sent by message. */
  #bound: { x?: ArrayBufferLike; y?: ArrayBufferLike; inputs?: Record<string, ArrayBufferLike> | undefined; dy?: ArrayBufferLike; out?: Record<string, ArrayBufferLike> } = {};

  /**
   * `relay`: the other direction's mailbox, which this worker wakes as it wakes for a step's
   * request (#both): the caller then wakes one worker instead of two. Why: waking the second
   * right after the first, the caller's thread often lost its core to the first for a few
   * hundred microseconds (the woken thread landed on the waker's core), and the second worker
   * started that much later; woken by the first worker, it starts on the free core. Two
   * workers computing 4 ms each, woken 400 times: 5.8-5.9 ms a round woken one after the other,
   * 5.3 ms relayed (docs/PERFORMANCE.md).
   */
  constructor(mailbox: Mailbox = newMailbox(), relay?: Mailbox, peer?: Mailbox) {
    this.#control = new Int32Array(mailbox.control);
    this.#attrs = new Float32Array(mailbox.attrs);
    this.#error = new Uint8Array(mailbox.error);
    // `peer`: the other direction's mailbox, where a held LayerNorm's two workers meet (mailbox.ts).
    const data = { mailbox, ...(relay === undefined ? {} : { relay: relay.control }), ...(peer === undefined ? {} : { peer: peer.control }) };
    this.#worker = new Worker(new URL('./direction-worker.js', import.meta.url), { workerData: data });
    // Idle, the worker does not keep the process alive; a request in flight does (ref below).
    this.#worker.unref();
    this.#worker.on('message', (r: Reply) => {
      const p = this.#pending;
      this.#pending = null;
      this.#worker.unref();
      if (p === null) return;
      if (r.ok) p.resolve();
      else p.reject(new Error(`OnnxLstm direction worker: ${r.error}`));
    });
    const fail = (e: Error): void => {
      this.#failed = e;
      const p = this.#pending;
      this.#pending = null;
      p?.reject(e);
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`OnnxLstm direction worker exited (code ${code})`)));
  }

  request(m: Request): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#pending !== null) return Promise.reject(new Error('OnnxLstm direction worker: a request is already in flight'));
    const p = new Promise<void>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.ref();
      this.#worker.postMessage(m);
    });
    // The caller awaits it through settled() with the other direction's request; until then a
    // failure here must not count as an unhandled rejection (which would end the process).
    p.catch(() => undefined);
    return p;
  }

  /** Whether a forward (or a backward's next forward) can go through the mailbox: its arrays are those bound. */
  #fitsForward(m: Omit<ForwardMessage, 'type' | 'weights'>): boolean {
    return Object.keys(m.out).length === 1 && this.#bound.x === m.x.buffer && this.#bound.y === m.out['Y']?.buffer && sameBuffers(this.#bound.inputs, m.inputs);
  }

  /** Whether m can go through the mailbox: no arrays but those the worker has bound. */
  #fits(m: Request): boolean {
    const outs = Object.keys((m as { out?: object }).out ?? {});
    if (m.type === 'forward') return m.weights === undefined && this.#fitsForward(m);
    if (m.type === 'backward') {
      // dX's view follows the batch; the other outputs are bound whole (their size is fixed).
      const bound = this.#bound.out;
      return (
        m.adam !== undefined &&
        (m.next === undefined || this.#fitsForward(m.next)) &&
        this.#bound.dy === m.dy.buffer &&
        bound !== undefined &&
        outs.length === Object.keys(bound).length &&
        outs.every((k) => (k === 'dX' || m.out[k]!.length === m.out[k]!.buffer.byteLength / 4) && bound[k] === m.out[k]!.buffer)
      );
    }
    return false;
  }

  /**
   * Sends a request; wait() finishes it. Start both directions' before waiting for either.
   * `wake: false` leaves a mailbox request for the other worker's relay to wake this one.
   */
  start(m: Request, wake = true): Ticket {
    if (this.#failed === null && this.#pending === null && this.#fits(m)) {
      const c = this.#control;
      const fwd = m.type === 'forward';
      Atomics.store(c, TYPE, fwd ? FORWARD : BACKWARD);
      Atomics.store(c, STEP, (m as ForwardMessage | BackwardMessage).step);
      Atomics.store(c, BATCH, (m as ForwardMessage | BackwardMessage).dims[0]!);
      const adam = fwd ? undefined : (m as BackwardMessage).adam;
      Atomics.store(c, HAS_ADAM, adam === undefined ? 0 : 1);
      Atomics.store(c, NEXT_BATCH, fwd ? 0 : ((m as BackwardMessage).next?.dims[0] ?? 0));
      if (adam !== undefined) ATTRS.forEach((k, i) => (this.#attrs[i] = adam[k]));
      const seq = ++this.#seq;
      Atomics.store(c, SEQ, seq);
      if (wake) Atomics.notify(c, SEQ);
      return { seq };
    }
    const message = this.request(m).then(() => {
      // The worker now holds this request's shared arrays: the next ones over them can go through the mailbox.
      const bindForward = (f: Omit<ForwardMessage, 'type' | 'weights'>): void => {
        const inputs = f.inputs === undefined ? undefined : Object.fromEntries(Object.entries(f.inputs).map(([k, a]) => [k, a.buffer]));
        this.#bound = { ...this.#bound, x: f.x.buffer, inputs, ...(f.out['Y'] === undefined ? {} : { y: f.out['Y'].buffer }) };
      };
      if (m.type === 'forward') bindForward(m);
      if (m.type === 'backward') {
        this.#bound = { ...this.#bound, dy: m.dy.buffer, out: Object.fromEntries(Object.entries(m.out).map(([k, a]) => [k, a.buffer])) };
        if (m.next !== undefined) bindForward(m.next);
      }
    });
    message.catch(() => undefined);
    return { message };
  }

  /**
   * Finishes a started request. A mailbox request is waited for by sleeping in Atomics.wait
   * (this thread has nothing else to do meanwhile; it is a few milliseconds).
   */
  async wait(t: Ticket): Promise<void> {
    if ('message' in t) return t.message;
    const c = this.#control;
    const start = Date.now();
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === t.seq || Atomics.load(c, STATUS) === 2) break;
      if (Date.now() - start > MAILBOX_TIMEOUT_MS) {
        this.#failed = new Error(`OnnxLstm direction worker: no answer in ${MAILBOX_TIMEOUT_MS / 60000} minutes`);
        throw this.#failed;
      }
      // Woken (again) here too: a relay that did not come (its worker failed) costs a second, not a hang.
      if (Atomics.wait(c, DONE, done, 1000) === 'timed-out') Atomics.notify(c, SEQ);
    }
    const status = Atomics.load(c, STATUS);
    if (status === 2) {
      this.#failed ??= new Error('OnnxLstm direction worker stopped');
      throw this.#failed;
    }
    if (status === 1) throw new Error(`OnnxLstm direction worker: ${new TextDecoder().decode(this.#error.slice(0, Atomics.load(c, ERROR_LENGTH)))}`);
  }

  /** Wakes the worker for a mailbox request started with `wake: false`. */
  wake(): void {
    Atomics.notify(this.#control, SEQ);
  }

  async terminate(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }
}

/**
 * Arrays kept from step to step, by name, each as large as the largest length asked for (a
 * batch of another size, e.g. an epoch's last or validation's, takes a view of the first
 * values): posting a shared one hands a worker the memory, not a serialised copy (which cost
 * about 1.5 ms of a demo step), and none of them is garbage after a step. A worker copies the
 * inputs out before computing (ONNX Runtime refuses shared memory) and writes its outputs
 * before it answers; this thread writes an array again only for the next request, after the
 * last one has answered.
 */
class KeptArrays {
  readonly #shared: boolean;
  readonly #arrays = new Map<string, Float32Array>();

  constructor(shared: boolean) {
    this.#shared = shared;
  }

  get(name: string, length: number): Float32Array {
    let a = this.#arrays.get(name);
    if (a === undefined || a.length < length) {
      a = this.#shared ? new Float32Array(new SharedArrayBuffer(4 * length)) : new Float32Array(length);
      this.#arrays.set(name, a);
    }
    return a.length === length ? a : a.subarray(0, length);
  }

  copy(name: string, data: Float32Array): Float32Array {
    const a = this.get(name, data.length);
    a.set(data);
    return a;
  }
}

/** Whether two sets of named arrays lie in the same shared buffers, whole (none: both absent). */
function sameBuffers(bound: Record<string, ArrayBufferLike> | undefined, given: Record<string, Float32Array> | undefined): boolean {
  if (bound === undefined || given === undefined) return bound === given;
  const names = Object.keys(given);
  return names.length === Object.keys(bound).length && names.every((k) => bound[k] === given[k]!.buffer && given[k]!.length === given[k]!.buffer.byteLength / 4);
}

/**
 * Waits for every request to settle, then throws the first failure: a worker answers one
 * request at a time, so the layer's next step must not start while one is still computing.
 */
async function settled(requests: Promise<void>[]): Promise<void> {
  for (const r of await Promise.allSettled(requests)) if (r.status === 'rejected') throw r.reason;
}

/** Interleaves two directions' outputs [rows, H] each into out [rows, 2H] (Concat on the last axis). */
function interleave(a: Float32Array, b: Float32Array, units: number, out: Float32Array): Float32Array {
  const rows = a.length / units;
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * units, (r + 1) * units), 2 * r * units);
    out.set(b.subarray(r * units, (r + 1) * units), (2 * r + 1) * units);
  }
  return out;
}

/** The inverse of interleave: one direction's half of each row of a [rows, 2H], into out [rows, H]. */
function half(a: Float32Array, units: number, which: 0 | 1, out: Float32Array): Float32Array {
  const rows = a.length / (2 * units);
  for (let r = 0; r < rows; r++) out.set(a.subarray((2 * r + which) * units, (2 * r + which + 1) * units), r * units);
  return out;
}

type Sessions = { fwd: ort.InferenceSession; bwd: ort.InferenceSession };

export class OnnxLstm {
  readonly options: OnnxLstmOptions;
  /** The whole layer's sessions, on this thread; or, with parallelDirections, one worker per direction. */
  readonly #run: Sessions | [DirectionWorker, DirectionWorker];
  /** What crosses to the workers (shared memory) and what this layer hands back (its own arrays). */
  readonly #shared = new KeptArrays(true);
  readonly #own = new KeptArrays(false);
  #step = 0;
  /** Whether the direction workers hold the folded LayerNorm's gamma and beta (a loadState brought them). */
  #normHeld = false;
  /** A next forward under way (BackwardResult.next): whatever this layer does next waits for it first. */
  #inFlight: (() => Promise<ForwardResult>) | null = null;

  private constructor(options: OnnxLstmOptions, run: Sessions | [DirectionWorker, DirectionWorker]) {
    this.options = options;
    this.#run = run;
  }

  static async create(options: OnnxLstmOptions): Promise<OnnxLstm> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    if (options.parallelDirections === true && options.bidirectional) {
      const boxes = [newMailbox(), newMailbox()] as const;
      const workers: [DirectionWorker, DirectionWorker] = [new DirectionWorker(boxes[0], boxes[1], boxes[1]), new DirectionWorker(boxes[1], undefined, boxes[0])];
      // A folded LayerNorm's gradient terms, both directions' (direction d's dgamma, dbeta at d * 2F).
      const exchange = options.inputNorm === undefined ? null : new Float32Array(new SharedArrayBuffer(4 * 4 * options.features));
      try {
        await settled(
          workers.map((w, d) => {
            const one = { ...options, direction: d as 0 | 1 };
            const { features: F, units: H } = options;
            const dims = [[F, 4 * H], [H, 4 * H], [4 * H]];
            const weights = weightNames(d).map((name, j) => ({ name, dims: dims[j]! }));
            const shape = { steps: options.steps, features: F, units: H, returnSequences: options.returnSequences };
            const norm = exchange === null ? {} : { norm: { names: ['gamma', 'beta'] as [string, string], exchange, direction: d as 0 | 1 } };
            return w.request({ type: 'init', forwardGraph: lstmForwardGraph(one), backwardGraph: lstmBackwardGraph(one), sessionOptions, weights, shape, ...norm });
          }),
        );
        return new OnnxLstm(options, workers);
      } catch (e) {
        await Promise.all(workers.map((w) => w.terminate()));
        throw e;
      }
    }
    const [fwd, bwd] = await Promise.all([
      ort.InferenceSession.create(lstmForwardGraph(options), sessionOptions),
      ort.InferenceSession.create(lstmBackwardGraph(options), sessionOptions),
    ]);
    return new OnnxLstm(options, { fwd, bwd });
  }

  get directions(): number {
    return this.options.bidirectional ? 2 : 1;
  }

  /** Weight shapes in tfjs order (what tf.layers.lstm / FastRecurrent hold). */
  weightShapes(): number[][] {
    const { features: F, units: H } = this.options;
    return Array.from({ length: this.directions }, () => [[F, 4 * H], [H, 4 * H], [4 * H]]).flat();
  }

  #weightFeeds(weights: Float32Array[], withKernel: boolean, only?: number): Record<string, ort.Tensor> {
    const shapes = this.weightShapes();
    if (weights.length !== shapes.length) throw new Error(`OnnxLstm: expected ${shapes.length} weight arrays, got ${weights.length}`);
    const feeds: Record<string, ort.Tensor> = {};
    for (let d = 0; d < this.directions; d++) {
      if (only !== undefined && d !== only) continue;
      weightNames(d).forEach((name, j) => {
        if (j === 0 && !withKernel) return;
        const data = weights[3 * d + j]!;
        const shape = shapes[3 * d + j]!;
        if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`OnnxLstm: weight ${name} should have shape [${shape}]`);
        feeds[name] = new ort.Tensor('float32', data, shape);
      });
    }
    return feeds;
  }

  #input(x: Float32Array, batch: number): ort.Tensor {
    const { steps, features } = this.options;
    if (x.length !== batch * steps * features) throw new Error(`OnnxLstm: input should be [${batch},${steps},${features}], got ${x.length} values`);
    return new ort.Tensor('float32', x, [batch, steps, features]);
  }

  /**
   * The layer's output for x [batch,T,F]. `weights` in tfjs order; null runs on the weights the
   * direction workers hold (holdsWeights: after loadState or an updating backward).
   */
  async forward(x: Float32Array, batch: number, weights: Float32Array[] | null, norm?: NormWeights): Promise<ForwardResult> {
    await this.#drain();
    const normFeeds = this.#normFeeds(norm);
    if (Array.isArray(this.#run)) return this.#forwardSplit(this.#run, x, batch, weights, normFeeds);
    if (weights === null) throw new Error('OnnxLstm: weights are held only by parallel directions');
    const inputs = Object.fromEntries(Object.entries(normFeeds ?? {}).map(([k, a]) => [k, new ort.Tensor('float32', this.#own.copy(k, a), [a.length])]));
    const out = await this.#run.fwd.run({ X: this.#input(x, batch), ...this.#weightFeeds(weights, true), ...inputs });
    const y = out['Y']!;
    const saved: Record<string, ort.Tensor> = { ...inputs };
    for (let d = 0; d < this.directions; d++) for (const what of SAVED) saved[savedName(what, d)] = out[savedName(what, d)]!;
    if (normFeeds !== undefined) saved[NORMED] = out[NORMED]!;
    return { output: y.data as Float32Array, outputShape: y.dims.slice(), saved };
  }

  /** The folded LayerNorm's weights as named graph inputs, checked (undefined without inputNorm). */
  #normFeeds(norm: NormWeights | undefined): Record<string, Float32Array> | undefined {
    const F = this.options.features;
    if (this.options.inputNorm === undefined) {
      if (norm !== undefined) throw new Error('OnnxLstm: LayerNorm weights given to a layer built without inputNorm');
      return undefined;
    }
    if (norm === undefined) {
      // Held by the workers (loadState): their own, updated copies.
      if (this.#normHeld) return undefined;
      throw new Error('OnnxLstm: a layer built with inputNorm needs the LayerNorm\'s gamma and beta at each forward (or held: loadState)');
    }
    if (norm.gamma.length !== F || norm.beta.length !== F) throw new Error(`OnnxLstm: LayerNorm gamma and beta should have ${F} values, got ${norm.gamma.length} and ${norm.beta.length}`);
    return { gamma: norm.gamma, beta: norm.beta };
  }

  /** The values of one direction's output ([B,T,H] or [B,H]) for a batch. */
  #directionOutputLength(batch: number): number {
    const { steps, units } = this.options;
    return batch * (this.options.returnSequences ? steps : 1) * units;
  }

  /** One direction's weights (checked against their shapes), copied into the shared arrays named `prefix` + name. */
  #sharedWeights(weights: Float32Array[], d: number, prefix = ''): Float32Array[] {
    return Object.values(this.#weightFeeds(weights, true, d)).map((t, j) => this.#shared.copy(`${prefix}${weightNames(d)[j]}`, t.data as Float32Array));
  }

  async #forwardSplit(
    workers: [DirectionWorker, DirectionWorker],
    x: Float32Array,
    batch: number,
    weights: Float32Array[] | null,
    norm: Record<string, Float32Array> | undefined,
  ): Promise<ForwardResult> {
    const ahead = this.#nextInput(x, batch, norm);
    this.#step++;
    await this.#both(workers, (d) => ({ type: 'forward', ...ahead.request(d), ...(weights === null ? {} : { weights: this.#sharedWeights(weights, d) }) }));
    return ahead.result();
  }

  /**
   * A forward's input copied into the shared arrays (the caller's arrays stay its own; both
   * workers read the same copies, written before either request), each direction's request
   * (for step #step + 1) and, once both answered, the result.
   */
  #nextInput(x: Float32Array, batch: number, norm?: Record<string, Float32Array>): { request(d: number): Omit<ForwardMessage, 'type' | 'weights'>; result(): ForwardResult } {
    const input = this.#input(x, batch);
    const sharedX = this.#shared.copy('X', x);
    const n = this.#directionOutputLength(batch);
    const ys = [this.#shared.get('Y0', n), this.#shared.get('Y1', n)] as const;
    const inputs = norm === undefined ? undefined : Object.fromEntries(Object.entries(norm).map(([k, a]) => [k, this.#shared.copy(k, a)]));
    const step = this.#step + 1;
    const outputShape = this.options.returnSequences ? [batch, this.options.steps, 2 * this.options.units] : [batch, 2 * this.options.units];
    return {
      request: (d) => ({ step, x: sharedX, dims: input.dims.slice(), ...(inputs === undefined ? {} : { inputs }), out: { Y: ys[d]! } }),
      result: () => ({ output: interleave(ys[0], ys[1], this.options.units, this.#own.get('Y', 2 * n)), outputShape, saved: {} }),
    };
  }

  /** Gradients of the last forward; `weights` is not read with parallel directions (null is fine). */
  async backward(x: Float32Array, batch: number, weights: Float32Array[] | null, fwd: ForwardResult, dOutput: Float32Array, opts: BackwardOptions = {}): Promise<BackwardResult> {
    await this.#drain();
    if (Array.isArray(this.#run)) return this.#backwardSplit(this.#run, batch, fwd, dOutput, opts);
    if (weights === null || opts.adam !== undefined || opts.next !== undefined) throw new Error('OnnxLstm: weights are held and updated only by parallel directions');
    const feeds = {
      X: this.#input(x, batch),
      dY: new ort.Tensor('float32', dOutput, fwd.outputShape),
      ...this.#weightFeeds(weights, this.options.inputGradient || this.options.inputNorm !== undefined),
      ...fwd.saved,
    };
    const out = await this.#run.bwd.run(feeds);
    const grads: Float32Array[] = [];
    for (let d = 0; d < this.directions; d++) for (const name of weightNames(d)) grads.push(out[`d${name}`]!.data as Float32Array);
    return {
      grads,
      ...(this.options.inputGradient ? { dx: out['dX']!.data as Float32Array } : {}),
      ...(this.options.inputNorm === undefined ? {} : { normGrads: [out['dgamma']!.data as Float32Array, out['dbeta']!.data as Float32Array] }),
    };
  }

  /**
   * The backward of the last forward (the workers keep that step's saved tensors): a forward,
   * then its backward, step after step, as training does.
   */
  async #backwardSplit(workers: [DirectionWorker, DirectionWorker], batch: number, fwd: ForwardResult, dOutput: Float32Array, opts: BackwardOptions): Promise<BackwardResult> {
    const { units: H, features: F, steps: T } = this.options;
    const adam = opts.adam;
    const next = opts.next;
    if (next !== undefined && (adam === undefined || (this.options.inputNorm !== undefined && !this.#normHeld))) {
      throw new Error('OnnxLstm: a backward runs the next forward only with an Adam update of held weights (and a held LayerNorm)');
    }
    const dims = fwd.outputShape.slice();
    dims[dims.length - 1] = H;
    const n = this.#directionOutputLength(batch);
    const shapes = this.weightShapes();
    const outs = [0, 1].map((d) => {
      const out: Record<string, Float32Array> = {};
      if (adam === undefined) {
        weightNames(d).forEach((name, j) => {
          out[`d${name}`] = this.#shared.get(`d${name}`, shapes[3 * d + j]!.reduce((a, b) => a * b, 1));
        });
      }
      if (this.options.inputGradient) out['dX'] = this.#shared.get(`dX${d}`, batch * T * F);
      if (this.options.inputNorm !== undefined) for (const k of ['dgamma', 'dbeta']) out[k] = this.#shared.get(`${k}${d}`, F);
      return out;
    });
    const step = this.#step;
    const ahead = next === undefined ? undefined : this.#nextInput(next.x, next.batch);
    const tickets = this.#startBoth(workers, (d) => ({
      type: 'backward',
      step,
      dy: half(dOutput, H, d as 0 | 1, this.#shared.get(`dY${d}`, n)),
      dims,
      out: outs[d]!,
      ...(adam === undefined ? {} : { adam }),
      ...(ahead === undefined ? {} : { next: ahead.request(d) }),
    }));
    if (ahead !== undefined) {
      // The workers answer once the next forward is done: waited for when its result is asked
      // for (or before anything else of this layer), not here, so the caller works meanwhile.
      this.#step++;
      let result: Promise<ForwardResult> | null = null;
      const finish = (): Promise<ForwardResult> => {
        result ??= (async () => {
          try {
            await this.#waitBoth(workers, tickets);
          } finally {
            this.#inFlight = null;
          }
          return ahead.result();
        })();
        return result;
      };
      this.#inFlight = finish;
      return { grads: [], next: finish };
    }
    await this.#waitBoth(workers, tickets);
    const grads = adam !== undefined ? [] : [0, 1].flatMap((d) => weightNames(d).map((name) => outs[d]![`d${name}`]!));
    // The whole layer's graph adds the two directions' terms with an ONNX Add: a float32 sum of
    // two float32 values, which a Float32Array store of their (double) sum rounds the same way.
    const sum = (k: string): Float32Array => {
      const [a, b] = [outs[0]![k]!, outs[1]![k]!];
      const s = this.#own.get(k, a.length);
      for (let i = 0; i < a.length; i++) s[i] = a[i]! + b[i]!;
      return s;
    };
    if (this.options.inputNorm !== undefined) return this.#normHeld && adam !== undefined ? { grads } : { grads, normGrads: [sum('dgamma'), sum('dbeta')] };
    if (!this.options.inputGradient) return { grads };
    if (opts.dxParts === true) return { grads, dxParts: [outs[0]!['dX']!, outs[1]!['dX']!] };
    return { grads, dx: sum('dX') };
  }

  /** One request to each direction worker, both started before either is waited for. */
  async #both(workers: [DirectionWorker, DirectionWorker], request: (d: 0 | 1) => ForwardMessage | BackwardMessage): Promise<void> {
    await this.#waitBoth(workers, this.#startBoth(workers, request));
  }

  #startBoth(workers: [DirectionWorker, DirectionWorker], request: (d: 0 | 1) => ForwardMessage | BackwardMessage): [Ticket, Ticket] {
    // The second worker's request first, unwoken; the first worker wakes it (its relay) when both go by mailbox.
    const second = workers[1].start(request(1), false);
    const first = workers[0].start(request(0));
    if ('seq' in second && !('seq' in first)) workers[1].wake();
    return [first, second];
  }

  async #waitBoth(workers: [DirectionWorker, DirectionWorker], tickets: [Ticket, Ticket]): Promise<void> {
    await settled(workers.map((w, d) => w.wait(tickets[d]!)));
  }

  /** Waits for a next forward under way (its failure is thrown here, and by its own result). */
  async #drain(): Promise<void> {
    if (this.#inFlight !== null) await this.#inFlight();
  }

  /** Whether the layer can hold its weights and Adam moments in its direction workers. */
  get holdsWeights(): boolean {
    return Array.isArray(this.#run);
  }

  #workers(): [DirectionWorker, DirectionWorker] {
    if (!Array.isArray(this.#run)) throw new Error('OnnxLstm: weights are held only by parallel directions');
    return this.#run;
  }

  /**
   * Hands the direction workers weights and Adam moments (tfjs order; absent moments: zeros),
   * and with `norm` the folded LayerNorm's gamma and beta, which both workers then hold and
   * update (forwards then bring none, and backwards with an update return no normGrads).
   */
  async loadState(state: LayerState): Promise<void> {
    await this.#drain();
    const workers = this.#workers();
    if (state.norm !== undefined && this.options.inputNorm === undefined) throw new Error('OnnxLstm: LayerNorm weights for a layer built without inputNorm');
    const F = this.options.features;
    const part = (arrays: Float32Array[] | undefined, d: number, prefix: string): Float32Array[] | undefined =>
      arrays === undefined ? undefined : this.#sharedWeights(arrays, d, prefix);
    const normPart = (arrays: Float32Array[] | undefined, prefix: string): Float32Array[] | undefined => {
      if (arrays === undefined) return undefined;
      if (arrays.length !== 2 || arrays.some((a) => a.length !== F)) throw new Error(`OnnxLstm: LayerNorm state should be gamma and beta of ${F} values each`);
      return arrays.map((a, k) => this.#shared.copy(`${prefix}${k === 0 ? 'gamma' : 'beta'}`, a));
    };
    const norm: HeldArrays | undefined =
      state.norm === undefined
        ? undefined
        : {
            weights: normPart(state.norm.weights, 'nw:')!,
            ...(state.norm.m === undefined ? {} : { m: normPart(state.norm.m, 'nm:')! }),
            ...(state.norm.v === undefined ? {} : { v: normPart(state.norm.v, 'nv:')! }),
          };
    await settled(
      workers.map((w, d) => {
        const m = part(state.m, d, 'm:');
        const v = part(state.v, d, 'v:');
        return w.request({
          type: 'load',
          weights: this.#sharedWeights(state.weights, d, 'w:'),
          ...(m === undefined ? {} : { m }),
          ...(v === undefined ? {} : { v }),
          ...(norm === undefined ? {} : { norm }),
        });
      }),
    );
    this.#normHeld = norm !== undefined;
  }

  /** Copies of the weights and Adam moments the direction workers hold, in tfjs order (and the LayerNorm's, when held). */
  async fetchState(): Promise<HeldLayerState> {
    await this.#drain();
    const workers = this.#workers();
    const shapes = this.weightShapes();
    const arrays = (prefix: string): Float32Array[] => shapes.map((s, i) => this.#shared.get(`${prefix}${weightNames(Math.floor(i / 3))[i % 3]}`, s.reduce((a, b) => a * b, 1)));
    const [weights, m, v] = [arrays('w:'), arrays('m:'), arrays('v:')];
    const F = this.options.features;
    const normArrays = (prefix: string): [Float32Array, Float32Array] => [this.#shared.get(`${prefix}gamma`, F), this.#shared.get(`${prefix}beta`, F)];
    // Both workers hold the same gamma and beta: the first one's are fetched.
    const norm = this.#normHeld ? { weights: normArrays('nw:'), m: normArrays('nm:'), v: normArrays('nv:') } : undefined;
    await settled(
      workers.map((w, d) =>
        w.request({ type: 'fetch', weights: weights.slice(3 * d, 3 * d + 3), m: m.slice(3 * d, 3 * d + 3), v: v.slice(3 * d, 3 * d + 3), ...(norm === undefined || d !== 0 ? {} : { norm }) }),
      ),
    );
    const copies = (list: Float32Array[]): Float32Array[] => list.map((a) => a.slice());
    const pair = (list: [Float32Array, Float32Array]): [Float32Array, Float32Array] => [list[0].slice(), list[1].slice()];
    return {
      weights: copies(weights),
      m: copies(m),
      v: copies(v),
      ...(norm === undefined ? {} : { norm: { weights: pair(norm.weights), m: pair(norm.m), v: pair(norm.v) } }),
    };
  }

  async release(): Promise<void> {
    await this.#drain().catch(() => undefined);
    if (Array.isArray(this.#run)) await Promise.all(this.#run.map((w) => w.terminate()));
    else await Promise.all([this.#run.fwd.release(), this.#run.bwd.release()]);
  }
}

export interface OnnxTrainStepArgs {
  rnn: OnnxLstm;
  /** The LSTM layer's weights as tfjs variables, in tfjs order (see OnnxLstm.weightShapes). */
  rnnWeights: tf.Variable[];
  /** The batch, [B,T,F] of the model input. */
  x: tf.Tensor3D;
  /** Optional tfjs part between the model input and the LSTM (e.g. a LayerNorm); needs inputGradient. */
  pre?: { apply: (x: tf.Tensor) => tf.Tensor; weights: tf.Variable[] };
  /** The tfjs part after the LSTM, returning the scalar loss of the batch. */
  head: { loss: (h: tf.Tensor) => tf.Scalar; weights: tf.Variable[] };
  optimizer: tf.Optimizer;
}

/**
 * One training step: forward through pre (tfjs), the LSTM (ONNX Runtime) and head (tfjs); the
 * backward in the reverse order; then one optimizer update of every weight. Returns the loss.
 */
export async function onnxTrainStep(args: OnnxTrainStepArgs): Promise<number> {
  const { rnn, x } = args;
  const batch = x.shape[0];
  if (args.pre !== undefined && !rnn.options.inputGradient) {
    throw new Error('onnxTrainStep: a pre part needs an OnnxLstm built with inputGradient: true');
  }
  const rnnIn = args.pre === undefined ? x : tf.tidy(() => args.pre!.apply(x));
  const xData = (await rnnIn.data()) as Float32Array;
  const weights = await Promise.all(args.rnnWeights.map(async (w) => (await w.data()) as Float32Array));
  const fwd = await rnn.forward(xData, batch, weights);

  // Head: loss, its weights' gradients, and the gradient arriving at the LSTM's output.
  const out = tf.tensor(fwd.output, fwd.outputShape);
  const h = tf.variable(out);
  const headGrads = tf.variableGrads(() => args.head.loss(h), [...args.head.weights, h]);
  const loss = (await headGrads.value.data())[0]!;
  const dh = (await headGrads.grads[h.name]!.data()) as Float32Array;

  const back = await rnn.backward(xData, batch, weights, fwd, dh);
  const grads: tf.NamedTensorMap = {};
  for (const w of args.head.weights) grads[w.name] = headGrads.grads[w.name]!;
  args.rnnWeights.forEach((w, i) => {
    grads[w.name] = tf.tensor(back.grads[i]!, w.shape);
  });
  if (args.pre !== undefined) {
    // Vector-Jacobian product: d/dθ sum(pre(x) * dx) is the pre part's weight gradient.
    const dx = tf.tensor(back.dx!, rnnIn.shape);
    const preGrads = tf.variableGrads(() => tf.sum(tf.mul(args.pre!.apply(x), dx)), args.pre.weights);
    for (const w of args.pre.weights) grads[w.name] = preGrads.grads[w.name]!;
    preGrads.value.dispose();
    dx.dispose();
    rnnIn.dispose();
  }
  args.optimizer.applyGradients(grads);
  // The variable shares the tensor's data: both are disposed.
  tf.dispose([out, h, headGrads.value, headGrads.grads[h.name]!, ...Object.values(grads)]);
  return loss;
}
