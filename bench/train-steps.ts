// Shared by the rnn-train and train-models benchmarks (not a benchmark itself): a random
// training batch and the timing of repeated training steps.
import seedrandom from 'seedrandom';

/** Features in [-1, 1) for `batch` movies of [length, width], and 0/1 labels (about 20% ones), from `seed`. */
export function randomBatch(seed: string, batch: number, length: number, width: number, labels: number): { x: Float32Array; y: Float32Array } {
  const rng = seedrandom(seed);
  const x = Float32Array.from({ length: batch * length * width }, () => rng() * 2 - 1);
  const y = Float32Array.from({ length: batch * labels }, () => (rng() < 0.2 ? 1 : 0));
  return { x, y };
}

/**
 * Times `step` after one untimed warm-up call (whose time is `firstMs`: for ONNX Runtime it
 * includes building the sessions): at least `minSteps` calls and `minMs` milliseconds.
 */
export async function timeSteps(step: () => Promise<unknown>, minSteps: number, minMs: number): Promise<{ ms: number; n: number; firstMs: number }> {
  const tFirst = performance.now();
  await step();
  const firstMs = performance.now() - tFirst;
  const t0 = performance.now();
  let n = 0;
  while (n < minSteps || performance.now() - t0 < minMs) {
    await step();
    n++;
  }
  return { ms: (performance.now() - t0) / n, n, firstMs };
}
