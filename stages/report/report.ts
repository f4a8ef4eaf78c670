// Everything the metrics stage writes, built from predictions and targets: metrics.json,
// predictions.npy, targets.npy, ids.json, metrics.md, the plots (SVG and PNG), and the
// headline and summary lines printed at the end of `pipeline run`. No model and no store here,
// so the writers are tested on hand-made matrices.
import { encodeNpy } from '../../src/npy.js';
import type { Headline, JsonObject } from '../../src/stage-api.js';
import { metricsMarkdown } from './markdown.js';
import type { PlotLink } from './markdown.js';
import { bestWorst } from './markdown.js';
import type { History, MetricsJson, Scores } from './metrics-json.js';
import { METRICS_FORMAT, frac, toScores } from './metrics-json.js';
import { multiLabelMetrics, prCurve } from './metrics-math.js';
import type { PrCurve } from './metrics-math.js';
import { apBarsSvg, prCurvesSvg, trainingSvg } from './plots.js';
import { svgToPng } from './render.js';

export interface ScoredModel {
  /** Name shown in reports (the model's registered name). */
  model: string;
  /** float32 [M,G] probabilities, rows in `ids` order, columns in `genres` order. */
  predictions: Float32Array;
  history: History | null;
}

export interface ReportInputs extends ScoredModel {
  genres: string[];
  ids: string[];
  /** int8 [M,G] one-hot targets. */
  targets: Int8Array;
  split: string;
  requestedSplit: string;
  threshold: number;
  /** Movies of the split without features. */
  missing: string[];
  baseline: ScoredModel | null;
  /** Where the files land on checkout, for the summary lines (e.g. "outputs/metrics"). */
  outDir: string;
  /** PNG scale over the SVG's pixel size. */
  pngScale?: number;
}

export interface Report {
  /** Relative path -> contents, ready for the store. */
  files: Map<string, Buffer | string>;
  metrics: MetricsJson;
  headline: Headline | undefined;
  summary: string[];
  meta: JsonObject;
}

function curves(predictions: Float32Array, targets: Int8Array, rows: number, cols: number): Array<PrCurve | null> {
  const out: Array<PrCurve | null> = [];
  const s = new Float64Array(rows);
  const t = new Float64Array(rows);
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) {
      s[i] = predictions[i * cols + j]!;
      t[i] = targets[i * cols + j]!;
    }
    out.push(prCurve(s, t));
  }
  return out;
}

function scores(model: string, genres: string[], p: Float32Array, t: Int8Array, ids: readonly string[], threshold: number): Scores {
  return toScores(model, genres, multiLabelMetrics({ scores: p, targets: t, rows: ids.length, cols: genres.length, rowNames: ids, colNames: genres }, threshold));
}

/** Notes a reader needs before trusting the numbers, repeated in metrics.json and metrics.md. */
function notesFor(inp: ReportInputs): string[] {
  const notes: string[] = [];
  if (inp.split !== inp.requestedSplit) notes.push(`metrics.split is ${inp.requestedSplit} but the split has no ${inp.requestedSplit} movies: scored ${inp.split} instead.`);
  if (inp.split === 'train') notes.push('Scored on the training split: these figures say how well the model fits, not how well it generalises.');
  return notes;
}

export async function buildReport(inp: ReportInputs): Promise<Report> {
  const G = inp.genres.length;
  const M = inp.ids.length;
  if (inp.predictions.length !== M * G || inp.targets.length !== M * G) {
    throw new RangeError(`buildReport: ${M} movies x ${G} genres, but ${inp.predictions.length} predictions and ${inp.targets.length} targets`);
  }
  const ours = scores(inp.model, inp.genres, inp.predictions, inp.targets, inp.ids, inp.threshold);
  const base = inp.baseline === null ? null : scores(inp.baseline.model, inp.genres, inp.baseline.predictions, inp.targets, inp.ids, inp.threshold);
  const metrics: MetricsJson = {
    format: METRICS_FORMAT,
    ...ours,
    split: inp.split,
    requested_split: inp.requestedSplit,
    threshold: inp.threshold,
    movies: M,
    genres: inp.genres,
    genres_without_positives: ours.per_genre.filter((g) => g.support === 0).map((g) => g.genre),
    missing_movies: inp.missing,
    baseline: base,
    training:
      inp.history === null
        ? null
        : { epochs: inp.history.epochs.length, selected: inp.history.selected ?? null, stopped: inp.history.stopped ?? null },
    notes: notesFor(inp),
  };

  const files = new Map<string, Buffer | string>();
  files.set('metrics.json', `${JSON.stringify(metrics, null, 2)}\n`);
  files.set('predictions.npy', encodeNpy(inp.predictions, [M, G]));
  files.set('targets.npy', encodeNpy(inp.targets, [M, G]));
  files.set('ids.json', `${JSON.stringify(inp.ids, null, 2)}\n`);
  if (inp.baseline !== null) files.set('baseline/predictions.npy', encodeNpy(inp.baseline.predictions, [M, G]));

  const plots: Array<{ name: string; title: string; svg: string }> = [];
  plots.push({ name: 'ap-bars', title: 'Average precision per genre', svg: apBarsSvg(metrics) });
  plots.push({
    name: 'pr-curves',
    title: 'Precision-recall curves',
    svg: prCurvesSvg(
      metrics,
      curves(inp.predictions, inp.targets, M, G),
      inp.baseline === null ? undefined : curves(inp.baseline.predictions, inp.targets, M, G),
    ),
  });
  const training = trainingSvg(
    inp.model,
    inp.history,
    inp.baseline?.history === null || inp.baseline === null ? null : { model: inp.baseline.model, history: inp.baseline.history },
  );
  if (training !== null) plots.push({ name: 'training', title: 'Training curves', svg: training });
  const pngs = await Promise.all(plots.map((p) => svgToPng(p.svg, inp.pngScale ?? 2)));
  const links: PlotLink[] = [];
  plots.forEach((p, i) => {
    files.set(`plots/${p.name}.svg`, p.svg);
    files.set(`plots/${p.name}.png`, pngs[i]!);
    links.push({ title: p.title, svg: `plots/${p.name}.svg`, png: `plots/${p.name}.png` });
  });
  files.set('metrics.md', metricsMarkdown(metrics, links));

  const splitText = inp.split === inp.requestedSplit ? inp.split : `${inp.split} (no ${inp.requestedSplit} movies)`;
  const baseText = base === null ? '' : ` — baseline (${base.model}) ${frac(base.mAP)}`;
  const summary = [`mAP ${frac(metrics.mAP)} on ${splitText} (${M} movies), model ${inp.model}${baseText}; ${bestWorst(metrics)}`];
  if (metrics.genres_without_positives.length > 0) {
    summary.push(`${metrics.genres_without_positives.join(', ')}: no positive movies in ${inp.split}, AP n/a, left out of mAP`);
  }
  if (inp.missing.length > 0) summary.push(`${inp.missing.length} movies of ${inp.split} have no features and were not scored`);
  if (inp.model !== 'reference') {
    // One line on the reference network, so that the default model is never mistaken for it.
    summary.push('reference network (the original BiLSTM): -p train.model=reference; its demo scores are in docs/TRAINING.md');
  }
  summary.push(`report: ${inp.outDir}/metrics.md · plots: ${inp.outDir}/plots/ (${plots.map((p) => p.name).join(', ')}; .svg and .png)`);

  const meta: JsonObject = {
    model: inp.model,
    split: inp.split,
    movies: M,
    mAP: metrics.mAP,
    micro_ap: metrics.micro_ap,
    weighted_f1: metrics.weighted_f1,
    genres_without_positives: metrics.genres_without_positives,
    ...(base === null ? {} : { baseline_mAP: base.mAP }),
  };
  return {
    files,
    metrics,
    headline:
      metrics.mAP === null
        ? undefined
        : {
            name: 'mAP',
            value: metrics.mAP,
            // The baseline beside the model, so that a one-line listing is never read as a win it is not.
            ...(base === null || base.mAP === null ? {} : { baseline: { name: `baseline ${base.model} mAP`, value: base.mAP } }),
          },
    summary,
    meta,
  };
}
