// OpenAI CLIP's image preprocessing, with sharp (libvips), as the reference project ran it
// through torchvision on PIL: resize the shortest side to 224 with bicubic filtering (the long
// side becomes int(224 * long / short)), center crop 224 x 224 with offsets int(round((size -
// 224) / 2)) (Python's round: half to even), convert to RGB, divide by 255, normalise with CLIP's
// mean and std. No colour management: PIL ignores embedded ICC profiles and EXIF orientation.
//
// sharp's `cubic` kernel is Catmull-Rom (a = -0.5), PIL's BICUBIC filter, and like PIL it widens
// the filter when downscaling (antialiasing). Shrink-on-load (JPEG DCT scaling) is turned off:
// PIL decodes at full size. test/fixtures/README.md gives the tolerance this reaches against
// PIL's output; test/embed-preprocess.test.ts checks it on every fixture image.
import sharp from 'sharp';
import type { SharpOptions } from 'sharp';

export const CLIP_SIZE = 224;
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Floats per preprocessed image: [3, 224, 224]. */
export const CLIP_PIXELS = 3 * CLIP_SIZE * CLIP_SIZE;

/** Python 3's round(): ties go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface ClipGeometry {
  /** Size after the resize (shortest side = size). */
  width: number;
  height: number;
  /** Top-left corner of the center crop. */
  left: number;
  top: number;
}

/** torchvision Resize(size) + CenterCrop(size) on an image of width x height. */
export function clipGeometry(width: number, height: number, size = CLIP_SIZE): ClipGeometry {
  // torchvision: short side -> size, long side -> int(size * long / short) (truncation).
  const [w, h] = width <= height ? [size, Math.trunc((size * height) / width)] : [Math.trunc((size * width) / height), size];
  return { width: w, height: h, left: roundHalfEven((w - size) / 2), top: roundHalfEven((h - size) / 2) };
}

/**
 * uint8 -> normalised float, per channel, as torch computes it in float32: x.div(255), then
 * .sub(mean).div(std), each step rounded to float32 (Math.fround), so the values match PIL +
 * torchvision bit for bit wherever the pixels do.
 */
const LUT: Float32Array[] = [0, 1, 2].map((c) => {
  const t = new Float32Array(256);
  const mean = Math.fround(CLIP_MEAN[c]!);
  const std = Math.fround(CLIP_STD[c]!);
  for (let v = 0; v < 256; v++) t[v] = Math.fround(Math.fround(Math.fround(v / 255) - mean) / std);
  return t;
});

/** Options every decode in this project uses: PIL-like (no ICC, no EXIF rotation), strict on broken data. */
export const DECODE_OPTIONS = {
  ignoreIcc: true,
  autoOrient: false,
  // 'error' rejects truncated and corrupt files (as PIL does) but not mere warnings (e.g.
  // "extraneous bytes before marker"), which PIL also decodes.
  failOn: 'error',
} as const satisfies SharpOptions;

/**
 * Decodes an image (file path or bytes) and writes its CLIP pixel tensor [3,224,224] into `out`
 * (length CLIP_PIXELS), channel-planar, as CLIP's `preprocess` returns it.
 */
export async function clipPixels(input: string | Buffer, out: Float32Array): Promise<void> {
  if (out.length !== CLIP_PIXELS) throw new Error(`clipPixels: output holds ${out.length} floats, needs ${CLIP_PIXELS}`);
  const img = sharp(input, DECODE_OPTIONS);
  const meta = await img.metadata();
  if (meta.width === undefined || meta.height === undefined) throw new Error('image has no dimensions');
  const g = clipGeometry(meta.width, meta.height);
  const { data, info } = await img
    .resize(g.width, g.height, { fit: 'fill', kernel: 'cubic', fastShrinkOnLoad: false })
    .extract({ left: g.left, top: g.top, width: CLIP_SIZE, height: CLIP_SIZE })
    // After the resize, as PIL: it resizes in the image's own mode (grey, RGBA premultiplied),
    // then converts to RGB, dropping alpha.
    .removeAlpha()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== CLIP_SIZE * CLIP_SIZE * 3) {
    throw new Error(`unexpected decoded layout: ${info.width}x${info.height}x${info.channels}`);
  }
  writePlanar(data, out);
}

/** Interleaved RGB uint8 (HWC) -> normalised planar float32 (CHW). */
function writePlanar(rgb: Uint8Array, out: Float32Array): void {
  const plane = CLIP_SIZE * CLIP_SIZE;
  const [l0, l1, l2] = LUT as [Float32Array, Float32Array, Float32Array];
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[i] = l0[rgb[j]!]!;
    out[plane + i] = l1[rgb[j + 1]!]!;
    out[2 * plane + i] = l2[rgb[j + 2]!]!;
  }
}
