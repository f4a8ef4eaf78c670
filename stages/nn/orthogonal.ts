// A seeded orthogonal initialiser for recurrent kernels (Saxe et al. 2014, as Keras and tfjs
// define it): the Q factor of the QR decomposition of a standard normal matrix, its columns'
// signs fixed by R's diagonal so that Q is uniformly (Haar) distributed, times `gain`.
//
// Why not tf.initializers.orthogonal: its QR runs as hundreds of small tfjs ops (0.5 s for one
// [128, 512] kernel on wasm, 15 s on the cpu backend), and it prints "Orthogonal initializer is
// being called on a matrix with more than 2000 elements: Slowness may result." for every LSTM
// kernel. The same maths in float64 plain JavaScript takes milliseconds. No well-kept QR library
// is a dependency here, and the factorisation needed is a dozen lines: written by hand.
//
// The normal matrix comes from tf.randomNormal with the same seed as tfjs' initialiser (or, with
// no seed, from Math.random, which training seeds: ../models/seeded-random.ts), so the draws are
// tfjs's; the result differs from tfjs' own orthogonal initialiser only in rounding (float64
// Gram-Schmidt against float32 Householder).
import * as tf from './tf.js';

/** The type addWeight() and tfjs layers' `*Initializer` options take. */
type Initializer = ReturnType<typeof tf.initializers.zeros>;

// tfjs keeps its Initializer base class out of the public API, yet tfjs-layers only accepts
// instances of it (getInitializer checks instanceof): it is reached through a built-in one.
const InitializerBase = Object.getPrototypeOf(tf.initializers.zeros().constructor) as abstract new () => Initializer;

export interface OrthogonalArgs {
  seed?: number;
  /** Multiplies the matrix; default 1. */
  gain?: number;
}

/**
 * Q [m, n] (m >= n) with orthonormal columns and R's diagonal positive, from a [m, n] matrix
 * (row-major, float64). Classical Gram-Schmidt run twice per column ("twice is enough",
 * Giraud et al. 2005): orthogonal to rounding for any matrix of full column rank, which a
 * Gaussian matrix has with probability 1. Gram-Schmidt yields the positive-diagonal R directly,
 * the unique factorisation tfjs reaches by flipping Householder's signs.
 */
export function orthonormalColumns(a: Float64Array, m: number, n: number): Float64Array {
  if (m < n) throw new RangeError(`orthonormalColumns: needs rows >= columns, got [${m}, ${n}]`);
  const q = new Float64Array(m * n);
  const v = new Float64Array(m);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) v[i] = a[i * n + j]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[i * n + k]! * v[i]!;
        for (let i = 0; i < m; i++) v[i]! -= dot * q[i * n + k]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    if (!(norm > 0)) throw new Error(`orthonormalColumns: column ${j} is linearly dependent on the others`);
    for (let i = 0; i < m; i++) q[i * n + j] = v[i]! / norm;
  }
  return q;
}

export class Orthogonal extends InitializerBase {
  static className = 'PipelineOrthogonal';

  // The base's static side is lost through the cast above; this is tfjs' own Serializable.fromConfig.
  static fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(config);
  }
  readonly seed: number | undefined;
  readonly gain: number;

  constructor(args: OrthogonalArgs = {}) {
    super();
    this.seed = args.seed;
    this.gain = args.gain ?? 1;
  }

  override apply(shape: number[], dtype?: tf.DataType): tf.Tensor {
    if (shape.length < 2) throw new Error(`Orthogonal initializer: shape must be at least 2-D, got [${shape.join(',')}]`);
    if (dtype !== undefined && dtype !== 'float32') throw new Error(`Orthogonal initializer: float32 only, got ${dtype}`);
    const rows = shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const cols = shape[shape.length - 1]!;
    // As tfjs: factor the tall orientation, transpose back when the matrix is wide.
    const [m, n] = [Math.max(rows, cols), Math.min(rows, cols)];
    // Not through tf.tidy: tidy walks what its function returns element by element (150 ms
    // for a [512, 512] typed array).
    const draw = tf.randomNormal([m, n], 0, 1, 'float32', this.seed);
    const normal = draw.dataSync();
    draw.dispose();
    const q = orthonormalColumns(Float64Array.from(normal), m, n);
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const value = this.gain * q[i * n + j]!;
        if (rows >= cols) out[i * cols + j] = value;
        else out[j * cols + i] = value;
      }
    }
    return tf.tensor(out, shape, 'float32');
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { gain: this.gain, ...(this.seed === undefined ? {} : { seed: this.seed }) };
  }
}

tf.serialization.registerClass(Orthogonal);
