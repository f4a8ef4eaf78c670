// Runs an LSTM layer's forward and backward passes through ONNX Runtime (see lstm-graphs.ts),
// and one training step of a model "[pre] -> LSTM layer -> head + loss" where the pre and head
// parts and the optimiser stay in tfjs. ONNX Runtime's session.run is asynchronous, so this
// cannot sit inside a tfjs custom gradient; it is an async per-batch step instead.
import * as tf from '../../tf.js';
import ort from 'onnxruntime-node';
import { lstmBackwardGraph, lstmForwardGraph, SAVED, savedName, weightNames, type LstmGraphOptions } from './lstm-graphs.js';

export interface OnnxLstmOptions extends LstmGraphOptions {
  /**
   * Threads for ONNX Runtime's kernels (intra-op); default 1. Results are byte-identical run
   * after run for one thread count, but differ in the last bits between thread counts (how
   * MLAS splits its products), so the count belongs in a training fingerprint.
   */
  threads?: number;
  /**
   * Runs the graphs' independent nodes at once (ONNX Runtime's parallel executor, 2 inter-op
   * threads): the two directions of a bidirectional layer on two cores. Each node still runs on
   * `threads` intra-op threads, so results are bit-identical to the sequential executor's on
   * any machine (a test checks it). Without spinning threads: on a busy machine, spinning made
   * it slower than sequential.
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

export class OnnxLstm {
  readonly options: OnnxLstmOptions;
  readonly #fwd: ort.InferenceSession;
  readonly #bwd: ort.InferenceSession;

  private constructor(options: OnnxLstmOptions, fwd: ort.InferenceSession, bwd: ort.InferenceSession) {
    this.options = options;
    this.#fwd = fwd;
    this.#bwd = bwd;
  }

  static async create(options: OnnxLstmOptions): Promise<OnnxLstm> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.threads ?? 1,
      ...(options.parallelDirections === true
        ? { interOpNumThreads: 2, executionMode: 'parallel' as const, extra: { session: { inter_op: { allow_spinning: '0' }, intra_op: { allow_spinning: '0' } } } }
        : { interOpNumThreads: 1, executionMode: 'sequential' as const }),
      graphOptimizationLevel: 'all',
    };
    const [fwd, bwd] = await Promise.all([
      ort.InferenceSession.create(lstmForwardGraph(options), sessionOptions),
      ort.InferenceSession.create(lstmBackwardGraph(options), sessionOptions),
    ]);
    return new OnnxLstm(options, fwd, bwd);
  }

  get directions(): number {
    return this.options.bidirectional ? 2 : 1;
  }

  /** Weight shapes in tfjs order (what tf.layers.lstm / FastRecurrent hold). */
  weightShapes(): number[][] {
    const { features: F, units: H } = this.options;
    return Array.from({ length: this.directions }, () => [[F, 4 * H], [H, 4 * H], [4 * H]]).flat();
  }

  #weightFeeds(weights: Float32Array[], withKernel: boolean): Record<string, ort.Tensor> {
    const shapes = this.weightShapes();
    if (weights.length !== shapes.length) throw new Error(`OnnxLstm: expected ${shapes.length} weight arrays, got ${weights.length}`);
    const feeds: Record<string, ort.Tensor> = {};
    for (let d = 0; d < this.directions; d++) {
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
    const out = await this.#fwd.run({ X: this.#input(x, batch), ...this.#weightFeeds(weights, true) });
    const y = out['Y']!;
    const saved: Record<string, ort.Tensor> = {};
    for (let d = 0; d < this.directions; d++) for (const what of SAVED) saved[savedName(what, d)] = out[savedName(what, d)]!;
    return { output: y.data as Float32Array, outputShape: y.dims.slice(), saved };
  }

  async backward(x: Float32Array, batch: number, weights: Float32Array[], fwd: ForwardResult, dOutput: Float32Array): Promise<BackwardResult> {
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

  async release(): Promise<void> {
    await Promise.all([this.#fwd.release(), this.#bwd.release()]);
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
