// Fixed-length methods: a movie's [N,D] frame embeddings -> [L,D].
//
// Pure functions over row-major Float32Arrays, so each one can be checked against hand-computed
// cases. Arithmetic is done in float64 and rounded once to float32 on store.
import seedrandom from 'seedrandom';
import { unreachable } from '../../src/errors.js';
import { FIXLEN_METHODS, type FixlenMethod } from './params.js';

export { FIXLEN_METHODS, type FixlenMethod };

export function isFixlenMethod(s: unknown): s is FixlenMethod {
  return typeof s === 'string' && (FIXLEN_METHODS as readonly string[]).includes(s);
}

/** A movie's frame embeddings: `n` rows of `d` values, row-major. */
export interface Frames {
  data: Float32Array;
  n: number;
  d: number;
}

export interface FixlenResult {
  data: Float32Array;
  /** window only: the first frame of the window (N >= L), or -(rows of left padding) (N < L). */
  start?: number;
}

/**
 * The random generator a movie's window is drawn from. Seeded from `fixlen.seed` and the movie
 * id alone, so a movie's window never depends on which other movies exist or their order (the
 * reference drew every window from one global numpy RNG, movie after movie).
 */
export function windowRng(seed: number, id: string): () => number {
  return seedrandom(`fixlen-window\u0000${seed}\u0000${id}`);
}

/**
 * The reference's method: one random contiguous window of L frames when N >= L; otherwise the
 * N frames preceded by L - N zero rows (padding on the left, so the last time step, which the
 * LSTM's head reads, is always a real frame).
 */
export function fixWindow(f: Frames, length: number, rng: () => number): FixlenResult {
  const { data, n, d } = f;
  if (n >= length) {
    const start = Math.min(n - length, Math.floor(rng() * (n - length + 1)));
    return { data: data.slice(start * d, (start + length) * d), start };
  }
  const out = new Float32Array(length * d);
  out.set(data.subarray(0, n * d), (length - n) * d);
  return { data: out, start: -(length - n) };
}

/**
 * L evenly spaced frames: output row i takes frame floor((i + 0.5) * N / L), the frame under
 * the centre of the i-th of L equal slices of the movie. When N < L each frame repeats
 * floor(L/N) or ceil(L/N) times.
 */
export function fixUniform(f: Frames, length: number): FixlenResult {
  const { data, n, d } = f;
  const out = new Float32Array(length * d);
  for (let i = 0; i < length; i++) {
    const src = Math.min(n - 1, Math.floor(((i + 0.5) * n) / length));
    out.set(data.subarray(src * d, (src + 1) * d), i * d);
  }
  return { data: out };
}

/**
 * Linear interpolation in time: output row i sits at t = i * (N - 1) / (L - 1) in frame units,
 * so the first and last rows are exactly the first and last frames (L = 1 takes the middle).
 */
export function fixInterpolate(f: Frames, length: number): FixlenResult {
  const { data, n, d } = f;
  const out = new Float32Array(length * d);
  for (let i = 0; i < length; i++) {
    const t = length === 1 ? (n - 1) / 2 : (i * (n - 1)) / (length - 1);
    const lo = Math.min(n - 1, Math.floor(t));
    const hi = Math.min(n - 1, lo + 1);
    const w = t - lo;
    const a = lo * d;
    const b = hi * d;
    const o = i * d;
    for (let k = 0; k < d; k++) out[o + k] = data[a + k]! * (1 - w) + data[b + k]! * w;
  }
  return { data: out };
}

/**
 * Adaptive average pooling over L bins, as torch.nn.AdaptiveAvgPool1d defines its bins: bin i
 * averages frames [floor(i*N/L), ceil((i+1)*N/L)). Bins may overlap when L does not divide N,
 * and when N < L a frame feeds several bins.
 */
export function fixPool(f: Frames, length: number): FixlenResult {
  const { data, n, d } = f;
  const out = new Float32Array(length * d);
  const acc = new Float64Array(d);
  for (let i = 0; i < length; i++) {
    const s = Math.floor((i * n) / length);
    const e = Math.ceil(((i + 1) * n) / length);
    acc.fill(0);
    for (let r = s; r < e; r++) {
      const a = r * d;
      for (let k = 0; k < d; k++) acc[k]! += data[a + k]!;
    }
    const o = i * d;
    const inv = 1 / (e - s);
    for (let k = 0; k < d; k++) out[o + k] = acc[k]! * inv;
  }
  return { data: out };
}

/** Applies `method`; `rng` is used by `window` only. Requires n >= 1 and length >= 1. */
export function fixLength(f: Frames, length: number, method: FixlenMethod, rng: () => number): FixlenResult {
  if (f.n < 1) throw new RangeError('fixLength: no frames');
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`fixLength: bad length ${length}`);
  switch (method) {
    case 'window':
      return fixWindow(f, length, rng);
    case 'uniform':
      return fixUniform(f, length);
    case 'interpolate':
      return fixInterpolate(f, length);
    case 'pool':
      return fixPool(f, length);
    default:
      return unreachable(method);
  }
}
