// metrics.md: the per-genre table beside the published figures, the means, the baseline and
// the notes a reader needs to trust the numbers (fallback split, genres without positives).
import type { MetricsJson, Scores } from './metrics-json.js';
import { frac, pct, rankByAp, withoutPositivesNote } from './metrics-json.js';
import { PUBLISHED, publishedMeanAp } from './published.js';
import { genreTable, renderMarkdown } from './table.js';

export interface PlotLink {
  title: string;
  /** Relative to metrics.md, e.g. "plots/ap-bars.svg". */
  svg: string;
  png: string;
}

export function scoresLine(s: Scores): string {
  const withAp = s.per_genre.filter((g) => g.ap !== null).length;
  return `mAP ${pct(s.mAP)} over ${withAp} genres · micro AP ${pct(s.micro_ap)} · F1 micro ${pct(s.micro_f1)} / macro ${pct(s.macro_f1)} / weighted ${pct(s.weighted_f1)}`;
}

/** "best: Horror 0.91, Western 0.84, Drama 0.80; worst: ..." */
export function bestWorst(s: Scores, k = 3): string {
  const ranked = rankByAp(s.per_genre);
  if (ranked.length === 0) return 'no genre has positives';
  const show = (gs: typeof ranked): string => gs.map((g) => `${g.genre} ${frac(g.ap, 2)}`).join(', ');
  const best = ranked.slice(0, Math.min(k, ranked.length));
  const worst = ranked.slice(Math.max(best.length, ranked.length - k)).reverse();
  return worst.length === 0 ? `best: ${show(best)}` : `best: ${show(best)}; worst: ${show(worst)}`;
}

function trainingLine(m: MetricsJson): string | null {
  const t = m.training;
  if (t === null) return null;
  const sel = t.selected;
  const selected = sel === null || sel === undefined ? 'no selected epoch recorded' : `epoch ${sel.epoch} selected by ${sel.metric} ${frac(sel.value)}`;
  const stopped =
    t.stopped === undefined || t.stopped === null || t.stopped === false
      ? ''
      : `; stopped: ${typeof t.stopped === 'string' ? t.stopped.replace(/_/g, ' ') : JSON.stringify(t.stopped)}`;
  return `Training: ${t.epochs} epochs, ${selected}${stopped}.`;
}

export function metricsMarkdown(m: MetricsJson, plots: readonly PlotLink[]): string {
  const out: string[] = [];
  out.push(`# Genre metrics: ${m.model} on ${m.split}`, '');
  out.push(
    `${m.movies} movies of the ${m.split} split, ${m.genres.length} genres. A genre is predicted when its score is >= ${m.threshold}. ` +
      `Figures in %: precision / recall at that threshold / average precision (AP, step-wise as scikit-learn computes it).`,
    '',
  );
  if (m.split !== m.requested_split) {
    out.push(`> The split has no ${m.requested_split} movies, so this evaluates **${m.split}** (metrics.split = ${m.requested_split}).`, '');
  }
  out.push(renderMarkdown(genreTable(m)), '');
  out.push(`- **${m.model}**: ${scoresLine(m)}`);
  out.push(`- ${bestWorst(m)}`);
  if (m.baseline !== null) out.push(`- **baseline (${m.baseline.model})**, same movies: ${scoresLine(m.baseline)}`);
  const np = withoutPositivesNote(m);
  if (np !== null) out.push(`- ${np}`);
  if (m.missing_movies.length > 0) {
    out.push(`- ${m.missing_movies.length} movies of the split have no features (skipped upstream) and are not scored: ${m.missing_movies.join(', ')}.`);
  }
  const tl = trainingLine(m);
  if (tl !== null) out.push(`- ${tl}`);
  for (const note of m.notes) out.push(`- ${note}`);
  out.push('');
  const means = PUBLISHED.map((s) => {
    const { mean, count } = publishedMeanAp(s);
    return `${s.label}: mAP ${mean === null ? 'n/a' : mean.toFixed(2)} over ${count} genres`;
  });
  out.push(
    `Published figures (P / R / AP, %): ${PUBLISHED.map((s) => s.label).join('; ')}. ` +
      `They were measured on other data and splits than this run, so read them as a guide to where a model stands, not as a like-for-like comparison. ` +
      `${means.join('; ')}.`,
    '',
  );
  if (plots.length > 0) {
    out.push('## Plots', '');
    for (const p of plots) out.push(`### ${p.title}`, '', `![${p.title}](${p.svg})`, '', `PNG: [${p.png}](${p.png})`, '');
  }
  return out.join('\n');
}
