// Published per-genre figures the reports compare against (precision@0.5 / recall@0.5 / AP, in %).
// - resnet: ResNet, as the reference project quotes it from the MovieNet authors.
// - referenceBilstm: the reference project's BiLSTM on its own validation split (AP n/a for
//   Animation, which had no positives there).
// They were measured on other splits and data than any run of this tool, so they are a guide to
// where a model stands, not a like-for-like comparison.

export interface PublishedRow {
  precision: number;
  recall: number;
  /** null where the source reports n/a. */
  ap: number | null;
}

export interface PublishedSource {
  key: 'resnet' | 'referenceBilstm';
  label: string;
  /** Short label for narrow tables and legends. */
  short: string;
  rows: Readonly<Record<string, PublishedRow>>;
}

function r(precision: number, recall: number, ap: number | null): PublishedRow {
  return { precision, recall, ap };
}

export const RESNET: PublishedSource = {
  key: 'resnet',
  label: 'ResNet (published by the MovieNet authors)',
  short: 'ResNet',
  rows: {
    Drama: r(71.16, 79.42, 79.95),
    Comedy: r(68.61, 48.65, 68.81),
    Thriller: r(64.98, 14.5, 49.8),
    Action: r(73.96, 22.21, 54.6),
    Romance: r(71.93, 14.02, 49.27),
    Horror: r(70.03, 8.76, 35.51),
    Crime: r(74.12, 39.3, 49.25),
    Documentary: r(85.49, 4.79, 21.03),
    Adventure: r(75.24, 24.72, 53.06),
    'Sci-Fi': r(81.35, 14.51, 44.14),
    Family: r(82.55, 27.11, 52.19),
    Fantasy: r(69.83, 13.51, 39.12),
    Mystery: r(76.42, 7.76, 39.7),
    Biography: r(100.0, 0.04, 9.13),
    Animation: r(93.16, 74.09, 86.45),
    History: r(82.9, 12.52, 34.41),
    Music: r(89.04, 27.24, 47.13),
    War: r(86.27, 12.8, 34.41),
    Sport: r(94.97, 21.99, 39.59),
    Musical: r(73.58, 4.45, 22.88),
    Western: r(88.89, 51.93, 73.99),
  },
};

export const REFERENCE_BILSTM: PublishedSource = {
  key: 'referenceBilstm',
  label: 'reference BiLSTM (published, its own validation split)',
  short: 'ref. BiLSTM',
  rows: {
    Drama: r(77.67, 79.97, 80.31),
    Comedy: r(57.09, 54.84, 60.3),
    Thriller: r(61.49, 48.79, 58.87),
    Action: r(67.18, 54.72, 66.12),
    Romance: r(46.79, 34.27, 46.42),
    Horror: r(50.0, 22.55, 31.53),
    Crime: r(54.55, 36.68, 48.35),
    Documentary: r(0.0, 0.0, 1.06),
    Adventure: r(59.75, 42.6, 53.74),
    'Sci-Fi': r(61.07, 50.0, 58.08),
    Family: r(50.0, 20.93, 27.78),
    Fantasy: r(52.94, 28.35, 39.62),
    Mystery: r(42.5, 25.76, 30.74),
    Biography: r(46.55, 26.73, 34.45),
    Animation: r(0.0, 0.0, null),
    History: r(50.0, 27.08, 36.49),
    Music: r(100.0, 7.69, 19.7),
    War: r(54.55, 25.71, 40.09),
    Sport: r(50.0, 13.33, 34.92),
    Musical: r(85.71, 42.86, 56.77),
    Western: r(66.67, 8.33, 22.02),
  },
};

export const PUBLISHED: readonly PublishedSource[] = [RESNET, REFERENCE_BILSTM];

/** Mean AP (%) of a published source over the genres where it reports one, and how many. */
export function publishedMeanAp(src: PublishedSource, genres?: readonly string[]): { mean: number | null; count: number } {
  const names = genres ?? Object.keys(src.rows);
  const aps = names.flatMap((g) => {
    const ap = src.rows[g]?.ap;
    return ap === undefined || ap === null ? [] : [ap];
  });
  return { mean: aps.length === 0 ? null : aps.reduce((a, b) => a + b, 0) / aps.length, count: aps.length };
}
