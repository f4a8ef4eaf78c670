// Runs an LSTM layer's forward and backward passes through ONNX Runtime (see lstm-graphs.ts),
// and one training step of a model "[pre] -> LSTM layer -> head + loss" where the pre and head
// parts and the optimiser stay in tfjs. ONNX Runtime's session.run is asynchronous, so this
// cannot sit inside a tfjs custom gradient; it is an async per-batch step instead.
import * as tf from '../../tf.js';
import ort from 'onnxruntime-node';
import { Worker } from 'node:worker_threads';
import type { BackwardMessage, ForwardMessage, InitMessage, Reply } from './direction-worker.js';
import { addGraph, lstmBackwardGraph, lstmForwardGraph, SAVED, savedName, weightNames, type LstmGraphOptions } from './lstm-graphs.js';

export interface OnnxLstmOptions extends LstmGraphOptions {
  /**
   * Threads for ONNX Runtime's kernels (intra-op); default 1. Results are byte-identical run
   * after run for one thread count, but differ in the last bits between thread counts (how
   * MLAS splits its products), so the count belongs in a training fingerprint.
   */
  threads?: number;
  /**
   * A bidirectional layer's two directions at once, on two threads: this one runs the forward
   * direction's graphs, a worker thread (direction-worker.ts) the backward direction's, each
   * with its own single-direction sessions of `threads` intra-op threads. The graphs compute
   * the same nodes on the same data as the whole layer's, so results are bit-identical to the
   * sequential path on any machine (a test checks it): a speed-only switch. ONNX Runtime's own
   * parallel executor was tried first and was slower than sequential (it also hands the Scan
   * bodies' dozen small nodes between threads at every step).
   */
  parallelDirections?: boolean;
}

export interface ForwardResult {
  /** [B,T,dirs*H] or [B,dirs*H], row-major. */
  output: Float32Array;
  outputShape: number[];
  /** What the backward pass needs; pass it back unchanged. */
  saved: Record<string, ort.Tensor>;
}

export interface BackwardResult {
  /** Gradients of the weights, in tfjs order (kernel, recurrentKernel, bias per direction). */
  grads: Float32Array[];
  /** d(loss)/d(input) [B,T,F] when the layer was built with inputGradient. */
  dx?: Float32Array;
}

/** The worker thread that runs one direction (direction-worker.ts); one request at a time. */
class DirectionWorker {
  readonly #worker: Worker;
  #pending: { resolve: (o: Record<string, Float32Array>) => void; reject: (e: Error) => void } | null = null;
  #failed: Error | null = null;
  /** The shared-memory arrays of share(), by name. */
  readonly #shared = new Map<string, Float32Array>();

  constructor() {
    this.#worker = new Worker(new URL('./direction-worker.js', import.meta.url));
    // Idle, the worker does not keep the process alive; a request in flight does (ref below).
    this.#worker.unref();
    this.#worker.on('message', (r: Reply) => {
      const p = this.#pending;
      this.#pending = null;
      this.#worker.unref();
      if (p === null) return;
      if (r.ok) p.resolve(r.outputs);
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

  request(m: InitMessage | ForwardMessage | BackwardMessage, transfer: ArrayBuffer[] = []): Promise<Record<string, Float32Array>> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#pending !== null) return Promise.reject(new Error('OnnxLstm direction worker: a request is already in flight'));
    const p = new Promise<Record<string, Float32Array>>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.ref();
      this.#worker.postMessage(m, transfer);
    });
    // The caller awaits it after its own direction; should that throw first, a later failure
    // here must not become an unhandled rejection (which would end the process).
    p.catch(() => undefined);
    return p;
  }

  /**
   * `data` copied into a shared-memory array kept under `name` (one per name and size): posting
   * it hands the worker the memory, not a serialised copy (which cost about 1.5 ms of a demo
   * step). The worker copies it out before computing (ONNX Runtime refuses shared memory), and
   * this thread writes it again only for the next request, after the last one has answered.
   */
  share(name: string, data: Float32Array): Float32Array {
    let buf = this.#shared.get(name);
    if (buf === undefined || buf.length !== data.length) {
      buf = new Float32Array(new SharedArrayBuffer(data.byteLength));
      this.#shared.set(name, buf);
    }
    buf.set(data);
    return buf;
  }

  async terminate(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }
}

/** Interleaves two directions' outputs [rows, H] each into [rows, 2H] (Concat on the last axis). */
function interleave(a: Float32Array, b: Float32Array, units: number): Float32Array {
  const rows = a.length / units;
  const out = new Float32Array(2 * a.length);
  for (let r = 0; r < rows; r++) {
    out.set(a.subarray(r * units, (r + 1) * units), 2 * r * units);
    out.set(b.subarray(r * units, (r + 1) * units), (2 * r + 1) * units);
  }
  return out;
}

/** The inverse of interleave: one direction's half of each row of [rows, 2H]. */
function half(a: Float32Array, units: number, which: 0 | 1): Float32Array {
  const rows = a.length / (2 * units);
  const out = new Float32Array(rows * units);
  for (let r = 0; r < rows; r++) out.set(a.subarray((2 * r + which) * units, (2 * r + which + 1) * units), r * units);
  return out;
}

export class OnnxLstm {
  readonly options: OnnxLstmOptions;
  readonly #fwd: ort.InferenceSession;
  readonly #bwd: ort.InferenceSession;
  /** With parallelDirections on a bidirectional layer: the backward direction's thread. */
  readonly #other: DirectionWorker | null;
  /** With a worker and inputGradient: the Add of the two directions' input gradients. */
  readonly #adder: ort.InferenceSession | null;
  #step = 0;

  private constructor(
    options: OnnxLstmOptions,
    fwd: ort.InferenceSession,
    bwd: ort.InferenceSession,
    other: DirectionWorker | null,
    adder: ort.InferenceSession | null = null,
  ) {
    this.options = options;
    this.#fwd = fwd;
    this.#bwd = bwd;
    this.#other = other;
    this.#adder = adder;
  }

  static async create(options: OnnxLstmOptions): Promise<OnnxLstm> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    if (options.parallelDirections === true && options.bidirectional) {
      const own = { ...options, direction: 0 as const };
      const theirs = { ...options, direction: 1 as const };
      const other = new DirectionWorker();
      try {
        const [fwd, bwd, , adder] = await Promise.all([
          ort.InferenceSession.create(lstmForwardGraph(own), sessionOptions),
          ort.InferenceSession.create(lstmBackwardGraph(own), sessionOptions),
          other.request({ type: 'init', forwardGraph: lstmForwardGraph(theirs), backwardGraph: lstmBackwardGraph(theirs), sessionOptions }),
          options.inputGradient ? ort.InferenceSession.create(addGraph(options), sessionOptions) : null,
        ]);
        return new OnnxLstm(options, fwd, bwd, other, adder);
      } catch (e) {
        await other.terminate();
        throw e;
      }
    }
    const [fwd, bwd] = await Promise.all([
      ort.InferenceSession.create(lstmForwardGraph(options), sessionOptions),
      ort.InferenceSession.create(lstmBackwardGraph(options), sessionOptions),
    ]);
    return new OnnxLstm(options, fwd, bwd, null);
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

  async forward(x: Float32Array, batch: number, weights: Float32Array[]): Promise<ForwardResult> {
    if (this.#other !== null) return this.#forwardSplit(x, batch, weights);
    const out = await this.#fwd.run({ X: this.#input(x, batch), ...this.#weightFeeds(weights, true) });
    const y = out['Y']!;
    const saved: Record<string, ort.Tensor> = {};
    for (let d = 0; d < this.directions; d++) for (const what of SAVED) saved[savedName(what, d)] = out[savedName(what, d)]!;
    return { output: y.data as Float32Array, outputShape: y.dims.slice(), saved };
  }

  async #forwardSplit(x: Float32Array, batch: number, weights: Float32Array[]): Promise<ForwardResult> {
    const input = this.#input(x, batch);
    const theirFeeds = this.#weightFeeds(weights, true, 1);
    const step = ++this.#step;
    // Posted first, so that the worker computes while this thread runs its own direction. The
    // worker gets copies of x and the weights (in shared memory): the caller's arrays stay its own.
    const other = this.#other!;
    const theirs = other.request({
      type: 'forward',
      step,
      x: other.share('X', x),
      dims: input.dims.slice(),
      weights: Object.entries(theirFeeds).map(([name, t]) => ({ name, data: other.share(name, t.data as Float32Array), dims: t.dims.slice() })),
    });
    const mine = await this.#fwd.run({ X: input, ...this.#weightFeeds(weights, true, 0) });
    const y1 = (await theirs)['Y']!;
    const y0 = mine['Y']!;
    const saved: Record<string, ort.Tensor> = {};
    for (const what of SAVED) saved[savedName(what, 0)] = mine[savedName(what, 0)]!;
    const outputShape = y0.dims.slice();
    outputShape[outputShape.length - 1] = 2 * this.options.units;
    return { output: interleave(y0.data as Float32Array, y1, this.options.units), outputShape, saved };
  }

  async backward(x: Float32Array, batch: number, weights: Float32Array[], fwd: ForwardResult, dOutput: Float32Array): Promise<BackwardResult> {
    if (this.#other !== null) return this.#backwardSplit(x, batch, weights, fwd, dOutput);
    const feeds = {
      X: this.#input(x, batch),
      dY: new ort.Tensor('float32', dOutput, fwd.outputShape),
      ...this.#weightFeeds(weights, this.options.inputGradient),
      ...fwd.saved,
    };
    const out = await this.#bwd.run(feeds);
    const grads: Float32Array[] = [];
    for (let d = 0; d < this.directions; d++) for (const name of weightNames(d)) grads.push(out[`d${name}`]!.data as Float32Array);
    return { grads, ...(this.options.inputGradient ? { dx: out['dX']!.data as Float32Array } : {}) };
  }

  /**
   * The backward of the last forward (the worker keeps that step's saved tensors): a forward,
   * then its backward, step after step, as training does.
   */
  async #backwardSplit(x: Float32Array, batch: number, weights: Float32Array[], fwd: ForwardResult, dOutput: Float32Array): Promise<BackwardResult> {
    const H = this.options.units;
    const dims = fwd.outputShape.slice();
    dims[dims.length - 1] = H;
    const dy1 = half(dOutput, H, 1);
    const theirs = this.#other!.request({ type: 'backward', step: this.#step, dy: dy1, dims }, [dy1.buffer as ArrayBuffer]);
    const mine = await this.#bwd.run({
      X: this.#input(x, batch),
      dY: new ort.Tensor('float32', half(dOutput, H, 0), dims),
      ...this.#weightFeeds(weights, this.options.inputGradient, 0),
      ...fwd.saved,
    });
    const other = await theirs;
    const grads: Float32Array[] = [];
    for (const name of weightNames(0)) grads.push(mine[`d${name}`]!.data as Float32Array);
    for (const name of weightNames(1)) grads.push(other[`d${name}`]!);
    if (!this.options.inputGradient) return { grads };
    // The whole layer's graph adds the two directions' terms: the same ONNX Add here.
    const xDims = [batch, this.options.steps, this.options.features];
    const sum = await this.#adder!.run({ A: new ort.Tensor('float32', mine['dX']!.data as Float32Array, xDims), B: new ort.Tensor('float32', other['dX']!, xDims) });
    return { grads, dx: sum['Y']!.data as Float32Array };
  }

  async release(): Promise<void> {
    await Promise.all([this.#fwd.release(), this.#bwd.release(), this.#other?.terminate(), this.#adder?.release()]);
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
