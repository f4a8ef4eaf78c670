// Draws the demo dataset's keyframes as raw RGB pixels (426x240, MovieNet's 240P size);
// demo-render.ts encodes them as JPEG. Plain JavaScript with no native library, so that worker
// threads can draw (demo-draw-worker.ts).
//
// Each genre has a look (palette, brightness, contrast, grain, vignette, composition: Horror
// dark and vignetted, Animation flat and saturated, Western warm browns under a horizon, Sci-Fi
// cold blues on a grid...). Each shot of a movie takes the look of one of the movie's genres,
// jittered, or with probability 1 - strength an unrelated random look; a movie's strength is
// drawn per movie and about one movie in five is hard (mostly random looks). So the signal is
// learnable from frames, yet noisy: a sound pipeline scores clearly above chance, a broken one
// does not. Everything is drawn from seedrandom streams keyed by (seed, movie), so a movie's
// frames are the same whatever else is generated.
import seedrandom from 'seedrandom';
import { demoGenres } from './demo-genres.js';

export const FRAME_WIDTH = 426;
export const FRAME_HEIGHT = 240;

type Composition = 'discs' | 'blocks' | 'stripes' | 'horizon' | 'grid' | 'flat';
const COMPOSITIONS: readonly Composition[] = ['discs', 'blocks', 'stripes', 'horizon', 'grid', 'flat'];

interface Look {
  /** Main hue, degrees. */
  hue: number;
  /** Hue offset of the secondary colours (0: monochrome, 180: complementary). */
  spread: number;
  sat: number;
  /** Mean brightness, 0..1. */
  val: number;
  contrast: number;
  /** Per-pixel noise (film grain, texture), 0..1. */
  grain: number;
  /** Darkening of the corners, 0..1. */
  vignette: number;
  composition: Composition;
}

const L = (hue: number, spread: number, sat: number, val: number, contrast: number, grain: number, vignette: number, composition: Composition): Look => ({
  hue,
  spread,
  sat,
  val,
  contrast,
  grain,
  vignette,
  composition,
});

// prettier-ignore
const LOOKS: Readonly<Record<string, Look>> = {
  Drama:       L(30, 20, 0.25, 0.45, 0.40, 0.15, 0.30, 'blocks'),
  Comedy:      L(50, 60, 0.65, 0.72, 0.45, 0.05, 0.00, 'discs'),
  Thriller:    L(190, 15, 0.35, 0.30, 0.60, 0.25, 0.50, 'stripes'),
  Action:      L(25, 165, 0.75, 0.50, 0.90, 0.30, 0.20, 'stripes'),
  Romance:     L(340, 25, 0.45, 0.68, 0.30, 0.05, 0.20, 'discs'),
  Horror:      L(0, 100, 0.45, 0.13, 0.55, 0.45, 0.90, 'discs'),
  Crime:       L(45, 20, 0.45, 0.30, 0.65, 0.30, 0.60, 'blocks'),
  Documentary: L(100, 50, 0.35, 0.55, 0.35, 0.55, 0.00, 'horizon'),
  Adventure:   L(95, 110, 0.60, 0.60, 0.60, 0.20, 0.10, 'horizon'),
  'Sci-Fi':    L(205, 30, 0.70, 0.40, 0.75, 0.10, 0.30, 'grid'),
  Family:      L(60, 120, 0.75, 0.75, 0.50, 0.05, 0.00, 'discs'),
  Fantasy:     L(280, 60, 0.60, 0.45, 0.60, 0.10, 0.40, 'discs'),
  Mystery:     L(220, 20, 0.15, 0.38, 0.22, 0.40, 0.50, 'horizon'),
  Biography:   L(35, 10, 0.35, 0.50, 0.40, 0.30, 0.30, 'blocks'),
  Animation:   L(0, 150, 0.95, 0.70, 0.60, 0.00, 0.00, 'flat'),
  History:     L(30, 10, 0.30, 0.40, 0.45, 0.50, 0.50, 'blocks'),
  Music:       L(300, 90, 0.80, 0.25, 0.90, 0.15, 0.60, 'discs'),
  War:         L(80, 15, 0.15, 0.35, 0.60, 0.70, 0.40, 'horizon'),
  Sport:       L(110, 0, 0.55, 0.62, 0.55, 0.10, 0.00, 'stripes'),
  Musical:     L(40, 40, 0.80, 0.60, 0.70, 0.05, 0.30, 'discs'),
  Western:     L(28, 8, 0.55, 0.58, 0.50, 0.35, 0.20, 'horizon'),
};

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

function hsv(h: number, s: number, v: number): [number, number, number] {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const [r, g, b] = hh < 1 ? [c, x, 0] : hh < 2 ? [x, c, 0] : hh < 3 ? [0, c, x] : hh < 4 ? [0, x, c] : hh < 5 ? [x, 0, c] : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

function randomLook(rng: () => number): Look {
  return L(
    rng() * 360,
    rng() * 120,
    0.1 + 0.7 * rng(),
    0.2 + 0.55 * rng(),
    0.2 + 0.6 * rng(),
    0.5 * rng(),
    0.6 * rng(),
    COMPOSITIONS[Math.floor(rng() * COMPOSITIONS.length)]!,
  );
}

function jitter(look: Look, rng: () => number): Look {
  const j = (amount: number): number => (rng() * 2 - 1) * amount;
  return {
    ...look,
    // Animation's hue is free: its signal is flatness and saturation, not a colour.
    hue: look.composition === 'flat' ? rng() * 360 : look.hue + j(15),
    sat: clamp01(look.sat + j(0.1)),
    val: clamp01(look.val + j(0.08)),
    contrast: clamp01(look.contrast + j(0.1)),
    grain: clamp01(look.grain + j(0.1)),
    vignette: clamp01(look.vignette + j(0.15)),
  };
}

interface Shape {
  kind: 'disc' | 'rect';
  x: number;
  y: number;
  /** Radius (disc) or half width (rect). */
  a: number;
  /** Half height (rect). */
  b: number;
  color: [number, number, number];
  /** Edge softness in pixels (0: hard edge). */
  soft: number;
}

interface ShotLayout {
  look: Look;
  top: [number, number, number];
  bottom: [number, number, number];
  horizon: number;
  shapes: Shape[];
  /** Stripes and grid: period and angle. */
  period: number;
  slope: number;
  line: [number, number, number];
}

function layoutShot(look: Look, rng: () => number): ShotLayout {
  const { hue, spread, sat, val, contrast } = look;
  const c1 = hsv(hue + spread, sat, clamp01(val + contrast * 0.4));
  const c2 = hsv(hue - spread / 2, sat * 0.8, clamp01(val - contrast * 0.4));
  const horizonLook = look.composition === 'horizon';
  const top = horizonLook ? hsv(hue + spread, sat * 0.8, clamp01(val + contrast * 0.3)) : hsv(hue, sat, clamp01(val + contrast * 0.25));
  const bottom = horizonLook ? hsv(hue, sat, clamp01(val - contrast * 0.2)) : hsv(hue + spread * 0.3, sat, clamp01(val - contrast * 0.25));
  const shapes: Shape[] = [];
  const hard = look.composition === 'flat';
  const nShapes = look.composition === 'discs' || hard ? 3 + Math.floor(rng() * 5) : look.composition === 'blocks' ? 2 + Math.floor(rng() * 4) : Math.floor(rng() * 3);
  for (let i = 0; i < nShapes; i++) {
    const disc = look.composition === 'discs' || (hard && rng() < 0.5) || (look.composition !== 'blocks' && rng() < 0.5);
    shapes.push({
      kind: disc ? 'disc' : 'rect',
      x: rng() * FRAME_WIDTH,
      y: rng() * FRAME_HEIGHT,
      a: 10 + rng() * 60,
      b: 10 + rng() * 70,
      color: rng() < 0.5 ? c1 : c2,
      soft: hard ? 0 : look.composition === 'discs' ? 4 + rng() * 20 : 1 + rng() * 3,
    });
  }
  return {
    look,
    top,
    bottom,
    horizon: FRAME_HEIGHT * (0.35 + 0.35 * rng()),
    shapes,
    period: 12 + rng() * 40,
    slope: look.composition === 'stripes' && rng() < 0.5 ? 0.3 + rng() : 0,
    line: look.composition === 'stripes' && look.spread === 0 ? [235, 235, 235] : c1,
  };
}

/**
 * Draws one frame into `rgb` (W*H*3 floats). `dx, dy` move the shapes a little between the
 * three images of a shot; `noiseSeed` seeds the grain.
 */
function drawFrame(s: ShotLayout, dx: number, dy: number, flicker: number, noiseSeed: number, rgb: Float32Array, out: Uint8ClampedArray): void {
  const W = FRAME_WIDTH;
  const H = FRAME_HEIGHT;
  const { look } = s;
  // Background.
  for (let y = 0; y < H; y++) {
    let r: number;
    let g: number;
    let b: number;
    if (look.composition === 'horizon') {
      const sky = y < s.horizon + dy;
      const t = sky ? y / s.horizon : 1;
      [r, g, b] = sky ? [s.top[0] * (1.1 - 0.2 * t), s.top[1] * (1.1 - 0.2 * t), s.top[2] * (1.1 - 0.2 * t)] : s.bottom;
    } else {
      const t = y / (H - 1);
      r = s.top[0] + (s.bottom[0] - s.top[0]) * t;
      g = s.top[1] + (s.bottom[1] - s.top[1]) * t;
      b = s.top[2] + (s.bottom[2] - s.top[2]) * t;
    }
    let o = y * W * 3;
    for (let x = 0; x < W; x++, o += 3) {
      rgb[o] = r;
      rgb[o + 1] = g;
      rgb[o + 2] = b;
    }
  }
  // Stripes and grid lines.
  if (look.composition === 'stripes' || look.composition === 'grid') {
    const [lr, lg, lb] = s.line;
    const p = s.period;
    const grid = look.composition === 'grid';
    const width = grid ? 2 : p * 0.35;
    // The two tests, each computed once where it cannot change (a float modulo per pixel was a
    // quarter of the demo's drawing time): the grid's vertical lines depend on x only, and
    // without a slope a row's stripe test is the same at every x (y + 0 * x is y, so the
    // expression below gives the per-pixel one's bits).
    const column = grid ? Uint8Array.from({ length: W }, (_, x) => ((x + dx * 2 + p * 1000) % p < width ? 1 : 0)) : null;
    for (let y = 0; y < H; y++) {
      let o = y * W * 3;
      const row = s.slope === 0 ? (y + s.slope * 0 + dy * 2 + p * 1000) % p < width : null;
      for (let x = 0; x < W; x++, o += 3) {
        const onLine = (row ?? (y + s.slope * x + dy * 2 + p * 1000) % p < width) || (column !== null && column[x] === 1);
        if (onLine) {
          rgb[o] = lr;
          rgb[o + 1] = lg;
          rgb[o + 2] = lb;
        }
      }
    }
  }
  // Shapes, each within its bounding box.
  for (const sh of s.shapes) {
    const cx = sh.x + dx;
    const cy = sh.y + dy;
    const ry = sh.kind === 'disc' ? sh.a : sh.b;
    const x0 = Math.max(0, Math.floor(cx - sh.a - sh.soft));
    const x1 = Math.min(W - 1, Math.ceil(cx + sh.a + sh.soft));
    const y0 = Math.max(0, Math.floor(cy - ry - sh.soft));
    const y1 = Math.min(H - 1, Math.ceil(cy + ry + sh.soft));
    const [cr, cg, cb] = sh.color;
    for (let y = y0; y <= y1; y++) {
      let o = (y * W + x0) * 3;
      for (let x = x0; x <= x1; x++, o += 3) {
        // Signed distance outside the shape (negative inside).
        const d = sh.kind === 'disc' ? Math.sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy)) - sh.a : Math.max(Math.abs(x - cx) - sh.a, Math.abs(y - cy) - sh.b);
        const alpha = sh.soft === 0 ? (d <= 0 ? 1 : 0) : clamp01(-d / sh.soft + 0.5);
        if (alpha <= 0) continue;
        rgb[o] = rgb[o]! + (cr - rgb[o]!) * alpha;
        rgb[o + 1] = rgb[o + 1]! + (cg - rgb[o + 1]!) * alpha;
        rgb[o + 2] = rgb[o + 2]! + (cb - rgb[o + 2]!) * alpha;
      }
    }
  }
  // Grain, vignette, flicker; to bytes. The grain comes from an inline xorshift32: seedrandom
  // costs a function call per draw, too slow for 300k draws per frame.
  let state = noiseSeed >>> 0 || 0x9e3779b9;
  const amp = look.grain * 70;
  const vig = look.vignette * 0.85;
  const hx = W / 2;
  const hy = H / 2;
  const norm = 1 / (hx * hx + hy * hy);
  for (let y = 0; y < H; y++) {
    const ddy = (y - hy) * (y - hy);
    let o = y * W * 3;
    for (let x = 0; x < W; x++, o += 3) {
      const shade = flicker * (1 - vig * ((x - hx) * (x - hx) + ddy) * norm);
      let n = 0;
      if (amp > 0) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        n = ((state >>> 0) / 4294967296 - 0.5) * amp;
      }
      out[o] = rgb[o]! * shade + n;
      out[o + 1] = rgb[o + 1]! * shade + n;
      out[o + 2] = rgb[o + 2]! * shade + n;
    }
  }
}

/** How many shots a demo movie has (3..13, three keyframes each: 9..39 frames). */
export function demoShotCount(seed: number, index: number): number {
  return 3 + Math.floor(seedrandom(`demo:${seed}:${index}:shots`)() * 11);
}

/** The keyframes of demo movie `index` as raw RGB (426x240x3 bytes), drawn one at a time, in shot order. */
export function* drawDemoMovie(seed: number, index: number): Generator<{ shot: number; img: number; rgb: Uint8ClampedArray }> {
  const genres = demoGenres(seed, index);
  const rng = seedrandom(`demo:${seed}:${index}:frames`);
  const hard = rng() < 0.2;
  const strength = hard ? 0.1 + 0.25 * rng() : 0.55 + 0.4 * rng();
  const shots = demoShotCount(seed, index);
  const rgb = new Float32Array(FRAME_WIDTH * FRAME_HEIGHT * 3);
  for (let shot = 0; shot < shots; shot++) {
    const genre = genres[Math.floor(rng() * genres.length)]!;
    const look = rng() < strength ? jitter(LOOKS[genre]!, rng) : randomLook(rng);
    const layout = layoutShot(look, rng);
    const driftX = (rng() * 2 - 1) * 6;
    const driftY = (rng() * 2 - 1) * 3;
    for (let img = 0; img < 3; img++) {
      const out = new Uint8ClampedArray(FRAME_WIDTH * FRAME_HEIGHT * 3);
      const flicker = 1 + (rng() * 2 - 1) * 0.03;
      drawFrame(layout, driftX * (img - 1), driftY * (img - 1), flicker, Math.floor(rng() * 4294967296), rgb, out);
      yield { shot, img, rgb: out };
    }
  }
}
