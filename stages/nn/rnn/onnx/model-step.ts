// Training steps of a whole tfjs model whose one LSTM layer (a FastRecurrent) runs through ONNX
// Runtime: the model stays an ordinary tf.LayersModel (saved, loaded and scored by tfjs as
// usual); only its training step changes. The parts before the layer ("pre", e.g. a
// LayerNorm) and after it ("head": pooling, Dense, the loss) run in tfjs, and every weight is
// updated by the caller's tfjs optimizer.
import * as tf from '@tensorflow/tfjs';
import { FastRecurrent } from '../layer.js';
import { OnnxLstm } from './onnx-lstm.js';

export class OnnxModelTrainer {
  readonly #model: tf.LayersModel;
  readonly #layer: FastRecurrent;
  readonly #pre: tf.LayersModel | null;
  readonly #rnn: OnnxLstm;

  private constructor(model: tf.LayersModel, layer: FastRecurrent, pre: tf.LayersModel | null, rnn: OnnxLstm) {
    this.#model = model;
    this.#layer = layer;
    this.#pre = pre;
    this.#rnn = rnn;
  }

  /**
   * For a functional model with exactly one FastRecurrent LSTM layer, applied once, over a
   * fixed number of steps. `threads`: ONNX Runtime intra-op threads (default 1; the count
   * changes the last bits of results).
   */
  static async create(model: tf.LayersModel, opts: { threads?: number } = {}): Promise<OnnxModelTrainer> {
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
    const rnn = await OnnxLstm.create({
      units: layer.units,
      features,
      steps,
      bidirectional: layer.bidirectional,
      returnSequences: layer.returnSequences,
      inputGradient: pre !== null && pre.trainableWeights.length > 0,
      ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    });
    return new OnnxModelTrainer(model, layer, pre, rnn);
  }

  /**
   * One optimizer step: the same update as `optimizer.minimize(() => loss(model.apply(x,
   * {training: true})), true, vars)`, with the recurrent layer's forward and backward in ONNX
   * Runtime. `vars` must hold every trainable weight of the model. Resolves to the loss.
   */
  async trainStep(x: tf.Tensor3D, loss: (output: tf.Tensor) => tf.Scalar, optimizer: tf.Optimizer, vars: tf.Variable[]): Promise<number> {
    const rnnVars = this.#layer.weightVariables;
    const preVars = this.#pre === null ? [] : this.#pre.trainableWeights.map((w) => w.read() as tf.Variable);
    const skip = new Set([...rnnVars, ...preVars].map((v) => v.name));
    const headVars = vars.filter((v) => !skip.has(v.name));
    const rnnIn = this.#pre === null ? x : tf.tidy(() => this.#pre!.apply(x, { training: true }) as tf.Tensor);
    const xData = (await rnnIn.data()) as Float32Array;
    const weights = await Promise.all(rnnVars.map(async (v) => (await v.data()) as Float32Array));
    const batch = x.shape[0];
    const fwd = await this.#rnn.forward(xData, batch, weights);

    const h = tf.variable(tf.tensor(fwd.output, fwd.outputShape));
    const head = tf.variableGrads(
      () => this.#layer.withOutput(h, () => loss(this.#model.apply(x, { training: true }) as tf.Tensor)),
      [...headVars, h],
    );
    const lossValue = (await head.value.data())[0]!;
    const back = await this.#rnn.backward(xData, batch, weights, fwd, (await head.grads[h.name]!.data()) as Float32Array);

    const grads: tf.NamedTensorMap = {};
    for (const v of headVars) grads[v.name] = head.grads[v.name]!;
    rnnVars.forEach((v, i) => {
      grads[v.name] = tf.tensor(back.grads[i]!, v.shape);
    });
    if (this.#pre !== null && preVars.length > 0) {
      // Vector-Jacobian product: d/dθ sum(pre(x) * dx) is the pre part's weight gradient.
      const dx = tf.tensor(back.dx!, rnnIn.shape);
      const pre = tf.variableGrads(() => tf.sum(tf.mul(this.#pre!.apply(x, { training: true }) as tf.Tensor, dx)), preVars);
      for (const v of preVars) grads[v.name] = pre.grads[v.name]!;
      tf.dispose([pre.value, dx]);
    }
    optimizer.applyGradients(grads);
    tf.dispose([h, head.value, ...Object.values(grads)]);
    if (rnnIn !== x) rnnIn.dispose();
    return lossValue;
  }

  async release(): Promise<void> {
    await this.#rnn.release();
  }
}
