// The builtin encoder: a deterministic 512-d frame descriptor computed with sharp and plain
// TypeScript, for the demo and for runs without model weights. It is a classic hand-made image
// descriptor, a baseline, NOT CLIP: it sees colour, light, texture and coarse shape, nothing
// semantic. Each block below is a well-known feature (colour histograms in RGB, HSV and an
// opponent space; a coarse spatial colour and luma layout; gradient orientation and edge
// statistics; local binary patterns; a low-frequency DCT of the luma; global brightness,
// contrast and colourfulness), computed on the frame shrunk to 128 x 72.
//
// Scale: histogram blocks hold square roots of bin fractions (the Hellinger map: a block's L2
// norm is at most 1); other blocks hold values in about [0,1] (or [-1,1]) times 1/sqrt(length),
// so that every block weighs about the same in an L2 distance and the whole vector has a norm
// of a few units. Written by hand: no maintained npm package computes such descriptors.
import sharp from 'sharp';
import type { FrameEncoder } from './encoder.js';
import { DECODE_OPTIONS } from './preprocess.js';

export const DESCRIPTOR_WIDTH = 128;
export const DESCRIPTOR_HEIGHT = 72;

/** The blocks of the descriptor, in order, with their lengths (they sum to 512). */
export const DESCRIPTOR_BLOCKS = [
  ['rgb_hist_4x4x4', 64],
  ['hue_hist_24', 24],
  ['saturation_hist_8', 8],
  ['luma_hist_16', 16],
  ['opponent_hist_12x2', 24],
  ['layout_rgb_4x4', 48],
  ['layout_hsv_4x4', 48],
  ['layout_luma_8x8', 64],
  ['layout_luma_std_4x4', 16],
  ['gradient_orientation_12', 12],
  ['gradient_orientation_2x2x8', 32],
  ['gradient_magnitude_hist_12', 12],
  ['edge_density_4x4', 16],
  ['lbp_riu2_r1_r2', 20],
  ['laplacian_4x4', 16],
  ['luma_dct_8x8', 64],
  ['global_stats', 28],
] as const;

export type DescriptorBlock = (typeof DESCRIPTOR_BLOCKS)[number][0];

export const DESCRIPTOR_DIM = DESCRIPTOR_BLOCKS.reduce((a, [, n]) => a + n, 0);
if (DESCRIPTOR_DIM !== 512) throw new Error(`builtin descriptor blocks sum to ${DESCRIPTOR_DIM}, not 512`);

/** [start, end) of a block in the descriptor (docs and tests read features by name). */
export function blockRange(name: DescriptorBlock): [number, number] {
  let start = 0;
  for (const [n, len] of DESCRIPTOR_BLOCKS) {
    if (n === name) return [start, start + len];
    start += len;
  }
  throw new Error(`no descriptor block ${name}`);
}

const W = DESCRIPTOR_WIDTH;
const H = DESCRIPTOR_HEIGHT;
const N = W * H;
/** Sobel magnitude of a black/white step edge on [0,1] luma: 4. Larger values are clipped. */
const MAG_MAX = 4;
const EDGE_THRESHOLD = 0.25;

/** Decodes a frame to interleaved RGB at 128 x 72. */
export async function descriptorPixels(input: string | Buffer): Promise<Buffer> {
  const { data, info } = await sharp(input, DECODE_OPTIONS)
    .resize(W, H, { fit: 'fill', kernel: 'cubic' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== N * 3) throw new Error(`unexpected decoded layout: ${info.width}x${info.height}x${info.channels}`);
  return data;
}

/** Index of a cell in a gx x gy grid over the W x H image. */
function cellOf(x: number, y: number, gx: number, gy: number): number {
  return Math.floor((y * gy) / H) * gx + Math.floor((x * gx) / W);
}

/** Cell index per pixel for a grid, precomputed once. */
function cellMap(gx: number, gy: number): Uint8Array {
  const m = new Uint8Array(N);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[y * W + x] = cellOf(x, y, gx, gy);
  return m;
}

const CELL4 = cellMap(4, 4);
const CELL8 = cellMap(8, 8);
const CELL2 = cellMap(2, 2);
const CELL16 = cellMap(16, 16);
const count = (map: Uint8Array, cells: number): Float64Array => {
  const c = new Float64Array(cells);
  for (let i = 0; i < N; i++) c[map[i]!]!++;
  return c;
};
const CELL4_N = count(CELL4, 16);
const CELL8_N = count(CELL8, 64);
const CELL16_N = count(CELL16, 256);

/** Orthonormal DCT-II basis for 16 points: DCT[u][x]. */
const DCT16 = Array.from({ length: 8 }, (_, u) =>
  Float64Array.from({ length: 16 }, (_, x) => (u === 0 ? Math.sqrt(1 / 16) : Math.sqrt(2 / 16)) * Math.cos(((2 * x + 1) * u * Math.PI) / 32)),
);

/** Rotation-invariant uniform LBP label (0..8 uniform by number of ones, 9 otherwise). */
const RIU2 = Uint8Array.from({ length: 256 }, (_, p) => {
  let transitions = 0;
  for (let k = 0; k < 8; k++) transitions += ((p >> k) & 1) !== ((p >> ((k + 1) % 8)) & 1) ? 1 : 0;
  if (transitions > 2) return 9;
  let ones = 0;
  for (let k = 0; k < 8; k++) ones += (p >> k) & 1;
  return ones;
});
/** Neighbour offsets (in pixels of the flat array) at radius 1 and 2, counter-clockwise from east. */
const LBP_DIRS: ReadonlyArray<readonly [number, number]> = [[1, 0], [1, -1], [0, -1], [-1, -1], [-1, 0], [-1, 1], [0, 1], [1, 1]];
const LBP1 = Int32Array.from(LBP_DIRS, ([dx, dy]) => dy * W + dx);
const LBP2 = LBP1.map((_, n) => 2 * LBP1[n]!);
/**
 * Orientation bins without atan2: for angles theta, phi in [0, pi), theta >= phi exactly when
 * gy*cos(phi) - gx*sin(phi) >= 0 (gy >= 0 after folding), so a bin is a count of boundaries
 * passed. Both histograms (12 bins, and 8 per quadrant) share the boundary tables.
 */
const boundaries = (bins: number): { cos: Float64Array; sin: Float64Array } => ({
  cos: Float64Array.from({ length: bins - 1 }, (_, k) => Math.cos((Math.PI * (k + 1)) / bins)),
  sin: Float64Array.from({ length: bins - 1 }, (_, k) => Math.sin((Math.PI * (k + 1)) / bins)),
});
const ORIENT12 = boundaries(12);
const ORIENT8 = boundaries(8);
function orientationBin(gx: number, gy: number, b: { cos: Float64Array; sin: Float64Array }): number {
  if (gy < 0 || (gy === 0 && gx < 0)) {
    gx = -gx;
    gy = -gy;
  }
  let bin = 0;
  while (bin < b.cos.length && gy * b.cos[bin]! - gx * b.sin[bin]! >= 0) bin++;
  return bin;
}
/** cos and sin of 2*pi*h for hue h quantised to 1/1024 (the hue histogram has 24 bins). */
const HUE_STEPS = 1024;
const HUE_COS = Float64Array.from({ length: HUE_STEPS }, (_, k) => Math.cos((2 * Math.PI * k) / HUE_STEPS));
const HUE_SIN = Float64Array.from({ length: HUE_STEPS }, (_, k) => Math.sin((2 * Math.PI * k) / HUE_STEPS));

/** Upper edges of the 12 log-scaled gradient-magnitude bins (most frames are mostly flat). */
const MAG_EDGES = Float64Array.from({ length: 11 }, (_, k) => ((2 ** (k + 0.5) - 1) / 4095) * MAG_MAX);

/** Writes the 512-d descriptor of interleaved RGB pixels (128 x 72) into `out`. */
export function describe(rgb: Uint8Array, out: Float32Array): void {
  if (rgb.length !== N * 3) throw new Error(`describe: expected ${N * 3} bytes, got ${rgb.length}`);
  if (out.length !== DESCRIPTOR_DIM) throw new Error(`describe: output holds ${out.length}, needs ${DESCRIPTOR_DIM}`);
  const R = new Float32Array(N);
  const G = new Float32Array(N);
  const B = new Float32Array(N);
  const Y = new Float32Array(N);
  const S = new Float32Array(N);
  const V = new Float32Array(N);
  const Hh = new Float32Array(N); // hue in [0,1)

  const rgbHist = new Float64Array(64);
  const hueHist = new Float64Array(24);
  const satHist = new Float64Array(8);
  const lumaHist = new Float64Array(16);
  const luma256 = new Float64Array(256);
  const rgHist = new Float64Array(12);
  const ybHist = new Float64Array(12);
  const layoutRgb = new Float64Array(48);
  const layoutHsv = new Float64Array(48); // per cell: mean saturation, chroma-weighted hue cos, sin
  const layoutLuma = new Float64Array(64);
  const cellY = new Float64Array(16);
  const cellY2 = new Float64Array(16);
  const grid16 = new Float64Array(256);
  let sumR = 0, sumG = 0, sumB = 0, sumR2 = 0, sumG2 = 0, sumB2 = 0;
  let sumY = 0, sumY2 = 0, sumS = 0, sumS2 = 0;
  let sumRg = 0, sumRg2 = 0, sumYb = 0, sumYb2 = 0, sumWarm = 0;
  let dark = 0, bright = 0, hueC = 0, hueS = 0;

  for (let i = 0, j = 0; i < N; i++, j += 3) {
    const r8 = rgb[j]!, g8 = rgb[j + 1]!, b8 = rgb[j + 2]!;
    const r = r8 / 255, g = g8 / 255, b = b8 / 255;
    R[i] = r; G[i] = g; B[i] = b;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    Y[i] = y;
    const mx = Math.max(r, g, b), mn = Math.min(r, g, b), c = mx - mn;
    const s = mx > 0 ? c / mx : 0;
    let h = 0;
    if (c > 0) {
      if (mx === r) {
        h = (g - b) / c;
        if (h < 0) h += 6;
      }
      else if (mx === g) h = (b - r) / c + 2;
      else h = (r - g) / c + 4;
      h /= 6;
    }
    S[i] = s; V[i] = mx; Hh[i] = h;

    rgbHist[(r8 >> 6) * 16 + (g8 >> 6) * 4 + (b8 >> 6)]!++;
    const chroma = s * mx;
    hueHist[Math.min(23, Math.floor(h * 24))]! += chroma;
    satHist[Math.min(7, Math.floor(s * 8))]!++;
    lumaHist[Math.min(15, Math.floor(y * 16))]!++;
    luma256[Math.min(255, Math.round(y * 255))]!++;
    const rg = r - g, yb = (r + g) / 2 - b;
    rgHist[Math.min(11, Math.floor(((rg + 1) / 2) * 12))]!++;
    ybHist[Math.min(11, Math.floor(((yb + 1) / 2) * 12))]!++;

    const c4 = CELL4[i]!;
    layoutRgb[c4 * 3]! += r; layoutRgb[c4 * 3 + 1]! += g; layoutRgb[c4 * 3 + 2]! += b;
    const hq = Math.min(HUE_STEPS - 1, Math.floor(h * HUE_STEPS));
    const hc = chroma * HUE_COS[hq]!, hs = chroma * HUE_SIN[hq]!;
    layoutHsv[c4 * 3]! += s; layoutHsv[c4 * 3 + 1]! += hc; layoutHsv[c4 * 3 + 2]! += hs;
    cellY[c4]! += y; cellY2[c4]! += y * y;
    layoutLuma[CELL8[i]!]! += y;
    grid16[CELL16[i]!]! += y;

    sumR += r; sumG += g; sumB += b; sumR2 += r * r; sumG2 += g * g; sumB2 += b * b;
    sumY += y; sumY2 += y * y; sumS += s; sumS2 += s * s;
    sumRg += rg; sumRg2 += rg * rg; sumYb += yb; sumYb2 += yb * yb; sumWarm += r - b;
    if (y < 0.1) dark++;
    if (y > 0.9) bright++;
    hueC += hc; hueS += hs;
  }

  // Gradients (Sobel), edges and Laplacian on the interior, LBP at radius 1 and 2.
  const orient = new Float64Array(12);
  const orientQ = new Float64Array(32);
  const magHist = new Float64Array(12);
  const edgeCell = new Float64Array(16);
  const lapCell = new Float64Array(16);
  const interiorCell = new Float64Array(16);
  const lbp = new Float64Array(20);
  let sumMag = 0, edges = 0, sumLap = 0, interior = 0, lbp2n = 0;
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const i = y * W + x;
      const a = Y[i - W - 1]!, bq = Y[i - W]!, c = Y[i - W + 1]!;
      const d = Y[i - 1]!, e = Y[i]!, f = Y[i + 1]!;
      const g = Y[i + W - 1]!, h = Y[i + W]!, k = Y[i + W + 1]!;
      const gx = c + 2 * f + k - (a + 2 * d + g);
      const gy = g + 2 * h + k - (a + 2 * bq + c);
      const mag = Math.min(MAG_MAX, Math.sqrt(gx * gx + gy * gy));
      if (mag > 0) {
        // Unsigned orientation in [0, pi): an edge and its reverse are the same shape.
        orient[orientationBin(gx, gy, ORIENT12)]! += mag;
        orientQ[CELL2[i]! * 8 + orientationBin(gx, gy, ORIENT8)]! += mag;
      }
      let mb = 0;
      while (mb < 11 && mag >= MAG_EDGES[mb]!) mb++;
      magHist[mb]!++;
      const c4 = CELL4[i]!;
      interiorCell[c4]!++;
      if (mag > EDGE_THRESHOLD) {
        edges++;
        edgeCell[c4]!++;
      }
      const lap = Math.abs(4 * e - bq - d - f - h);
      lapCell[c4]! += lap;
      sumMag += mag;
      sumLap += lap;
      interior++;
      // Unrolled and branch-free: the comparisons are as good as random, so branches mispredict.
      const p1 =
        +(f >= e) | (+(c >= e) << 1) | (+(bq >= e) << 2) | (+(a >= e) << 3) | (+(d >= e) << 4) | (+(g >= e) << 5) | (+(h >= e) << 6) | (+(k >= e) << 7);
      lbp[RIU2[p1]!]!++;
      if (x >= 2 && y >= 2 && x < W - 2 && y < H - 2) {
        let p2 = 0;
        for (let n = 0; n < 8; n++) p2 |= +(Y[i + LBP2[n]!]! >= e) << n;
        lbp[10 + RIU2[p2]!]!++;
        lbp2n++;
      }
    }
  }

  let o = 0;
  const put = (v: number): void => {
    out[o++] = v;
  };
  const hellinger = (hist: Float64Array, total: number): void => {
    for (const v of hist) put(Math.sqrt(v / total));
  };
  const scaled = (values: ArrayLike<number>): void => {
    const w = 1 / Math.sqrt(values.length);
    for (let i = 0; i < values.length; i++) put(values[i]! * w);
  };

  hellinger(rgbHist, N);
  hellinger(hueHist, N);
  hellinger(satHist, N);
  hellinger(lumaHist, N);
  hellinger(rgHist, 2 * N);
  hellinger(ybHist, 2 * N);
  scaled(layoutRgb.map((v, i) => v / CELL4_N[Math.floor(i / 3)]!));
  scaled(layoutHsv.map((v, i) => v / CELL4_N[Math.floor(i / 3)]!));
  scaled(layoutLuma.map((v, i) => v / CELL8_N[i]!));
  scaled(
    cellY.map((v, c) => {
      const m = v / CELL4_N[c]!;
      return 2 * Math.sqrt(Math.max(0, cellY2[c]! / CELL4_N[c]! - m * m));
    }),
  );
  const magTotal = Math.max(sumMag, 1e-9);
  hellinger(orient, magTotal);
  hellinger(orientQ, magTotal);
  hellinger(magHist, interior);
  scaled(edgeCell.map((v, c) => v / interiorCell[c]!));
  hellinger(lbp.subarray(0, 10), 2 * interior);
  hellinger(lbp.subarray(10), 2 * lbp2n);
  scaled(lapCell.map((v, c) => Math.min(1, (4 * v) / interiorCell[c]!)));

  // Low-frequency DCT of the 16 x 16 luma grid: coarse shapes and their placement.
  const grid = grid16.map((v, i) => v / CELL16_N[i]!);
  const dct = new Float64Array(64);
  // Separable: first along y (tmp[v][x]), then along x.
  const tmp = new Float64Array(8 * 16);
  for (let v = 0; v < 8; v++) {
    const bv = DCT16[v]!;
    for (let xx = 0; xx < 16; xx++) {
      let acc = 0;
      for (let yy = 0; yy < 16; yy++) acc += bv[yy]! * grid[yy * 16 + xx]!;
      tmp[v * 16 + xx] = acc;
    }
  }
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      const bu = DCT16[u]!;
      let acc = 0;
      for (let xx = 0; xx < 16; xx++) acc += bu[xx]! * tmp[v * 16 + xx]!;
      // DC / 16 is the mean luma; the AC terms of a frame are a few units at most.
      dct[v * 8 + u] = u === 0 && v === 0 ? acc / 16 : acc / 8;
    }
  }
  for (const v of dct) put(v);

  // Global statistics: brightness, contrast, colour.
  const mean = (s: number): number => s / N;
  const std = (s: number, s2: number): number => Math.sqrt(Math.max(0, s2 / N - (s / N) ** 2));
  const my = mean(sumY), sy = std(sumY, sumY2);
  let m3 = 0, m4 = 0;
  for (let i = 0; i < N; i++) {
    const dv = Y[i]! - my;
    m3 += dv * dv * dv;
    m4 += dv * dv * dv * dv;
  }
  const skew = sy > 1e-6 ? m3 / N / sy ** 3 : 0;
  const kurt = sy > 1e-6 ? m4 / N / sy ** 4 - 3 : 0;
  const pct = (q: number): number => {
    let acc = 0;
    for (let v = 0; v < 256; v++) {
      acc += luma256[v]!;
      if (acc >= q * N) return v / 255;
    }
    return 1;
  };
  const p5 = pct(0.05), p95 = pct(0.95);
  let entropy = 0;
  for (const cnt of luma256) if (cnt > 0) entropy -= (cnt / N) * Math.log2(cnt / N);
  const mrg = mean(sumRg), myb = mean(sumYb);
  const colorfulness = Math.sqrt(std(sumRg, sumRg2) ** 2 + std(sumYb, sumYb2) ** 2) + 0.3 * Math.sqrt(mrg * mrg + myb * myb);
  const totalChroma = hueHist.reduce((a, v) => a + v, 0);
  scaled([
    my,
    2 * sy,
    Math.tanh(skew / 2),
    Math.tanh(kurt / 4),
    p5,
    pct(0.25),
    pct(0.5),
    pct(0.75),
    p95,
    p95 - p5,
    (p95 - p5) / (p95 + p5 + 1e-3),
    mean(sumR),
    mean(sumG),
    mean(sumB),
    2 * std(sumR, sumR2),
    2 * std(sumG, sumG2),
    2 * std(sumB, sumB2),
    mean(sumS),
    2 * std(sumS, sumS2),
    Math.min(1, colorfulness),
    dark / N,
    bright / N,
    entropy / 8,
    Math.min(1, (sumMag / interior) * 2),
    edges / interior,
    Math.min(1, (sumLap / interior) * 4),
    totalChroma > 1e-9 ? Math.sqrt(hueC * hueC + hueS * hueS) / totalChroma : 0,
    mean(sumWarm),
  ]);
  if (o !== DESCRIPTOR_DIM) throw new Error(`describe: wrote ${o} values, expected ${DESCRIPTOR_DIM}`);
}

/** The builtin encoder: `prepare` computes the descriptor itself; `infer` only hands it on. */
export class BuiltinEncoder implements FrameEncoder {
  readonly dim = DESCRIPTOR_DIM;
  readonly inputSize = DESCRIPTOR_DIM;
  readonly maxBatch: number;
  constructor(batchSize: number) {
    this.maxBatch = Math.max(1, batchSize);
  }
  async prepare(file: string | Buffer, out: Float32Array): Promise<void> {
    describe(await descriptorPixels(file), out);
  }
  async infer(batch: Float32Array, n: number): Promise<{ embeddings: Float32Array; batch: Float32Array }> {
    return { embeddings: batch.subarray(0, n * DESCRIPTOR_DIM), batch };
  }
  async close(): Promise<void> {}
}
