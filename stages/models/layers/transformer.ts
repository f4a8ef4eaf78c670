// Layers of the `transformer` model that tfjs-layers lacks: a learned position embedding and a
// pre-LayerNorm transformer encoder block (multi-head self-attention + feed-forward). Written
// by hand on tfjs ops because tfjs-layers has no MultiHeadAttention; they are registered for
// serialisation, so saved models load once this module is imported (registry.ts imports it,
// through transformer.ts).
import * as tf from '../../nn/tf.js';
import { type LayerArgs, type LayerKwargs, type LayerVariable, singleInput, singleShape } from '../../nn/layer-args.js';

type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** Adds a learned [steps, features] embedding to a [batch, steps, features] input. */
export class PositionEmbedding extends tf.layers.Layer {
  static className = 'PositionEmbedding';
  #table: LayerVariable | undefined;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = singleShape(inputShape);
    const steps = s[1];
    const features = s[2];
    if (s.length !== 3 || steps == null || features == null) {
      throw new Error(`PositionEmbedding '${this.name}': needs a fixed [batch, steps, features] input, got [${s.join(',')}]`);
    }
    this.#table = this.addWeight('embeddings', [steps, features], 'float32', tf.initializers.randomNormal({ stddev: 0.02 }));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(singleInput(inputs), this.#table!.read()));
  }
}

export interface EncoderBlockArgs extends LayerArgs {
  heads: number;
  /** Hidden width of the feed-forward part (default 2x the model width). */
  ffUnits?: number;
  dropout?: number;
}

interface BlockWeights {
  ln1g: LayerVariable;
  ln1b: LayerVariable;
  wq: LayerVariable;
  bq: LayerVariable;
  wk: LayerVariable;
  bk: LayerVariable;
  wv: LayerVariable;
  bv: LayerVariable;
  wo: LayerVariable;
  bo: LayerVariable;
  ln2g: LayerVariable;
  ln2b: LayerVariable;
  w1: LayerVariable;
  b1: LayerVariable;
  w2: LayerVariable;
  b2: LayerVariable;
}

/**
 * x + Dropout(MHSA(LN(x))), then y + Dropout(FFN(LN(y))): the pre-LN block (Xiong et al. 2020),
 * which trains without the learning-rate warm-up the post-LN original needs.
 */
export class TransformerEncoderBlock extends tf.layers.Layer {
  static className = 'TransformerEncoderBlock';
  readonly heads: number;
  readonly ffUnits: number | undefined;
  readonly dropout: number;
  #w: BlockWeights | undefined;

  constructor(args: EncoderBlockArgs) {
    super(args);
    this.heads = args.heads;
    this.ffUnits = args.ffUnits;
    this.dropout = args.dropout ?? 0;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const s = singleShape(inputShape);
    const d = s[2];
    if (s.length !== 3 || d == null) throw new Error(`TransformerEncoderBlock '${this.name}': needs [batch, steps, features], got [${s.join(',')}]`);
    if (d % this.heads !== 0) throw new Error(`TransformerEncoderBlock '${this.name}': width ${d} is not divisible by ${this.heads} heads`);
    const ff = this.ffUnits ?? 2 * d;
    const glorot = (): Initializer => tf.initializers.glorotUniform({});
    const add = (name: string, shape: number[], init: Initializer): LayerVariable =>
      this.addWeight(name, shape, 'float32', init);
    this.#w = {
      ln1g: add('ln1/gamma', [d], tf.initializers.ones()),
      ln1b: add('ln1/beta', [d], tf.initializers.zeros()),
      wq: add('query/kernel', [d, d], glorot()),
      bq: add('query/bias', [d], tf.initializers.zeros()),
      wk: add('key/kernel', [d, d], glorot()),
      bk: add('key/bias', [d], tf.initializers.zeros()),
      wv: add('value/kernel', [d, d], glorot()),
      bv: add('value/bias', [d], tf.initializers.zeros()),
      wo: add('output/kernel', [d, d], glorot()),
      bo: add('output/bias', [d], tf.initializers.zeros()),
      ln2g: add('ln2/gamma', [d], tf.initializers.ones()),
      ln2b: add('ln2/beta', [d], tf.initializers.zeros()),
      w1: add('ff1/kernel', [d, ff], glorot()),
      b1: add('ff1/bias', [ff], tf.initializers.zeros()),
      w2: add('ff2/kernel', [ff, d], glorot()),
      b2: add('ff2/bias', [d], tf.initializers.zeros()),
    };
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: LayerKwargs): tf.Tensor {
    const w = this.#w!;
    const training = kwargs['training'] === true;
    return tf.tidy(() => {
      const x = singleInput(inputs) as tf.Tensor3D;
      const [B, T, d] = x.shape;
      const h = this.heads;
      const dk = d / h;
      const drop = (t: tf.Tensor): tf.Tensor => (training && this.dropout > 0 ? tf.dropout(t, this.dropout) : t);
      const norm = (t: tf.Tensor, g: LayerVariable, b: LayerVariable): tf.Tensor => {
        const { mean, variance } = tf.moments(t, -1, true);
        return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), g.read()), b.read());
      };
      // [B*T, d] x [d, n] + b: a position-wise dense layer.
      const dense = (t2: tf.Tensor, k: LayerVariable, b: LayerVariable): tf.Tensor => tf.add(tf.matMul(t2 as tf.Tensor2D, k.read() as tf.Tensor2D), b.read());
      const heads = (t2: tf.Tensor): tf.Tensor => tf.transpose(tf.reshape(t2, [B, T, h, dk]), [0, 2, 1, 3]);

      const a = tf.reshape(norm(x, w.ln1g, w.ln1b), [B * T, d]);
      const q = heads(dense(a, w.wq, w.bq));
      const k = heads(dense(a, w.wk, w.bk));
      const v = heads(dense(a, w.wv, w.bv));
      const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dk)));
      const ctx = tf.reshape(tf.transpose(tf.matMul(drop(att), v), [0, 2, 1, 3]), [B * T, d]);
      const y = tf.add(x, tf.reshape(drop(dense(ctx, w.wo, w.bo)), [B, T, d]));

      const f = tf.reshape(norm(y, w.ln2g, w.ln2b), [B * T, d]);
      const f1 = tf.relu(dense(f, w.w1, w.b1));
      return tf.add(y, tf.reshape(drop(dense(f1, w.w2, w.b2)), [B, T, d]));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      heads: this.heads,
      ...(this.ffUnits === undefined ? {} : { ffUnits: this.ffUnits }),
      dropout: this.dropout,
    };
  }
}

tf.serialization.registerClass(PositionEmbedding);
tf.serialization.registerClass(TransformerEncoderBlock);
