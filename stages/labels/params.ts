// The labels kind's parameters: the `labels.*` section, and the `dataset.*` section it shares
// with frames (data/params.ts).
import { paramSchema, paramSection } from '../../src/param-schema/types.js';
import { showValue } from '../../src/param-schema/value.js';
import { DATASET } from '../data/params.js';
import { DEFAULT_GENRES, genreKey } from '../data/genres.js';

/** The first genre listed twice (names match without regard to case), if any. */
function twice(genres: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const g of genres) {
    if (seen.has(genreKey(g))) return g;
    seen.add(genreKey(g));
  }
  return undefined;
}

export const LABELS = paramSection('labels', {
  genres: {
    type: 'list',
    items: 'string',
    minItems: 1,
    says: 'a non-empty list of genre names',
    check: (v: string[]) => {
      const g = twice(v);
      return g === undefined ? undefined : `lists genre '${g}' twice`;
    },
    typeDoc: 'list of names',
    default: DEFAULT_GENRES,
    defaultDoc: `the reference's ${DEFAULT_GENRES.length} genres: ${DEFAULT_GENRES.join(', ')}`,
    doc: 'The one-hot columns, in order. Names match without regard to case. Genre names outside the list are counted and reported, never guessed at; a movie with none of these genres is left out and listed.',
  },
  split: {
    type: 'list',
    items: 'number',
    itemMin: 0,
    minItems: 3,
    maxItems: 3,
    says: 'three fractions [train, val, test] that sum to 1 with train > 0',
    check: (v: number[]) =>
      Math.abs(v.reduce((a, b) => a + b, 0) - 1) < 1e-6 && v[0]! > 0 ? undefined : `must be three fractions [train, val, test] that sum to 1 with train > 0, got ${showValue(v)}`,
    typeDoc: '[train, val, test] fractions summing to 1, train > 0',
    default: [0.7, 0.1, 0.2],
    doc: 'Used when there is no official split file: a seeded iterative stratification (Sechidis et al. 2011) in which every genre with at least 3 positives appears in every split with a non-zero fraction. A val fraction of 0 leaves val empty.',
  },
  seed: { type: 'int', default: 0, doc: 'Seeds the stratified split.' },
});

export const LABELS_PARAMS = paramSchema({
  sections: [DATASET, LABELS],
  // Where the data lives changes nothing: the meta and labels files reach the fingerprint by
  // content hash (inputs()).
  unfingerprinted: ['dataset.root', 'dataset.keyframes_dir'],
});
