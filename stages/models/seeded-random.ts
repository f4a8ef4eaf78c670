// Seeded randomness for training: batch order, initial weights and dropout masks.
//
// tfjs draws unseeded random numbers (dropout masks, initialisers built without a seed) from
// Math.random. `run(fn)` swaps in this generator for the duration of a synchronous call, so
// those draws are reproducible too, whatever layer a model uses. The swap is only ever active
// inside one synchronous call (no await inside), so no other code can observe it. The
// generator's state can be saved and restored, which is what lets an interrupted training
// resume exactly where it stopped.
import seedrandom from 'seedrandom';

export type RandomState = seedrandom.State.Alea;

export class SeededRandom {
  readonly #prng: seedrandom.StatefulPRNG<RandomState>;

  constructor(seed: string | number, state?: RandomState) {
    this.#prng = seedrandom.alea(String(seed), { state: state ?? true });
  }

  /** A float in [0, 1). */
  next(): number {
    return this.#prng();
  }

  /** Calls a synchronous fn with Math.random drawing from this generator. */
  run<T>(fn: () => T): T {
    const saved = Math.random;
    Math.random = (): number => this.#prng();
    try {
      const out = fn();
      if (out instanceof Promise) throw new Error('SeededRandom.run: fn must be synchronous');
      return out;
    } finally {
      Math.random = saved;
    }
  }

  /** Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }

  state(): RandomState {
    return this.#prng.state();
  }
}
