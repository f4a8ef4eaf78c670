// `pipeline plots diff A B [C...]`: the report's charts with several runs overlaid — per-genre
// AP bars (one bar per run in each genre), one genre's precision-recall curves, and the
// training curves (validation mAP and train loss per epoch) — as SVG and PNG. Drawn with the
// report's own SVG helpers (svg.ts) and PNG renderer (render.ts, bundled font),
// the PR curve from its metric math (metrics-math.ts), so a diff chart reads like a report's.
import { prCurve } from './metrics-math.js';
import { pct } from './metrics-json.js';
import type { History, MetricsJson } from './metrics-json.js';
import { COLORS, approxTextWidth, document, legendRows, line, linear, n, niceTicks, polyline, rect, text, tickLabel } from './svg.js';
import { prSteps } from './plots.js';

/** One run in a diff chart. */
export interface DiffRun {
  /** Short label: the run id prefix, and what differs. */
  label: string;
  metrics: MetricsJson;
  /** float32 [M,G] scores and int8 [M,G] targets, when the metrics stage kept them. */
  predictions?: Float32Array;
  targets?: Int8Array;
  history?: History | null;
}

/** Okabe-Ito, then greys: distinguishable with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#F0E442', '#000000', '#7a7a7a'];
export const colorOf = (i: number): string => PALETTE[i % PALETTE.length]!;

export function apBarsDiffSvg(runs: readonly DiffRun[]): string {
  const first = runs[0]!.metrics;
  const genres = [...first.per_genre].sort((a, b) => (b.ap ?? -1) - (a.ap ?? -1) || (a.genre < b.genre ? -1 : 1)).map((g) => g.genre);
  const rows = [...genres, 'mean AP'];
  const margin = 16;
  const labelW = Math.max(90, ...rows.map((g) => approxTextWidth(g, 12) + 16));
  const plotW = 600;
  const barH = 7;
  const gap = 1;
  const groupGap = 9;
  const groupH = runs.length * (barH + gap) - gap;
  const W = margin + labelW + plotW + 64;
  const leg = legendRows(margin, 48, runs.map((r, i) => ({ label: r.label, color: colorOf(i), kind: 'bar' as const })), 12, W - 2 * margin);
  const head = 52 + leg.rows * 18;
  const plotH = rows.length * (groupH + groupGap) + 10;
  const H = head + plotH + 44;
  const x = linear(0, 1, margin + labelW, margin + labelW + plotW);
  const body: string[] = [text(margin, 24, `Average precision per genre, ${runs.length} runs on ${first.split}`, { size: 16, weight: 'bold' }), ...leg.svg];
  const bottom = head + plotH;
  for (const t of niceTicks(0, 1, 10)) {
    body.push(line(x(t), head, x(t), bottom, COLORS.grid));
    body.push(text(x(t), bottom + 14, String(Math.round(t * 100)), { size: 10, anchor: 'middle', fill: COLORS.axis }));
  }
  body.push(text(x(0.5), bottom + 32, 'AP (%)', { size: 11, anchor: 'middle', fill: COLORS.muted }));
  const apOf = (r: DiffRun, g: string): number | null | undefined =>
    g === 'mean AP' ? r.metrics.mAP : r.metrics.per_genre.find((p) => p.genre === g)?.ap;
  rows.forEach((g, gi) => {
    const gy = head + 6 + gi * (groupH + groupGap);
    if (g === 'mean AP') body.push(line(margin, gy - groupGap / 2 - 1, x(1), gy - groupGap / 2 - 1, COLORS.axis, 1));
    body.push(text(margin + labelW - 8, gy + groupH / 2 + 4, g, { size: 12, anchor: 'end', weight: g === 'mean AP' ? 'bold' : 'normal' }));
    runs.forEach((r, ri) => {
      const by = gy + ri * (barH + gap);
      const v = apOf(r, g);
      if (v === undefined) return;
      if (v === null) {
        body.push(text(x(0) + 3, by + barH, 'n/a', { size: 9, fill: colorOf(ri), weight: 'bold' }));
        return;
      }
      body.push(rect(x(0), by, x(v) - x(0), barH, colorOf(ri)));
      body.push(text(x(v) + 4, by + barH - 0.5, pct(v, 1), { size: 9, fill: colorOf(ri), weight: 'bold' }));
    });
  });
  body.push(line(x(0), head, x(0), bottom, COLORS.axis));
  return document(W, H, body, `Average precision per genre across ${runs.length} runs`);
}

/** One genre's PR curve per run (runs without predictions, or without positives, are named in the legend). */
export function prCurveDiffSvg(genre: string, runs: readonly DiffRun[]): string {
  const W = 560;
  const margin = 16;
  const leg = legendRows(margin, 48, runs.map((r, i) => {
    const ap = r.metrics.per_genre.find((g) => g.genre === genre)?.ap;
    return { label: `${r.label} (AP ${ap === null || ap === undefined ? 'n/a' : pct(ap, 1)})`, color: colorOf(i), kind: 'line' as const };
  }), 12, W - 2 * margin);
  const head = 52 + leg.rows * 18;
  const size = 420;
  const H = head + size + 50;
  const x = linear(0, 1, margin + 44, margin + 44 + size);
  const y = linear(0, 1, head + size, head);
  const body: string[] = [text(margin, 24, `Precision-recall: ${genre}, ${runs.length} runs on ${runs[0]!.metrics.split}`, { size: 16, weight: 'bold' }), ...leg.svg];
  body.push(rect(x(0), y(1), x(1) - x(0), y(0) - y(1), '#fbfbfb', ` stroke="${COLORS.grid}"`));
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  for (const t of ticks) {
    body.push(line(x(t), y(0), x(t), y(1), COLORS.grid), line(x(0), y(t), x(1), y(t), COLORS.grid));
    body.push(text(x(t), y(0) + 14, String(t), { size: 10, anchor: 'middle', fill: COLORS.axis }));
    body.push(text(x(0) - 5, y(t) + 3.5, String(t), { size: 10, anchor: 'end', fill: COLORS.axis }));
  }
  body.push(text((x(0) + x(1)) / 2, y(0) + 32, 'recall', { size: 11, anchor: 'middle', fill: COLORS.muted }));
  body.push(text(margin + 8, (y(0) + y(1)) / 2, 'precision', { size: 11, anchor: 'middle', fill: COLORS.muted, rotate: -90 }));
  runs.forEach((r, i) => {
    const gi = r.metrics.genres.indexOf(genre);
    if (gi < 0 || !r.predictions || !r.targets) return;
    const G = r.metrics.genres.length;
    const M = r.predictions.length / G;
    const s = new Float64Array(M);
    const t = new Float64Array(M);
    for (let m = 0; m < M; m++) {
      s[m] = r.predictions[m * G + gi]!;
      t[m] = r.targets[m * G + gi]!;
    }
    const c = prCurve(s, t);
    if (c) body.push(polyline(prSteps(c).map(([rr, p]) => [x(rr), y(p)] as const), colorOf(i), 2));
  });
  return document(W, H, body, `Precision-recall curves for ${genre} across ${runs.length} runs`);
}

/** Validation mAP (left) and train loss (right) per epoch, one curve per run; null without histories. */
export function trainingDiffSvg(runs: readonly DiffRun[]): string | null {
  const withHistory = runs.map((r, i) => ({ r, i })).filter(({ r }) => r.history && r.history.epochs.length > 0);
  if (withHistory.length === 0) return null;
  const margin = 16;
  const pw = 470;
  const ph = 320;
  const W = margin * 2 + pw * 2;
  const leg = legendRows(margin, 48, withHistory.map(({ r, i }) => ({ label: r.label, color: colorOf(i), kind: 'line' as const })), 12, W - 2 * margin);
  const head = 52 + leg.rows * 18;
  const H = head + ph + margin;
  const body: string[] = [text(margin, 24, `Training curves, ${withHistory.length} runs`, { size: 16, weight: 'bold' }), ...leg.svg];
  const epochsAll = withHistory.flatMap(({ r }) => r.history!.epochs.map((e) => e.epoch));
  const e0 = Math.min(...epochsAll);
  const e1 = Math.max(...epochsAll) === e0 ? e0 + 1 : Math.max(...epochsAll);
  const panel = (ox: number, title: string, key: 'val_map' | 'train_loss'): void => {
    const pad = { l: 48, r: 14, t: 26, b: 36 };
    body.push(text(ox + pad.l, head + 14, title, { size: 13, weight: 'bold' }));
    const series = withHistory.map(({ r, i }) => ({
      i,
      pts: r.history!.epochs.flatMap((e) => (typeof e[key] === 'number' && Number.isFinite(e[key]) ? [[e.epoch, e[key] as number] as [number, number]] : [])),
    }));
    const ys = series.flatMap((s) => s.pts.map((p) => p[1]));
    if (ys.length === 0) {
      body.push(text(ox + pw / 2, head + ph / 2, 'not recorded', { size: 12, anchor: 'middle', fill: COLORS.muted }));
      return;
    }
    let lo = Math.min(...ys);
    let hi = Math.max(...ys);
    const span = hi - lo || Math.abs(hi) || 1;
    lo -= span * 0.05;
    hi += span * 0.05;
    const x = linear(e0, e1, ox + pad.l, ox + pw - pad.r);
    const y = linear(lo, hi, head + ph - pad.b, head + pad.t);
    body.push(rect(x(e0), y(hi), x(e1) - x(e0), y(lo) - y(hi), '#fbfbfb', ` stroke="${COLORS.grid}"`));
    const yt = niceTicks(lo, hi, 5).filter((t) => t >= lo && t <= hi);
    for (const t of yt) {
      body.push(line(ox + pad.l, y(t), ox + pw - pad.r, y(t), COLORS.grid));
      body.push(text(ox + pad.l - 5, y(t) + 3.5, tickLabel(t, yt), { size: 10, anchor: 'end', fill: COLORS.axis }));
    }
    for (const t of niceTicks(e0, e1, 6).filter((t) => Number.isInteger(t) && t >= e0 && t <= e1)) {
      body.push(text(x(t), head + ph - pad.b + 14, String(t), { size: 10, anchor: 'middle', fill: COLORS.axis }));
    }
    body.push(text((ox + pad.l + ox + pw - pad.r) / 2, head + ph - 6, 'epoch', { size: 11, anchor: 'middle', fill: COLORS.muted }));
    for (const s of series) {
      body.push(polyline(s.pts.map(([e, v]) => [x(e), y(v)] as const), colorOf(s.i), 2));
      if (s.pts.length <= 25) for (const [e, v] of s.pts) body.push(`<circle cx="${n(x(e))}" cy="${n(y(v))}" r="2.2" fill="${colorOf(s.i)}"/>`);
    }
  };
  panel(margin, 'Validation mAP', 'val_map');
  panel(margin + pw, 'Train loss', 'train_loss');
  return document(W, H, body, `Training curves across ${withHistory.length} runs`);
}
