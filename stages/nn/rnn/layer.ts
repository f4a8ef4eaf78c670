// FastRecurrent: an LSTM or GRU layer (optionally bidirectional) built on the sequence ops of
// lstm.ts / gru.ts, for use inside any tf.LayersModel. Its weights have the shapes, order and
// meaning of tf.layers.lstm / tf.layers.gru (wrapped in tf.layers.bidirectional when
// bidirectional), so `fast.setWeights(stock.getWeights())` and the reverse just work.
import * as tf from '../tf.js';
import { type LayerArgs, type LayerKwargs, type LayerVariable, OutputOverride, singleInput, singleShape } from '../layer-args.js';
import { Orthogonal } from '../orthogonal.js';
import { gruSequence } from './gru.js';
import { lstmSequence } from './lstm.js';

export type RecurrentCell = 'lstm' | 'gru';

export interface FastRecurrentArgs extends LayerArgs {
  cell: RecurrentCell;
  units: number;
  bidirectional?: boolean;
  returnSequences?: boolean;
  /** LSTM only: initialise the forget-gate bias to 1 (Keras' unit_forget_bias). Default false, as tfjs. */
  unitForgetBias?: boolean;
  /**
   * Seed of the weight initialisers (kernel: glorot normal, recurrent kernel: orthogonal (our
   * own, ../orthogonal.ts: fast and quiet), bias: zeros, as tfjs-layers). Without it tfjs draws
   * from Math.random.
   */
  seed?: number;
}

interface Direction {
  kernel: LayerVariable;
  recurrentKernel: LayerVariable;
  bias: LayerVariable;
}

export class FastRecurrent extends tf.layers.Layer {
  static className = 'FastRecurrent';
  readonly cell: RecurrentCell;
  readonly units: number;
  readonly bidirectional: boolean;
  readonly returnSequences: boolean;
  readonly unitForgetBias: boolean;
  readonly seed: number | undefined;
  #dirs: Direction[] = [];
  readonly #override = new OutputOverride();

  constructor(args: FastRecurrentArgs) {
    super(args);
    if (args.cell !== 'lstm' && args.cell !== 'gru') {
      throw new Error(`FastRecurrent: cell must be 'lstm' or 'gru', got '${String(args.cell)}'`);
    }
    if (!Number.isInteger(args.units) || args.units <= 0) {
      throw new Error(`FastRecurrent: units must be a positive integer, got ${args.units}`);
    }
    this.cell = args.cell;
    this.units = args.units;
    this.bidirectional = args.bidirectional ?? false;
    this.returnSequences = args.returnSequences ?? false;
    this.unitForgetBias = args.unitForgetBias ?? false;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = singleShape(inputShape);
    const features = shape[shape.length - 1];
    if (shape.length !== 3 || features == null) {
      throw new Error(`FastRecurrent '${this.name}': expects input [batch, steps, features], got [${shape.join(',')}]`);
    }
    const gates = this.cell === 'lstm' ? 4 : 3;
    const h = this.units;
    const seedAt = (k: number): { seed?: number } => (this.seed === undefined ? {} : { seed: this.seed + k });
    const names = this.bidirectional ? ['forward/', 'backward/'] : [''];
    this.#dirs = names.map((prefix, d) => {
      const dir: Direction = {
        kernel: this.addWeight(`${prefix}kernel`, [features, gates * h], 'float32', tf.initializers.glorotNormal(seedAt(3 * d))),
        recurrentKernel: this.addWeight(
          `${prefix}recurrent_kernel`, [h, gates * h], 'float32', new Orthogonal(seedAt(3 * d + 1)),
        ),
        bias: this.addWeight(`${prefix}bias`, [gates * h], 'float32', tf.initializers.zeros()),
      };
      if (this.cell === 'lstm' && this.unitForgetBias) {
        dir.bias.write(tf.tidy(() => tf.concat([tf.zeros([h]), tf.ones([h]), tf.zeros([2 * h])])));
      }
      return dir;
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = singleShape(inputShape);
    const out = this.units * (this.bidirectional ? 2 : 1);
    return this.returnSequences ? [shape[0] ?? null, shape[1] ?? null, out] : [shape[0] ?? null, out];
  }

  /** The weights in tfjs order (kernel, recurrent kernel, bias; forward direction first). */
  get weightVariables(): tf.Variable[] {
    return this.#dirs.flatMap((d) => [d.kernel, d.recurrentKernel, d.bias].map((v) => v.read() as tf.Variable));
  }

  /**
   * Runs fn with this layer's output replaced by `output` (its input ignored): lets another
   * runtime compute the layer (see onnx/model-step.ts) while tfjs runs the rest of the model.
   */
  withOutput<T>(output: tf.Tensor, fn: () => T): T {
    return this.#override.with(output, fn);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: LayerKwargs): tf.Tensor {
    const given = this.#override.value;
    if (given !== null) return given;
    return tf.tidy(() => {
      const x = singleInput(inputs) as tf.Tensor3D;
      // The sequence ops work time-major, so that each step is a contiguous block; one
      // transpose serves both directions.
      const xt = tf.transpose(x, [1, 0, 2]) as tf.Tensor3D;
      const run = this.cell === 'lstm' ? lstmSequence : gruSequence;
      const outs = this.#dirs.map((dir, d) =>
        run(
          xt,
          dir.kernel.read() as tf.Tensor2D,
          dir.recurrentKernel.read() as tf.Tensor2D,
          dir.bias.read() as tf.Tensor1D,
          { goBackwards: d === 1, returnSequences: this.returnSequences },
        ),
      );
      const out = outs.length === 1 ? outs[0]! : tf.concat(outs, -1);
      return this.returnSequences ? tf.transpose(out, [1, 0, 2]) : out;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      cell: this.cell,
      units: this.units,
      bidirectional: this.bidirectional,
      returnSequences: this.returnSequences,
      unitForgetBias: this.unitForgetBias,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}

tf.serialization.registerClass(FastRecurrent);
