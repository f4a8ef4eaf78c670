// The demo dataset's movies and their genres, without rendering (the labels stage reads genres
// from here; the frames stage renders them with demo-render.ts).
//
// A movie's genres depend only on (seed, its index), never on how many movies there are, so
// that `-p dataset.movies=250` adds 50 movies and changes none of the first 200.
// - The common genres come from a Gaussian factor model: four latent tastes (dark, spectacle,
//   serious, light) shared across genres give plausible co-occurrence (Crime with Thriller,
//   Action with Adventure, Romance with Drama and against Horror); each genre is positive when
//   its latent score passes the quantile matching its MovieNet frequency.
// - The rare genres (MovieNet frequency under 4.5%) would often get fewer than the 3 positives
//   that stratification needs to put one in every split, so they are placed by a low-discrepancy
//   (Kronecker) sequence over the movie index: any N consecutive movies hold N*p of them, give
//   or take one, at a floor frequency of 2.5% (Animation, absent from MovieNet, gets the floor).
//   Each then pulls in its usual companions (Animation: Family, Adventure, Comedy...).
import seedrandom from 'seedrandom';
import { UserError } from '../../src/errors.js';
import { DEFAULT_GENRES, MOVIENET_LABELLED, MOVIENET_POSITIVES } from './genres.js';
import { DEMO_MAX_MOVIES } from './params.js';

/** Bump when the genres or frames the generator makes change. */
export const DEMO_GENERATOR_VERSION = 1;

const ID_BASE = 9_000_000;
// DEMO_MAX_MOVIES (999,999: ids up to tt9999999) is declared with the dataset.* params, which
// check dataset.movies when a project loads, without loading the generator.
export { DEMO_MAX_MOVIES };

export function demoId(index: number): string {
  return `tt${ID_BASE + index}`;
}

/** The index (1-based) of a demo movie id, or undefined for an id the generator does not make. */
export function demoIndex(id: string): number | undefined {
  const m = /^tt(\d{7})$/.exec(id);
  if (m === null) return undefined;
  const i = Number(m[1]) - ID_BASE;
  return i >= 1 && i <= DEMO_MAX_MOVIES ? i : undefined;
}

export function parseDemoParams(p: { movies?: unknown; seed?: unknown }): { movies: number; seed: number } {
  const { movies = 200, seed = 0 } = p;
  if (typeof movies !== 'number' || !Number.isInteger(movies) || movies < 1 || movies > DEMO_MAX_MOVIES) {
    throw new UserError(`dataset.movies must be an integer from 1 to ${DEMO_MAX_MOVIES}, got ${JSON.stringify(movies)}`);
  }
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new UserError(`dataset.seed must be an integer, got ${JSON.stringify(seed)}`);
  }
  return { movies, seed };
}

// Loadings on the latent tastes [dark, spectacle, serious, light]; sum of squares < 1.
const LOADINGS: Readonly<Record<string, readonly [number, number, number, number]>> = {
  Drama: [0.1, -0.35, 0.6, 0.1],
  Comedy: [-0.45, 0, -0.3, 0.55],
  Thriller: [0.7, 0.15, 0, -0.2],
  Action: [0.2, 0.75, -0.1, 0],
  Romance: [-0.3, -0.2, 0.3, 0.55],
  Horror: [0.65, 0, -0.2, -0.2],
  Crime: [0.6, 0.1, 0.3, -0.1],
  Adventure: [-0.1, 0.75, -0.1, 0.25],
  'Sci-Fi': [0.2, 0.65, -0.1, -0.1],
  Fantasy: [0, 0.55, -0.1, 0.35],
  Mystery: [0.7, 0, 0.1, -0.1],
  Biography: [-0.1, -0.3, 0.7, 0],
  War: [0.2, 0.35, 0.55, -0.2],
};

const RARE_FLOOR = 0.025;

// Rare genres: Kronecker step (fractional part of the square root of a prime: a badly
// approximable number, so the sequence stays evenly spread) and companions added with a
// probability.
const RARE: Readonly<Record<string, { step: number; with: Readonly<Record<string, number>> }>> = {
  Family: { step: Math.sqrt(2) % 1, with: { Comedy: 0.5, Adventure: 0.4, Fantasy: 0.2 } },
  History: { step: Math.sqrt(3) % 1, with: { Drama: 0.8, Biography: 0.4, War: 0.4 } },
  Music: { step: Math.sqrt(5) % 1, with: { Drama: 0.6, Biography: 0.4, Romance: 0.2 } },
  Sport: { step: Math.sqrt(7) % 1, with: { Drama: 0.6, Biography: 0.3, Comedy: 0.3 } },
  Western: { step: Math.sqrt(11) % 1, with: { Action: 0.5, Drama: 0.5, Adventure: 0.3 } },
  Musical: { step: Math.sqrt(13) % 1, with: { Romance: 0.5, Comedy: 0.4, Music: 0.3 } },
  Documentary: { step: Math.sqrt(17) % 1, with: { Biography: 0.3, History: 0.25, Music: 0.2 } },
  Animation: { step: Math.sqrt(19) % 1, with: { Family: 0.7, Adventure: 0.6, Comedy: 0.6, Fantasy: 0.3 } },
};

/** Common genres a documentary keeps; the other (fiction) ones are dropped. */
const DOCUMENTARY_KEEPS = new Set(['Biography', 'War']);

function frequency(genre: string): number {
  return (MOVIENET_POSITIVES[genre] ?? 0) / MOVIENET_LABELLED;
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9),
 * written by hand: a dozen lines, not worth a dependency.
 */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

const THRESHOLDS = new Map(Object.keys(LOADINGS).map((g) => [g, normalQuantile(1 - frequency(g))]));

/** A standard normal draw (Box-Muller) from a uniform source. */
export function gaussian(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** The genres of demo movie `index` (1-based) under `seed`, in DEFAULT_GENRES order. */
export function demoGenres(seed: number, index: number): string[] {
  const rng = seedrandom(`demo:${seed}:${index}:genres`);
  const tastes = [gaussian(rng), gaussian(rng), gaussian(rng), gaussian(rng)];
  const on = new Set<string>();
  for (const [g, w] of Object.entries(LOADINGS)) {
    const shared = w.reduce((s, l, k) => s + l * tastes[k]!, 0);
    const own = Math.sqrt(1 - w.reduce((s, l) => s + l * l, 0)) * gaussian(rng);
    if (shared + own > THRESHOLDS.get(g)!) on.add(g);
  }
  for (const [g, { step, with: companions }] of Object.entries(RARE)) {
    // The sequence's offset depends on the seed only, so membership depends on (seed, index).
    const offset = seedrandom(`demo:${seed}:rare:${g}`)();
    const p = Math.max(frequency(g), RARE_FLOOR);
    if ((offset + index * step) % 1 < p) {
      on.add(g);
      for (const [c, pc] of Object.entries(companions)) if (rng() < pc) on.add(c);
    }
  }
  if (on.has('Documentary')) for (const g of Object.keys(LOADINGS)) if (!DOCUMENTARY_KEEPS.has(g)) on.delete(g);
  if (on.size === 0) on.add('Drama');
  return DEFAULT_GENRES.filter((g) => on.has(g));
}
