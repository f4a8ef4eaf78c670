// The genre vocabulary: the reference project's 21 genres in its column order, MovieNet's
// positive counts (used to give the demo dataset realistic frequencies), and name matching.
import { UserError } from '../../src/errors.js';

/** The reference project's genres, in its one-hot column order (the `labels.genres` default). */
export const DEFAULT_GENRES: readonly string[] = [
  'Drama',
  'Comedy',
  'Thriller',
  'Action',
  'Romance',
  'Horror',
  'Crime',
  'Documentary',
  'Adventure',
  'Sci-Fi',
  'Family',
  'Fantasy',
  'Mystery',
  'Biography',
  'Animation',
  'History',
  'Music',
  'War',
  'Sport',
  'Musical',
  'Western',
];

/** Positives per genre among MovieNet's 1,098 labelled movies with keyframes. */
export const MOVIENET_POSITIVES: Readonly<Record<string, number>> = {
  Drama: 667,
  Thriller: 357,
  Action: 301,
  Comedy: 279,
  Adventure: 224,
  Crime: 216,
  Romance: 214,
  'Sci-Fi': 184,
  Mystery: 144,
  Fantasy: 117,
  Horror: 104,
  Biography: 103,
  War: 65,
  History: 48,
  Family: 44,
  Music: 24,
  Sport: 24,
  Western: 20,
  Musical: 12,
  Documentary: 8,
  Animation: 0,
};

export const MOVIENET_LABELLED = 1098;

/** Validates `labels.genres`: a non-empty list of distinct genre names. */
export function parseVocabulary(value: unknown, key = 'labels.genres'): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((g) => typeof g === 'string' && g.trim() !== '')) {
    throw new UserError(`${key} must be a non-empty list of genre names`, `e.g. ${key}: [${DEFAULT_GENRES.slice(0, 3).join(', ')}]`);
  }
  const seen = new Set<string>();
  for (const g of value as string[]) {
    const k = genreKey(g);
    if (seen.has(k)) throw new UserError(`${key} lists genre '${g}' twice`, 'list each genre once');
    seen.add(k);
  }
  return (value as string[]).map((g) => g.trim());
}

/**
 * Names are matched without regard to case or surrounding spaces ("sci-fi" is "Sci-Fi"), since
 * hand-written label files vary in case; the vocabulary's spelling is the one written out.
 */
export function genreKey(name: string): string {
  return name.trim().toLowerCase();
}

/** Genre name -> column, for matching names read from meta or label files. */
export function genreColumns(vocab: readonly string[]): Map<string, number> {
  return new Map(vocab.map((g, i) => [genreKey(g), i]));
}
