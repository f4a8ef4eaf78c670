// Cheap image features and a small multi-label classifier in plain TypeScript, for checking
// that the demo dataset carries a learnable genre signal (test/data-demo-signal.test.ts).
import sharp from 'sharp';

/**
 * Per frame: mean R, G, B, brightness, contrast (mean channel standard deviation) and
 * saturation proxy (spread of the channel means); averaged over the movie's frames.
 */
export async function movieFeatures(jpegPaths: readonly string[]): Promise<number[]> {
  const perFrame = await Promise.all(jpegPaths.map(frameFeatures));
  const sum = new Array<number>(6).fill(0);
  for (const f of perFrame) f.forEach((v, i) => (sum[i]! += v));
  return sum.map((v) => v / jpegPaths.length);
}

/** Statistics of a 1/8-scale decode (JPEG shrink-on-load: fast, and plenty for global colour). */
async function frameFeatures(path: string): Promise<number[]> {
  const { data, info } = await sharp(path).resize(53, 30, { kernel: 'nearest' }).raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const mean = [0, 0, 0];
  const sq = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * info.channels + c]!;
      mean[c]! += v / n;
      sq[c]! += (v * v) / n;
    }
  }
  const sd = mean.map((m, c) => Math.sqrt(Math.max(0, sq[c]! - m * m)));
  return [mean[0]!, mean[1]!, mean[2]!, (mean[0]! + mean[1]! + mean[2]!) / 3, (sd[0]! + sd[1]! + sd[2]!) / 3, Math.max(...mean) - Math.min(...mean)];
}

/** Z-scores columns with the train rows' mean and deviation. */
export function standardise(train: number[][], all: number[][]): number[][] {
  const d = train[0]!.length;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const x of train) x.forEach((v, j) => (mean[j]! += v / train.length));
  for (const x of train) x.forEach((v, j) => (sd[j]! += (v - mean[j]!) ** 2 / train.length));
  return all.map((x) => x.map((v, j) => (v - mean[j]!) / (Math.sqrt(sd[j]!) || 1)));
}

/** One L2-regularised logistic regression per label, by full-batch gradient descent. */
export function fitLogistic(x: number[][], y: number[], opts = { epochs: 300, lr: 0.5, l2: 0.01 }): (row: number[]) => number {
  const d = x[0]!.length;
  const w = new Array<number>(d + 1).fill(0);
  for (let e = 0; e < opts.epochs; e++) {
    const grad = new Array<number>(d + 1).fill(0);
    x.forEach((row, i) => {
      const z = row.reduce((s, v, j) => s + v * w[j]!, w[d]!);
      const err = 1 / (1 + Math.exp(-z)) - y[i]!;
      row.forEach((v, j) => (grad[j]! += (err * v) / x.length));
      grad[d]! += err / x.length;
    });
    for (let j = 0; j < d; j++) w[j]! -= opts.lr * (grad[j]! + opts.l2 * w[j]!);
    w[d]! -= opts.lr * grad[d]!;
  }
  return (row) => row.reduce((s, v, j) => s + v * w[j]!, w[d]!);
}
