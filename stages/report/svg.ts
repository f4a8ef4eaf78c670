// Small SVG-building helpers for the report's charts.
//
// Hand-written on purpose: the charts are three fixed layouts, and the charting libraries that
// render without a browser either need a newer Node (vega-lite 6 needs Node 22) or a DOM
// emulation; a few hundred lines of plain SVG keep the reports light and byte-for-byte
// deterministic (the same numbers give the same file, hence the same content hash).

// PNGs are drawn with the bundled DejaVu Sans whatever this says (render.ts); an SVG viewer falls back.
export const FONT = "DejaVu Sans, Verdana, Arial, sans-serif";

/** Okabe-Ito colours: distinguishable with the common colour-vision deficiencies. */
export const COLORS = {
  ours: '#0072B2',
  baseline: '#7a7a7a',
  resnet: '#E69F00',
  referenceBilstm: '#009E73',
  val: '#D55E00',
  grid: '#e3e3e3',
  axis: '#555555',
  text: '#222222',
  muted: '#888888',
} as const;

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Rounds coordinates so files stay small and stable. */
export function n(x: number): string {
  return (Math.round(x * 100) / 100).toString();
}

export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** "Nice" tick values (1, 2, 5 x 10^k steps) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/** Formats a tick value with no more decimals than its step needs. */
export function tickLabel(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

export function text(
  x: number,
  y: number,
  s: string,
  opts: { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: 'bold' | 'normal'; fill?: string; rotate?: number; baseline?: 'middle' | 'hanging' } = {},
): string {
  const attrs = [
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    `font-size="${opts.size ?? 12}"`,
    opts.anchor !== undefined && opts.anchor !== 'start' ? `text-anchor="${opts.anchor}"` : '',
    opts.weight === 'bold' ? 'font-weight="bold"' : '',
    `fill="${opts.fill ?? COLORS.text}"`,
    opts.rotate !== undefined ? `transform="rotate(${opts.rotate} ${n(x)} ${n(y)})"` : '',
    opts.baseline !== undefined ? `dominant-baseline="${opts.baseline}"` : '',
  ].filter((a) => a.length > 0);
  return `<text ${attrs.join(' ')}>${esc(s)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, width = 1, dash?: string): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}" stroke-width="${width}"${dash === undefined ? '' : ` stroke-dasharray="${dash}"`}/>`;
}

export function rect(x: number, y: number, w: number, h: number, fill: string, extra = ''): string {
  return `<rect x="${n(x)}" y="${n(y)}" width="${n(Math.max(0, w))}" height="${n(Math.max(0, h))}" fill="${fill}"${extra}/>`;
}

export function polyline(points: ReadonlyArray<readonly [number, number]>, stroke: string, width = 1.5, dash?: string): string {
  if (points.length === 0) return '';
  const d = points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${n(x)} ${n(y)}`).join('');
  return `<path d="${d}" fill="none" stroke="${stroke}" stroke-width="${width}" stroke-linejoin="round"${dash === undefined ? '' : ` stroke-dasharray="${dash}"`}/>`;
}

export function document(width: number, height: number, body: readonly string[], title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<title>${esc(title)}</title>`,
    rect(0, 0, width, height, '#ffffff'),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export interface LegendEntry {
  label: string;
  color: string;
  kind: 'line' | 'dash' | 'bar' | 'dot' | 'dots';
}

/**
 * A legend: coloured swatches (line, dashed line, bar, dot) with labels, laid out left to right
 * and wrapped onto a new row (18 px lower) before `maxWidth`. `rows` says how many it took.
 */
export function legendRows(
  x: number,
  y: number,
  entries: readonly LegendEntry[],
  size = 12,
  maxWidth = Infinity,
): { svg: string[]; rows: number } {
  const out: string[] = [];
  let cx = x;
  let cy = y;
  let rows = entries.length === 0 ? 0 : 1;
  for (const e of entries) {
    const w = 21 + approxTextWidth(e.label, size);
    if (cx > x && cx + w - x > maxWidth) {
      cx = x;
      cy += 18;
      rows++;
    }
    switch (e.kind) {
      case 'bar':
        out.push(rect(cx, cy - 5, 16, 10, e.color));
        break;
      case 'dot':
        out.push(`<circle cx="${n(cx + 8)}" cy="${n(cy)}" r="4" fill="${e.color}"/>`);
        break;
      case 'line':
        out.push(line(cx, cy, cx + 16, cy, e.color, 2));
        break;
      case 'dash':
        out.push(line(cx, cy, cx + 16, cy, e.color, 2, '4 3'));
        break;
      case 'dots':
        out.push(line(cx, cy, cx + 16, cy, e.color, 1.5, '1.5 2.5'));
        break;
    }
    out.push(text(cx + 21, cy, e.label, { size, baseline: 'middle' }));
    cx += w + 18;
  }
  return { svg: out, rows };
}

export function legend(x: number, y: number, entries: readonly LegendEntry[], size = 12, maxWidth = Infinity): string[] {
  return legendRows(x, y, entries, size, maxWidth).svg;
}

/** Width of a string in DejaVu Sans, roughly (its average advance is about 0.6 em). */
export function approxTextWidth(s: string, size: number): number {
  return s.length * size * 0.6;
}
