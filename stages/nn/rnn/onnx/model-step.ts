// Training steps of a whole tfjs model whose one LSTM layer (a FastRecurrent) runs through ONNX
// Runtime: the model stays an ordinary tf.LayersModel (saved, loaded and scored by tfjs as
// usual); only its training step changes. The parts before the layer ("pre", e.g. a
// LayerNorm) and after it ("head": pooling, Dense, the loss) run in tfjs, and every weight is
// updated by the caller's tfjs optimizer.
import * as tf from '../../tf.js';
import type { WasmBackendLike } from '../../backend-internals.js';
import { FastRecurrent } from '../layer.js';
import { FusedAdamOptimizer, fusedUpdateAvailable, isFusedAdam } from '../../fused-adam.js';
import { type ForwardResult, type LayerState, type NormWeights, OnnxLstm } from './onnx-lstm.js';

/** Runs a synchronous section of a step (e.g. with Math.random seeded: seeded-random.ts). */
export type SyncRunner = <T>(fn: () => T) => T;

const direct: SyncRunner = (fn) => fn();

/** Layers that draw random numbers in training: the pre part runs twice per step, so it must have none. */
const RANDOM_LAYERS = /dropout|noise/i;

/**
 * A layer whose forward and weight gradient can run apart (e.g. the models' LayerNorm): when
 * the pre part is this one layer on the model input, a step runs its forward once and its
 * weights' gradient straight from the LSTM's input gradient, instead of the pre part's forward
 * three times (for the LSTM's input, inside the head's pass, and again for a vector-Jacobian
 * product). The layer promises the bits of tf.variableGrads through its call().
 */
interface SplitLayer extends tf.layers.Layer {
  readonly weightVariables: tf.Variable[];
  forwardParts(x: tf.Tensor): { output: tf.Tensor; normed: tf.Tensor };
  weightGrads(normed: tf.Tensor, dOutput: tf.Tensor): tf.Tensor[];
  withOutput<T>(output: tf.Tensor, fn: () => T): T;
  /**
   * Set when the layer is a per-frame LayerNorm over the last axis (weights gamma, beta), which
   * the LSTM's ONNX graphs can compute themselves (lstm-graphs.ts, inputNorm).
   */
  readonly foldableNorm?: { epsilon: number } | null;
}

/** What trainStep may be told about its batch and the one after it (see trainStep). */
export interface StepInputs {
  /** x's values, as the caller holds them: matched (by identity) against the last step's `next`. */
  input?: Float32Array;
  /** The next step's batch, [batch, T, F] of the model input: its LSTM forward runs ahead, in this step's last request. */
  next?: { x: Float32Array; batch: number };
}

const isSplitLayer = (l: tf.layers.Layer): l is SplitLayer =>
  typeof (l as Partial<SplitLayer>).forwardParts === 'function' && typeof (l as Partial<SplitLayer>).weightGrads === 'function';

export class OnnxModelTrainer {
  readonly #model: tf.LayersModel;
  readonly #layer: FastRecurrent;
  readonly #pre: tf.LayersModel | null;
  readonly #rnn: OnnxLstm;
  /** The pre part when it is one SplitLayer on the model input. */
  readonly #split: SplitLayer | null;
  /**
   * Whether that layer is a LayerNorm the LSTM's graphs compute (inputNorm): then this thread
   * hands them the raw input and the LayerNorm's weights, and gets the weights' gradient back.
   */
  readonly #folded: boolean;
  /**
   * The LSTM's input, weights and output gradient, copied out of tfjs each step into arrays
   * kept from step to step: fresh arrays (tensor.data()) were 3 MB of garbage per step at the
   * demo's shape, and collecting it a sixth of the step.
   */
  readonly #buffers = new Map<string, Float32Array>();
  /**
   * Set while the direction workers hold the LSTM's weights and their Adam moments and update
   * them (see trainStep). `slots`: each weight's position in the optimizer's list.
   */
  #held: { optimizer: FusedAdamOptimizer; slots: number[]; normSlots: number[] } | null = null;
  /**
   * The next step's LSTM forward, run by the workers in this step's backward request (on the
   * updated weights), for the input array the caller named as the next batch.
   */
  #ahead: { x: Float32Array; result: () => Promise<ForwardResult> } | null = null;
  /** Whether the workers updated their weights since the tfjs variables and slots were last brought up to date (sync). */
  #stale = false;

  private constructor(model: tf.LayersModel, layer: FastRecurrent, pre: tf.LayersModel | null, rnn: OnnxLstm, split: SplitLayer | null) {
    this.#model = model;
    this.#layer = layer;
    this.#pre = pre;
    this.#rnn = rnn;
    this.#split = split;
    this.#folded = split !== null && rnn.options.inputNorm !== undefined;
  }

  /**
   * For a functional model with exactly one FastRecurrent LSTM layer, applied once, over a
   * fixed number of steps. `threads`: ONNX Runtime intra-op threads (default 1; the count
   * changes the last bits of results). `parallelDirections`: see OnnxLstmOptions (same bits).
   * `wholePre`: run a SplitLayer pre part as any other (for tests: the same bits either way).
   * `foldNorm` (default true): a per-frame LayerNorm before the LSTM, feeding nothing else, is
   * computed inside the LSTM's graphs (one large product fewer in the backward and no tfjs work
   * for it; the same maths, other rounding); false keeps it in tfjs as a SplitLayer.
   */
  static async create(
    model: tf.LayersModel,
    opts: { threads?: number; parallelDirections?: boolean; wholePre?: boolean; foldNorm?: boolean } = {},
  ): Promise<OnnxModelTrainer> {
    const layers = model.layers.filter((l): l is FastRecurrent => l instanceof FastRecurrent);
    if (layers.length !== 1 || layers[0]!.cell !== 'lstm') {
      throw new Error(`OnnxModelTrainer: model ${model.name} needs exactly one FastRecurrent LSTM layer, has ${layers.length}`);
    }
    const layer = layers[0]!;
    const input = layer.input as tf.SymbolicTensor;
    const [, steps, features] = input.shape;
    if (typeof steps !== 'number' || typeof features !== 'number') {
      throw new Error(`OnnxModelTrainer: layer ${layer.name} needs a fixed input shape, has [${input.shape.join(',')}]`);
    }
    const fromInput = model.inputs.includes(input);
    const pre = fromInput ? null : tf.model({ inputs: model.inputs, outputs: input });
    // The part before the layer runs twice per step (its output, then its gradient as a
    // vector-Jacobian product); a random layer there would draw two different masks.
    const random = pre?.layers.find((l) => RANDOM_LAYERS.test(l.getClassName()));
    if (random !== undefined) {
      throw new Error(`OnnxModelTrainer: model ${model.name} has a random layer (${random.name}) before its LSTM layer; train it with FastRecurrent`);
    }
    const preLayers = pre?.layers.filter((l) => l.getClassName() !== 'InputLayer') ?? [];
    const only = preLayers.length === 1 ? preLayers[0]! : null;
    const split = only !== null && opts.wholePre !== true && isSplitLayer(only) && only.trainable ? only : null;
    // Folded only where the LayerNorm's output is the LSTM's input and nothing else's: this
    // thread then never computes it.
    const norm = split !== null && opts.foldNorm !== false && split.inboundNodes.length === 1 && split.outboundNodes.length === 1 ? (split.foldableNorm ?? null) : null;
    const rnn = await OnnxLstm.create({
      units: layer.units,
      features,
      steps,
      bidirectional: layer.bidirectional,
      returnSequences: layer.returnSequences,
      inputGradient: norm === null && pre !== null && pre.trainableWeights.length > 0,
      ...(norm === null ? {} : { inputNorm: norm }),
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
      ...(opts.parallelDirections === undefined ? {} : { parallelDirections: opts.parallelDirections }),
    });
    return new OnnxModelTrainer(model, layer, pre, rnn, split);
  }

  /**
   * One optimizer step: the same update as `optimizer.minimize(() => loss(model.apply(x,
   * {training: true})), true, vars)`, with the recurrent layer's forward and backward in ONNX
   * Runtime. `vars` must hold every trainable weight of the model. Resolves to the loss. `x`
   * (and whatever `loss` reads) must stay alive until it resolves. `run` wraps each synchronous
   * tfjs section of the step (the step awaits ONNX Runtime in between), e.g. to seed the
   * dropout masks drawn there.
   *
   * `inputs.next`: the next step's batch. When the workers hold the weights (and the folded
   * LayerNorm's, if any) and the LSTM reads the model input itself, the backward's request
   * then also carries that batch's forward, which the workers run on the updated weights while
   * this thread finishes the step: the next call, given that same array as `inputs.input`,
   * starts from its result (one round trip a step instead of two; the same bits).
   */
  async trainStep(
    x: tf.Tensor3D,
    loss: (output: tf.Tensor) => tf.Scalar,
    optimizer: tf.Optimizer,
    vars: tf.Variable[],
    run: SyncRunner = direct,
    inputs: StepInputs = {},
  ): Promise<number> {
    const rnnVars = this.#layer.weightVariables;
    const preVars = this.#pre === null ? [] : this.#pre.trainableWeights.map((w) => w.read() as tf.Variable);
    const skip = new Set([...rnnVars, ...preVars].map((v) => v.name));
    const headVars = vars.filter((v) => !skip.has(v.name));
    const split = this.#split;
    const folded = this.#folded;
    // Folded: the graphs normalise x themselves; the LayerNorm's output is never needed here (its
    // override in the head's pass below only stands in for it: the LSTM's output is given too).
    const parts = split === null || folded ? null : run(() => split.forwardParts(x));
    const rnnIn = folded ? x : parts !== null ? parts.output : this.#pre === null ? x : run(() => tf.tidy(() => this.#pre!.apply(x, { training: true }) as tf.Tensor));
    const owned: tf.Tensor[] = rnnIn === x ? [] : [rnnIn];
    if (parts !== null) owned.push(parts.normed);
    try {
      // The grads' order below: `vars` order, which is the optimizer's slot order.
      const external = isFusedAdam(optimizer) && this.#rnn.holdsWeights && fusedUpdateAvailable();
      if (this.#held !== null && (!external || this.#held.optimizer !== optimizer)) await this.letGo();
      if (external && this.#held === null) await this.#hand(optimizer, vars, rnnVars);
      const held = this.#held;
      const batch = x.shape[0];
      const weights = held === null ? this.#weights(rnnVars) : null;
      const ahead = this.#ahead;
      let fwd: ForwardResult;
      let xData: Float32Array;
      if (ahead !== null && held !== null && inputs.input !== undefined && ahead.x === inputs.input) {
        this.#ahead = null;
        fwd = await ahead.result();
        xData = ahead.x;
      } else {
        // Not the batch named last step (or no longer held): that forward's result is dropped.
        await this.#settle();
        xData = this.#read(rnnIn, 'x');
        fwd = await this.#rnn.forward(xData, batch, weights, held === null ? this.#norm() : undefined);
      }
      const out = tf.tensor(fwd.output, fwd.outputShape);
      const h = tf.variable(out);
      // The variable shares the tensor's data: both are disposed at the end.
      owned.push(out, h);
      const apply = (): tf.Scalar => this.#layer.withOutput(h, () => loss(this.#model.apply(x, { training: true }) as tf.Tensor));
      const head = run(() => tf.variableGrads(() => (split === null ? apply() : split.withOutput(rnnIn, apply)), [...headVars, h]));
      owned.push(head.value, ...Object.values(head.grads));
      const lossValue = (await head.value.data())[0]!;
      // Held weights: the workers run this step's update of them with the optimizer's scalars.
      const adam = held === null ? undefined : held.optimizer.nextStepAttrs();
      if (held !== null) this.#stale = true;
      // The next forward can run ahead when the LSTM reads the raw model input.
      const next = held !== null && inputs.next !== undefined && rnnIn === x ? inputs.next : undefined;
      const back = await this.#rnn.backward(xData, batch, weights, fwd, this.#read(head.grads[h.name]!, 'dh'), {
        ...(adam === undefined ? {} : { adam }),
        dxParts: true,
        ...(next === undefined ? {} : { next }),
      });
      if (back.next !== undefined) this.#ahead = { x: next!.x, result: back.next };

      const byName = new Map<string, tf.Tensor | null>();
      for (const v of headVars) byName.set(v.name, head.grads[v.name]!);
      rnnVars.forEach((v, i) => {
        if (held !== null) {
          // A null gradient: the optimizer keeps the weight's slots in place and leaves it alone.
          byName.set(v.name, null);
          return;
        }
        const t = tf.tensor(back.grads[i]!, v.shape);
        owned.push(t);
        byName.set(v.name, t);
      });
      if (folded && held !== null) {
        // Held and updated by the workers with the LSTM's weights.
        for (const v of split!.weightVariables) byName.set(v.name, null);
      } else if (folded) {
        const [dGamma, dBeta] = back.normGrads!;
        split!.weightVariables.forEach((v, i) => {
          const t = tf.tensor(i === 0 ? dGamma : dBeta, v.shape);
          owned.push(t);
          byName.set(v.name, t);
        });
      } else if (this.#pre !== null && preVars.length > 0) {
        // The directions' two terms summed by a tfjs Add (float32: the bits of the graph's Add).
        const terms = back.dxParts?.map((p) => tf.tensor(p, rnnIn.shape));
        const dx = terms === undefined ? tf.tensor(back.dx!, rnnIn.shape) : tf.add(terms[0]!, terms[1]!);
        owned.push(dx, ...(terms ?? []));
        if (split !== null) {
          const g = run(() => split.weightGrads(parts!.normed, dx));
          owned.push(...g);
          split.weightVariables.forEach((v, i) => byName.set(v.name, g[i]!));
        } else {
          // Vector-Jacobian product: d/dθ sum(pre(x) * dx) is the pre part's weight gradient.
          const pre = run(() => tf.variableGrads(() => tf.sum(tf.mul(this.#pre!.apply(x, { training: true }) as tf.Tensor, dx)), preVars));
          owned.push(pre.value, ...Object.values(pre.grads));
          for (const v of preVars) byName.set(v.name, pre.grads[v.name]!);
        }
      }
      // In the order of `vars`, as minimize() gives them: Adam keeps its moments by position,
      // so both paths (and a checkpoint written by either) keep the same slot order.
      const grads: Record<string, tf.Tensor | null> = {};
      for (const v of vars) {
        const g = byName.get(v.name);
        if (g !== undefined) grads[v.name] = g;
      }
      if (held !== null) {
        // The optimizer keeps moments by position in this list: the workers' must be the LSTM's.
        const names = Object.keys(grads);
        if (rnnVars.some((v, j) => names[held.slots[j]!] !== v.name)) throw new Error('OnnxModelTrainer: the LSTM weights moved in the optimizer\'s list');
        if (this.#normVars().some((v, j) => names[held.normSlots[j]!] !== v.name)) throw new Error('OnnxModelTrainer: the LayerNorm weights moved in the optimizer\'s list');
      }
      run(() => optimizer.applyGradients(grads as tf.NamedTensorMap));
      return lossValue;
    } finally {
      tf.dispose(owned);
    }
  }

  /**
   * The model's output for x in inference mode (training: false), with the LSTM's forward in
   * ONNX Runtime: what validation needs each epoch, at the cost of a training step's forward
   * (tfjs' own LSTM forward is several times slower at small batches). `use` runs inside a
   * tidy on the output ([B, outputs]); what it returns is kept. The output equals the tfjs
   * model's to rounding (the LSTM's maths are the same, its rounding ONNX Runtime's).
   */
  async infer<T extends tf.Tensor | tf.Tensor[]>(x: tf.Tensor3D, use: (output: tf.Tensor) => T): Promise<T> {
    const rnnVars = this.#layer.weightVariables;
    const split = this.#split;
    const rnnIn = this.#folded
      ? x
      : split !== null
        ? tf.tidy(() => split.forwardParts(x).output)
        : this.#pre === null
          ? x
          : tf.tidy(() => this.#pre!.apply(x, { training: false }) as tf.Tensor);
    try {
      const xData = this.#read(rnnIn, 'x');
      await this.#settle();
      const fwd = await this.#rnn.forward(xData, x.shape[0], this.#held === null ? this.#weights(rnnVars) : null, this.#held === null ? this.#norm() : undefined);
      return tf.tidy(() => {
        const h = tf.tensor(fwd.output, fwd.outputShape);
        const apply = (): T => this.#layer.withOutput(h, () => use(this.#model.apply(x, { training: false }) as tf.Tensor));
        return split === null ? apply() : split.withOutput(rnnIn, apply);
      });
    } finally {
      if (rnnIn !== x) rnnIn.dispose();
    }
  }

  /** t's values in the kept array named `key` (valid until the next call with that key). */
  #read(t: tf.Tensor, key: string): Float32Array {
    let buf = this.#buffers.get(key);
    if (buf === undefined || buf.length !== t.size) {
      buf = new Float32Array(t.size);
      this.#buffers.set(key, buf);
    }
    // On wasm, straight from the backend's heap (a view, copied at once); elsewhere a copy.
    buf.set(tf.getBackend() === 'wasm' ? (tf.backend() as unknown as WasmBackendLike).typedArrayFromHeap(t) : (t.dataSync() as Float32Array));
    return buf;
  }

  /** The folded LayerNorm's weights, as they are now (undefined when none is folded). */
  #norm(): NormWeights | undefined {
    if (!this.#folded) return undefined;
    const [gamma, beta] = this.#split!.weightVariables;
    return { gamma: this.#read(gamma!, 'gamma'), beta: this.#read(beta!, 'beta') };
  }

  /** The folded LayerNorm's weights as variables (none when not folded). */
  #normVars(): tf.Variable[] {
    return this.#folded ? this.#split!.weightVariables : [];
  }

  /** Waits for a forward run ahead (its result is not used). */
  async #settle(): Promise<void> {
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead !== null) await ahead.result();
  }

  #weights(rnnVars: tf.Variable[]): Float32Array[] {
    return rnnVars.map((v, i) => this.#read(v, `w${i}`));
  }

  /**
   * Hands the LSTM's weights and their Adam moments (zeros before the first update) to the
   * direction workers, which from then on update them at each step: the update runs on both
   * cores, beside the rest of the step, and no weight crosses between threads per step.
   */
  async #hand(optimizer: FusedAdamOptimizer, vars: tf.Variable[], rnnVars: tf.Variable[]): Promise<void> {
    const slotOf = (v: tf.Variable, what: string): number => {
      const i = vars.findIndex((w) => w.name === v.name);
      if (i < 0) throw new Error(`OnnxModelTrainer: the ${what} weight ${v.name} is not among the trained variables`);
      return i;
    };
    const slots = rnnVars.map((v) => slotOf(v, 'LSTM'));
    const normVars = this.#normVars();
    const normSlots = normVars.map((v) => slotOf(v, 'LayerNorm'));
    const copy = (t: tf.Tensor): Float32Array => new Float32Array(t.dataSync() as Float32Array);
    // Moments of every held weight, or of none (zeros: before the first update).
    const withMoments = [...slots, ...normSlots].every((i) => optimizer.hasMoments(i));
    const momentsOf = (list: tf.Variable[], at: number[]): { m: Float32Array[]; v: Float32Array[] } | null => {
      if (!withMoments) return null;
      const s = at.map((i, j) => optimizer.moments(i, list[j]!.name, list[j]!));
      return { m: s.map((x) => copy(x.m)), v: s.map((x) => copy(x.v)) };
    };
    const moments = momentsOf(rnnVars, slots);
    const state: LayerState = { weights: rnnVars.map(copy), ...(moments ?? {}) };
    if (normVars.length === 2) {
      const nm = momentsOf(normVars, normSlots);
      const pair = (a: Float32Array[]): [Float32Array, Float32Array] => [a[0]!, a[1]!];
      state.norm = { weights: pair(normVars.map(copy)), ...(nm === null ? {} : { m: pair(nm.m), v: pair(nm.v) }) };
    }
    await this.#rnn.loadState(state);
    this.#held = { optimizer, slots, normSlots };
  }

  /** Whether the tfjs variables and slots of the LSTM lag behind the workers' (until sync()). */
  get weightsInWorkers(): boolean {
    return this.#held !== null && this.#stale;
  }

  /**
   * Brings the weights and Adam moments the direction workers hold into the tfjs variables and
   * the optimizer's slots. The workers keep theirs (both are equal then): anything that reads
   * the model's weights or the optimizer outside the steps calls this first; anything that
   * writes them calls letGo().
   */
  async sync(): Promise<void> {
    const held = this.#held;
    if (held === null || !this.#stale) return;
    await this.#settle();
    const state = await this.#rnn.fetchState();
    const rnnVars = this.#layer.weightVariables;
    const put = (v: tf.Variable, slot: number, w: Float32Array, m1: Float32Array, m2: Float32Array): void => {
      v.assign(tf.tensor(w, v.shape));
      const { m, v: second } = held.optimizer.moments(slot, v.name, v);
      m.assign(tf.tensor(m1, v.shape));
      second.assign(tf.tensor(m2, v.shape));
    };
    tf.tidy(() => {
      rnnVars.forEach((v, j) => put(v, held.slots[j]!, state.weights[j]!, state.m[j]!, state.v[j]!));
      const n = state.norm;
      if (n !== undefined) this.#normVars().forEach((v, j) => put(v, held.normSlots[j]!, n.weights[j]!, n.m[j]!, n.v[j]!));
    });
    this.#stale = false;
  }

  /**
   * sync(), then the workers' copies count for nothing: the next step hands them the tfjs
   * weights and moments again (after these were written, e.g. a checkpoint restored).
   */
  async letGo(): Promise<void> {
    await this.sync();
    this.#held = null;
  }

  async release(): Promise<void> {
    await this.#settle().catch(() => undefined);
    this.#held = null;
    this.#stale = false;
    await this.#rnn.release();
  }
}
