// The TrainableGenreModel that every tfjs model of this folder uses: a model file only builds
// its network (input [L,F] -> logits [G]); this wraps it with the loss, Adam, the seeded
// randomness, state snapshots and saving. The saved model ends in a sigmoid and outputs
// probabilities; training works on the logits, for a numerically stable loss.
//
// With `params.rnn: 'onnx'` and a network holding exactly one LSTM layer, training steps run
// that layer's forward and backward in ONNX Runtime (OnnxModelTrainer, ../nn/rnn/onnx/); the
// rest of the network, the loss and Adam stay in tfjs, and prediction, evaluation and saving
// use the tfjs model as for 'fast'. Other networks train on FastRecurrent and say so
// (`trainingNote`).
import * as tf from '../nn/tf.js';
import { fusedAdam } from '../nn/fused-adam.js';
import { lossFunction } from '../nn/losses.js';
import { FastRecurrent } from '../nn/recurrent.js';
import type { OnnxModelTrainer } from '../nn/rnn/onnx/model-step.js';
import type {
  Batch,
  BuildOptions,
  ModelFiles,
  ModelShape,
  ModelState,
  NamedArray,
  TrainableGenreModel,
} from './contract.js';
import { modelToFiles } from './io.js';
import { exportOnnx } from './onnx-export.js';
import { stockCopy } from './stock-copy.js';
import { type RandomState, SeededRandom } from './seeded-random.js';
import type { JsonValue } from '../../src/stage-api.js';

/** Builds a network from the input (symbolic [batch, L, F]) to the logits ([batch, G]). */
export type NetworkBuilder = (input: tf.SymbolicTensor, opts: BuildOptions) => tf.SymbolicTensor;

/** PyTorch's Adam epsilon (tfjs defaults to 1e-7): the reference project trained with it. */
const ADAM_EPSILON = 1e-8;

// Adam keeps beta1^t and beta2^t in two private variables. tfjs's setWeights recomputes them
// with pow(), which differs in the last bits from the running product that training keeps, so
// an exact resume saves and restores them directly.
interface AdamInternals {
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

function copyOut(name: string, t: tf.Tensor): NamedArray {
  return { name, shape: [...t.shape], data: new Float32Array(t.dataSync()) };
}

class TfGenreModel implements TrainableGenreModel {
  readonly name: string;
  readonly shape: ModelShape;
  readonly #logits: tf.LayersModel;
  readonly #probs: tf.LayersModel;
  readonly #loss: ReturnType<typeof lossFunction>;
  readonly #opt: tf.AdamOptimizer;
  readonly #vars: tf.Variable[];
  #rng: SeededRandom;
  readonly #rngSeed: string;
  /** Set when training steps run through ONNX Runtime: its thread count. */
  readonly #onnxThreads: number | null;
  readonly #onnxParallel: boolean;
  #trainer: Promise<OnnxModelTrainer> | undefined;
  /** The trainer once built (exportOnnx, which is synchronous, checks it holds no weights). */
  #built: OnnxModelTrainer | undefined;
  readonly trainingNote?: string;

  constructor(name: string, opts: BuildOptions, build: NetworkBuilder) {
    this.name = name;
    this.shape = opts.shape;
    // Dropout masks draw from Math.random: a generator of their own, seeded apart from the
    // initialisers', keeps them reproducible (see seeded-random.ts).
    this.#rngSeed = `${opts.seed}:dropout`;
    this.#rng = new SeededRandom(this.#rngSeed);
    const { length, width } = opts.shape;
    const [logitsModel, probsModel] = new SeededRandom(`${opts.seed}:init`).run(() => {
      const input = tf.input({ shape: [length, width], name: 'features' });
      const logits = build(input, opts);
      const last = logits.shape[logits.shape.length - 1];
      if (logits.shape.length !== 2 || last !== opts.shape.genres) {
        throw new Error(`model ${name}: network output is [${logits.shape.join(',')}], expected [batch, ${opts.shape.genres}]`);
      }
      const probs = tf.layers.activation({ activation: 'sigmoid', name: 'probabilities' }).apply(logits) as tf.SymbolicTensor;
      return [
        tf.model({ inputs: input, outputs: logits, name: `${name}_logits` }),
        tf.model({ inputs: input, outputs: probs, name }),
      ];
    });
    this.#logits = logitsModel;
    this.#probs = probsModel;
    this.#loss = lossFunction(opts.loss);
    // tfjs' Adam, one pass per weight on wasm/cpu (same bits: ../nn/fused-adam.ts).
    this.#opt = fusedAdam(opts.lr, 0.9, 0.999, ADAM_EPSILON);
    // An explicit variable list: without it minimize() would take every trainable variable of
    // the process, other models' included.
    this.#vars = this.#logits.trainableWeights.map((w) => w.read() as tf.Variable);
    this.#onnxThreads = null;
    this.#onnxParallel = opts.onnxParallel ?? false;
    if (opts.params.rnn === 'onnx') {
      // recurrent() builds FastRecurrent layers for 'onnx'.
      const rnns = this.#logits.layers.filter((l): l is FastRecurrent => l instanceof FastRecurrent);
      const lstm = rnns.length === 1 && rnns[0]!.cell === 'lstm';
      if (lstm) this.#onnxThreads = opts.onnxThreads ?? 1;
      else if (rnns.length > 0) {
        this.trainingNote = `train.rnn onnx runs models with exactly one LSTM layer; ${name} has ${rnns.length === 1 ? 'a GRU layer' : `${rnns.length} recurrent layers`} and trains with train.rnn fast`;
      }
    }
  }

  #tensors(b: Batch): [tf.Tensor3D, tf.Tensor2D] {
    const { length, width, genres } = this.shape;
    return [tf.tensor3d(b.x, [b.n, length, width]), tf.tensor2d(b.y, [b.n, genres])];
  }

  async trainStep(b: Batch, next?: Batch): Promise<number> {
    if (this.#onnxThreads !== null) return this.#onnxStep(b, next);
    const loss = this.#rng.run(() =>
      tf.tidy(() => {
        const [x, y] = this.#tensors(b);
        return this.#opt.minimize(() => this.#loss(y, this.#logits.apply(x, { training: true }) as tf.Tensor), true, this.#vars)!;
      }),
    );
    const v = (await loss.data())[0]!;
    loss.dispose();
    return v;
  }

  #onnxTrainer(): Promise<OnnxModelTrainer> {
    // Created on first use, not in the constructor: building the sessions is async.
    this.#trainer ??= import('../nn/rnn/onnx/model-step.js').then(({ OnnxModelTrainer }) =>
      OnnxModelTrainer.create(this.#logits, { threads: this.#onnxThreads!, parallelDirections: this.#onnxParallel }).then((t) => (this.#built = t)),
    );
    return this.#trainer;
  }

  /**
   * train.rnn onnx with parallel directions keeps the LSTM's weights and Adam moments in the
   * direction workers during training (model-step.ts): this brings them into the tfjs model and
   * optimizer before anything else reads them, and (`writing`) hands the workers the tfjs ones
   * again at the next step, after those were written.
   */
  async #sync(writing = false): Promise<void> {
    if (this.#built === undefined) return;
    await (writing ? this.#built.letGo() : this.#built.sync());
  }

  async #onnxStep(b: Batch, next: Batch | undefined): Promise<number> {
    const trainer = await this.#onnxTrainer();
    // Outside any tidy: the step is async, and x and y must live until it resolves.
    const [x, y] = this.#tensors(b);
    try {
      // The next batch's LSTM forward runs in this step's last request to the workers (model-step.ts).
      const inputs = { input: b.x, ...(next === undefined ? {} : { next: { x: next.x, batch: next.n } }) };
      return await trainer.trainStep(x, (out) => this.#loss(y, out), this.#opt, this.#vars, (fn) => this.#rng.run(fn), inputs);
    } finally {
      tf.dispose([x, y]);
    }
  }

  async evaluate(b: Batch): Promise<{ loss: number; probabilities: Float32Array }> {
    let loss: tf.Tensor;
    let probs: tf.Tensor;
    if (this.#onnxThreads !== null) {
      // train.rnn onnx: the LSTM's forward in ONNX Runtime, as in the training steps.
      const trainer = await this.#onnxTrainer();
      const [x, y] = this.#tensors(b);
      try {
        [loss, probs] = await trainer.infer(x, (logits) => [this.#loss(y, logits), tf.sigmoid(logits)]);
      } finally {
        tf.dispose([x, y]);
      }
    } else {
      [loss, probs] = tf.tidy(() => {
        const [x, y] = this.#tensors(b);
        const logits = this.#logits.apply(x, { training: false }) as tf.Tensor;
        return [this.#loss(y, logits), tf.sigmoid(logits)];
      });
    }
    const [l, p] = await Promise.all([loss.data(), probs.data()]);
    tf.dispose([loss, probs]);
    return { loss: l[0]!, probabilities: new Float32Array(p) };
  }

  async predict(x: Float32Array, n: number): Promise<Float32Array> {
    await this.#sync();
    return predictWith(this.#probs, this.shape, x, n);
  }

  setLearningRate(lr: number): void {
    (this.#opt as unknown as AdamInternals).learningRate = lr;
  }

  async getState(withOptimizer: boolean): Promise<ModelState> {
    await this.#sync();
    const weights = this.#probs.weights.map((w) => copyOut(w.originalName, w.read()));
    if (!withOptimizer) return { weights };
    const slots = await this.#opt.getWeights();
    const internals = this.#opt as unknown as AdamInternals;
    const optimizer = [
      ...slots.map((s) => copyOut(s.name, s.tensor)),
      copyOut('__accBeta1', internals.accBeta1),
      copyOut('__accBeta2', internals.accBeta2),
    ];
    return { weights, optimizer, rng: this.#rng.state() as unknown as JsonValue };
  }

  async setState(state: ModelState): Promise<void> {
    // First the workers' weights and moments back: a weights-only state keeps the optimizer's.
    await this.#sync(true);
    const ws = this.#probs.weights;
    if (state.weights.length !== ws.length) {
      throw new Error(`model ${this.name}: state has ${state.weights.length} weights, the model ${ws.length}`);
    }
    tf.tidy(() => {
      state.weights.forEach((s, i) => {
        const w = ws[i]!;
        if (s.shape.join(',') !== w.shape.join(',')) {
          throw new Error(`model ${this.name}: weight ${w.originalName} is [${w.shape}], state has [${s.shape}]`);
        }
        w.write(tf.tensor(s.data, s.shape));
      });
    });
    if (state.rng !== undefined) this.#rng = new SeededRandom(this.#rngSeed, state.rng as unknown as RandomState);
    if (state.optimizer === undefined) return;
    const slots = state.optimizer.filter((s) => !s.name.startsWith('__'));
    await this.#opt.setWeights(slots.map((s) => ({ name: s.name, tensor: tf.tensor(s.data, s.shape) })));
    const internals = this.#opt as unknown as AdamInternals;
    for (const s of state.optimizer) {
      if (s.name === '__accBeta1') internals.accBeta1.assign(tf.scalar(s.data[0]!));
      if (s.name === '__accBeta2') internals.accBeta2.assign(tf.scalar(s.data[0]!));
    }
  }

  async save(format: 'stock' | 'project' = 'stock'): Promise<ModelFiles> {
    await this.#sync();
    // Stock tfjs-layers classes where every layer has a stock equivalent (stock-copy.ts), so
    // that plain @tensorflow/tfjs loads the model; the project's own classes otherwise.
    return (format === 'stock' ? await stockCopy(this.#probs) : null) ?? modelToFiles(this.#probs);
  }

  exportOnnx(): Uint8Array {
    if (this.#built?.weightsInWorkers === true) throw new Error(`model ${this.name}: exportOnnx before the training workers' weights are back (await save() or getState() first)`);
    return exportOnnx(this.#probs);
  }

  async dispose(): Promise<void> {
    const trainer = this.#trainer;
    this.#trainer = undefined;
    this.#built = undefined;
    // A trainer that failed to build has already failed its step: nothing to release.
    if (trainer !== undefined) await trainer.then((t) => t.release(), () => undefined);
    this.#loss.dispose();
    this.#opt.dispose();
    // The two models share every layer; disposing the one with the extra sigmoid frees them all.
    this.#probs.dispose();
  }
}

async function predictWith(model: tf.LayersModel, shape: ModelShape, x: Float32Array, n: number): Promise<Float32Array> {
  const { length, width } = shape;
  if (x.length !== n * length * width) {
    throw new RangeError(`predict: x holds ${x.length} values, expected ${n}x${length}x${width}`);
  }
  const p = tf.tidy(() => model.predict(tf.tensor3d(x, [n, length, width])) as tf.Tensor);
  const out = new Float32Array(await p.data());
  p.dispose();
  return out;
}

/** Wraps a network builder into a trainable model (see the top of this file). */
export function tfGenreModel(name: string, opts: BuildOptions, build: NetworkBuilder): TrainableGenreModel {
  return new TfGenreModel(name, opts, build);
}
