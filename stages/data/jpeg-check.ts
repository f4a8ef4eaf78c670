// A cheap JPEG sanity check for keyframes read in place: start-of-image marker at the start,
// end-of-image marker at the end. It reads two small slices of the file, not the image, and
// catches zero-byte, truncated and non-JPEG files; damage inside the compressed data is found
// when embed decodes the frame.
import { open } from 'node:fs/promises';

/** Bytes searched for the end-of-image marker: encoders may pad after it. */
const TAIL = 64;

/** What a file that is not a JPEG is, from its first bytes (for the message), if known. */
export function sniffImageFormat(head: Uint8Array): string | undefined {
  const ascii = (from: number, to: number): string => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 8 && head[0] === 0x89 && ascii(1, 4) === 'PNG') return 'PNG';
  if (head.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'WebP';
  if (ascii(0, 4) === 'GIF8') return 'GIF';
  if (ascii(0, 2) === 'BM') return 'BMP';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'TIFF';
  if (head.length >= 12 && ascii(4, 8) === 'ftyp') return /^(avif|avis)$/.test(ascii(8, 12)) ? 'AVIF' : 'HEIF/MP4';
  return undefined;
}

/** Returns what is wrong with the file, or undefined when it looks like a whole JPEG. */
export async function checkJpeg(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'file disappeared since the dataset was listed' : `cannot open: ${(e as Error).message}`;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return 'empty file (0 bytes)';
    const head = Buffer.alloc(Math.min(12, size));
    await fh.read(head, 0, head.length, 0);
    if (head[0] !== 0xff || head[1] !== 0xd8 || head[2] !== 0xff) {
      const format = sniffImageFormat(head);
      return format === undefined
        ? 'not a JPEG (no start-of-image marker)'
        : `not a JPEG: a ${format} image under a JPEG name (keyframes are read as JPEG; convert it, e.g. with ImageMagick: convert in.png -quality 95 out.jpg)`;
    }
    const n = Math.min(TAIL, size);
    const tail = Buffer.alloc(n);
    await fh.read(tail, 0, n, size - n);
    for (let i = n - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return undefined;
    return 'truncated JPEG (no end-of-image marker)';
  } finally {
    await fh.close();
  }
}
