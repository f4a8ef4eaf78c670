// The report's charts as SVG: precision-recall curves per genre, AP per genre against the
// published figures, and training curves. Pure functions of the numbers; render.ts turns them
// into PNG.
import type { PrCurve } from './metrics-math.js';
import type { History, HistoryEpoch, MetricsJson } from './metrics-json.js';
import { pct } from './metrics-json.js';
import { PUBLISHED, publishedMeanAp } from './published.js';
import type { LegendEntry } from './svg.js';
import { COLORS, approxTextWidth, document, esc, legend, legendRows, line, linear, n, niceTicks, polyline, rect, text, tickLabel } from './svg.js';

/** Step path of a PR curve, so that the area under it is exactly the step-wise AP. */
export function prSteps(c: PrCurve): Array<[number, number]> {
  const pts: Array<[number, number]> = [];
  let r = 0;
  for (let k = 0; k < c.recall.length; k++) {
    pts.push([r, c.precision[k]!], [c.recall[k]!, c.precision[k]!]);
    r = c.recall[k]!;
  }
  return pts;
}

export function prCurvesSvg(m: MetricsJson, curves: ReadonlyArray<PrCurve | null>, baselineCurves?: ReadonlyArray<PrCurve | null>): string {
  const G = m.per_genre.length;
  const cols = G <= 4 ? Math.max(1, G) : G <= 9 ? 3 : G <= 16 ? 4 : 5;
  const rowsN = Math.ceil(G / cols);
  const pw = 200;
  const ph = 180;
  const margin = 16;
  const head = 64;
  const W = margin * 2 + cols * pw;
  const H = head + rowsN * ph + margin;
  const body: string[] = [];
  body.push(text(margin, 24, `Precision-recall per genre: ${m.model} on ${m.split} (${m.movies} movies; n = positive movies)`, { size: 16, weight: 'bold' }));
  const entries: LegendEntry[] = [{ label: `${m.model} (this run)`, color: COLORS.ours, kind: 'line' }];
  if (baselineCurves !== undefined && m.baseline !== null) entries.push({ label: `baseline (${m.baseline.model})`, color: COLORS.baseline, kind: 'dash' });
  entries.push({ label: `at threshold ${m.threshold}`, color: COLORS.ours, kind: 'dot' });
  entries.push({ label: 'chance (share of positives)', color: COLORS.muted, kind: 'dots' });
  body.push(...legend(margin, 46, entries, 12));
  const pad = { l: 34, r: 10, t: 30, b: 30 };
  m.per_genre.forEach((g, i) => {
    const ox = margin + (i % cols) * pw;
    const oy = head + Math.floor(i / cols) * ph;
    const x = linear(0, 1, ox + pad.l, ox + pw - pad.r);
    const y = linear(0, 1, oy + ph - pad.b, oy + pad.t);
    // tspans flow one after the other, so the count follows the name whatever its width.
    body.push(
      `<text x="${n(ox + 6)}" y="${n(oy + 18)}" font-size="12" fill="${COLORS.text}"><tspan font-weight="bold">${esc(g.genre)}</tspan>` +
        `<tspan dx="5" font-size="10" fill="${COLORS.muted}">n=${g.support}</tspan></text>`,
    );
    body.push(text(ox + pw - pad.r, oy + 18, g.ap === null ? 'AP n/a' : `AP ${pct(g.ap, 1)}`, { size: 12, anchor: 'end', fill: COLORS.ours, weight: 'bold' }));
    body.push(rect(x(0), y(1), x(1) - x(0), y(0) - y(1), '#fbfbfb', ` stroke="${COLORS.grid}"`));
    for (const t of [0.25, 0.5, 0.75]) {
      body.push(line(x(t), y(0), x(t), y(1), COLORS.grid), line(x(0), y(t), x(1), y(t), COLORS.grid));
    }
    for (const t of [0, 0.5, 1]) {
      body.push(text(x(t), y(0) + 13, tickLabel(t, [0, 0.5]), { size: 10, anchor: 'middle', fill: COLORS.axis }));
      body.push(text(x(0) - 4, y(t) + 3.5, tickLabel(t, [0, 0.5]), { size: 10, anchor: 'end', fill: COLORS.axis }));
    }
    const lastRow = Math.floor(i / cols) === rowsN - 1 || i + cols >= G;
    if (lastRow) body.push(text((x(0) + x(1)) / 2, y(0) + 26, 'recall', { size: 10, anchor: 'middle', fill: COLORS.muted }));
    if (i % cols === 0) body.push(text(ox + 9, (y(0) + y(1)) / 2, 'precision', { size: 10, anchor: 'middle', fill: COLORS.muted, rotate: -90 }));
    if (g.support === 0) {
      body.push(text((x(0) + x(1)) / 2, (y(0) + y(1)) / 2, `no positives in ${m.split}`, { size: 11, anchor: 'middle', fill: COLORS.muted }));
      return;
    }
    const prevalence = m.movies === 0 ? 0 : g.support / m.movies;
    body.push(line(x(0), y(prevalence), x(1), y(prevalence), COLORS.muted, 1.2, '1.5 2.5'));
    const bc = baselineCurves?.[i];
    if (bc !== undefined && bc !== null) body.push(polyline(prSteps(bc).map(([r, p]) => [x(r), y(p)] as const), COLORS.baseline, 1.5, '4 3'));
    const c = curves[i];
    if (c !== undefined && c !== null) body.push(polyline(prSteps(c).map(([r, p]) => [x(r), y(p)] as const), COLORS.ours, 2));
    if (g.tp + g.fp > 0) body.push(`<circle cx="${n(x(g.recall))}" cy="${n(y(g.precision))}" r="3.5" fill="${COLORS.ours}" stroke="#ffffff" stroke-width="1"/>`);
  });
  return document(W, H, body, `Precision-recall curves per genre, ${m.model} on ${m.split}`);
}

interface BarSeries {
  label: string;
  color: string;
  /** AP in [0,1] per genre name; null = n/a; undefined = not reported. */
  ap: (genre: string) => number | null | undefined;
  mean: number | null;
}

export function apBarsSvg(m: MetricsJson): string {
  const series: BarSeries[] = [];
  const ours = new Map(m.per_genre.map((g) => [g.genre, g.ap]));
  series.push({ label: `${m.model} (this run)`, color: COLORS.ours, ap: (g) => ours.get(g), mean: m.mAP });
  if (m.baseline !== null) {
    const b = new Map(m.baseline.per_genre.map((g) => [g.genre, g.ap]));
    series.push({ label: `baseline (${m.baseline.model})`, color: COLORS.baseline, ap: (g) => b.get(g), mean: m.baseline.mAP });
  }
  for (const s of PUBLISHED) {
    const mean = publishedMeanAp(s).mean;
    series.push({
      label: s.label,
      color: s.key === 'resnet' ? COLORS.resnet : COLORS.referenceBilstm,
      ap: (g) => {
        const row = s.rows[g];
        return row === undefined ? undefined : row.ap === null ? null : row.ap / 100;
      },
      mean: mean === null ? null : mean / 100,
    });
  }
  // Best genres first, so the eye reads the ranking; genres without positives last.
  const genres = [...m.per_genre]
    .sort((a, b) => (b.ap ?? -1) - (a.ap ?? -1) || (a.genre < b.genre ? -1 : 1))
    .map((g) => g.genre);
  const labelW = Math.max(90, ...genres.map((g) => approxTextWidth(g, 12) + 16), approxTextWidth('mean AP', 12) + 16);
  const margin = 16;
  const plotW = 600;
  const barH = 7;
  const gap = 1;
  const groupGap = 9;
  const groupH = series.length * (barH + gap) - gap;
  const rows = [...genres, 'mean AP'];
  const plotH = rows.length * (groupH + groupGap) + 10;
  const W = margin + labelW + plotW + 64;
  const leg = legendRows(margin, 48, series.map((s) => ({ label: s.label, color: s.color, kind: 'bar' as const })), 12, W - 2 * margin);
  const head = 52 + leg.rows * 18;
  const H = head + plotH + 44;
  const x = linear(0, 1, margin + labelW, margin + labelW + plotW);
  const body: string[] = [];
  body.push(text(margin, 24, `Average precision per genre: ${m.model} on ${m.split} vs published figures`, { size: 16, weight: 'bold' }));
  body.push(...leg.svg);
  const top = head;
  const bottom = head + plotH;
  for (const t of niceTicks(0, 1, 10)) {
    body.push(line(x(t), top, x(t), bottom, COLORS.grid));
    body.push(text(x(t), bottom + 14, String(Math.round(t * 100)), { size: 10, anchor: 'middle', fill: COLORS.axis }));
  }
  body.push(text(x(0.5), bottom + 32, 'AP (%)', { size: 11, anchor: 'middle', fill: COLORS.muted }));
  rows.forEach((g, gi) => {
    const gy = top + 6 + gi * (groupH + groupGap);
    if (g === 'mean AP') body.push(line(margin, gy - groupGap / 2 - 1, x(1), gy - groupGap / 2 - 1, COLORS.axis, 1));
    body.push(text(margin + labelW - 8, gy + groupH / 2 + 4, g, { size: 12, anchor: 'end', weight: g === 'mean AP' ? 'bold' : 'normal' }));
    series.forEach((s, si) => {
      const by = gy + si * (barH + gap);
      const v = g === 'mean AP' ? s.mean : s.ap(g);
      if (v === undefined) return;
      if (v === null) {
        body.push(text(x(0) + 3, by + barH, 'n/a', { size: 9, fill: s.color, weight: 'bold' }));
        return;
      }
      body.push(rect(x(0), by, x(v) - x(0), barH, s.color));
      // Our value on every genre; every series' value on the means row.
      if (si === 0 || g === 'mean AP') body.push(text(x(v) + 4, by + barH - 0.5, pct(v, 1), { size: 9, fill: s.color, weight: 'bold' }));
    });
  });
  body.push(line(x(0), top, x(0), bottom, COLORS.axis));
  return document(W, H, body, `Average precision per genre, ${m.model} on ${m.split}`);
}

interface Curve {
  label: string;
  color: string;
  dash?: string;
  points: Array<[number, number]>;
}

function values(h: History, key: keyof HistoryEpoch): Array<[number, number]> {
  return h.epochs.flatMap((e) => {
    const v = e[key];
    return typeof v === 'number' && Number.isFinite(v) ? [[e.epoch, v] as [number, number]] : [];
  });
}

function panel(
  ox: number,
  oy: number,
  w: number,
  h: number,
  title: string,
  curves: readonly Curve[],
  epochs: [number, number],
  selected: number | undefined,
): string[] {
  // Rows above the frame: title, the panel's own legend, the selected-epoch label; so that
  // no label sits on a curve.
  const pad = { l: 48, r: 14, t: 62, b: 36 };
  const out: string[] = [text(ox + pad.l, oy + 16, title, { size: 13, weight: 'bold' })];
  out.push(...legend(ox + pad.l, oy + 36, curves.map((c) => ({ label: c.label, color: c.color, kind: c.dash === undefined ? ('line' as const) : ('dash' as const) })), 11));
  const ys = curves.flatMap((c) => c.points.map((p) => p[1]));
  if (ys.length === 0) {
    out.push(text(ox + w / 2, oy + h / 2, 'not recorded', { size: 12, anchor: 'middle', fill: COLORS.muted }));
    return out;
  }
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  const span = hi - lo || Math.abs(hi) || 1;
  lo -= span * 0.05;
  hi += span * 0.05;
  const yt = niceTicks(lo, hi, 5).filter((t) => t >= lo && t <= hi);
  const e1 = epochs[1] === epochs[0] ? epochs[0] + 1 : epochs[1];
  const xt = niceTicks(epochs[0], e1, 6).filter((t) => Number.isInteger(t) && t >= epochs[0] && t <= e1);
  const x = linear(epochs[0], e1, ox + pad.l, ox + w - pad.r);
  const y = linear(lo, hi, oy + h - pad.b, oy + pad.t);
  out.push(rect(x(epochs[0]), y(hi), x(e1) - x(epochs[0]), y(lo) - y(hi), '#fbfbfb', ` stroke="${COLORS.grid}"`));
  for (const t of yt) {
    out.push(line(ox + pad.l, y(t), ox + w - pad.r, y(t), COLORS.grid));
    out.push(text(ox + pad.l - 5, y(t) + 3.5, tickLabel(t, yt), { size: 10, anchor: 'end', fill: COLORS.axis }));
  }
  for (const t of xt) out.push(text(x(t), oy + h - pad.b + 14, String(t), { size: 10, anchor: 'middle', fill: COLORS.axis }));
  out.push(text((ox + pad.l + ox + w - pad.r) / 2, oy + h - 6, 'epoch', { size: 11, anchor: 'middle', fill: COLORS.muted }));
  if (selected !== undefined) {
    out.push(line(x(selected), y(hi), x(selected), y(lo), COLORS.text, 1, '5 4'));
    const anchor = x(selected) > ox + w * 0.75 ? 'end' : x(selected) < ox + pad.l + 60 ? 'start' : 'middle';
    out.push(text(x(selected), y(hi) - 5, `selected: epoch ${selected}`, { size: 10, anchor }));
  }
  for (const c of curves) {
    out.push(polyline(c.points.map(([e, v]) => [x(e), y(v)] as const), c.color, 2, c.dash));
    if (c.points.length <= 25) for (const [e, v] of c.points) out.push(`<circle cx="${n(x(e))}" cy="${n(y(v))}" r="2.2" fill="${c.color}"/>`);
  }
  return out;
}

/** Loss and validation metrics per epoch, the selected epoch marked; null when there is no history. */
export function trainingSvg(model: string, h: History | null, baseline?: { model: string; history: History } | null): string | null {
  if (h === null || h.epochs.length === 0) return null;
  const all = [...h.epochs, ...(baseline?.history.epochs ?? [])].map((e) => e.epoch);
  const epochs: [number, number] = [Math.min(...all), Math.max(...all)];
  const margin = 16;
  const pw = 470;
  const ph = 320;
  const head = 40;
  const W = margin * 2 + pw * 2;
  const H = head + ph + margin;
  const sel = h.selected?.epoch;
  const loss: Curve[] = [
    { label: 'train', color: COLORS.ours, points: values(h, 'train_loss') },
    { label: 'validation', color: COLORS.val, points: values(h, 'val_loss') },
  ];
  const val: Curve[] = [
    { label: 'mAP', color: COLORS.ours, points: values(h, 'val_map') },
    { label: 'weighted F1', color: COLORS.val, points: values(h, 'val_weighted_f1') },
  ];
  if (baseline !== undefined && baseline !== null) {
    val.push({ label: `baseline (${baseline.model}) mAP`, color: COLORS.baseline, dash: '4 3', points: values(baseline.history, 'val_map') });
  }
  const body: string[] = [];
  const sv = h.selected?.value;
  const selText = h.selected === undefined ? '' : ` — epoch ${h.selected.epoch} selected by ${h.selected.metric}${sv === null || sv === undefined ? '' : ` (${sv.toFixed(3)})`}`;
  body.push(text(margin, 24, `Training: ${model}${selText}`, { size: 16, weight: 'bold' }));
  body.push(...panel(margin, head, pw, ph, 'Loss', loss.filter((c) => c.points.length > 0), epochs, sel));
  body.push(...panel(margin + pw, head, pw, ph, 'Validation metrics', val.filter((c) => c.points.length > 0), epochs, sel));
  return document(W, H, body, `Training curves, ${model}`);
}
