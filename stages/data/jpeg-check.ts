// A cheap JPEG sanity check for keyframes read in place: start-of-image marker at the start,
// end-of-image marker at the end. It reads two small slices of the file, not the image, and
// catches zero-byte, truncated and non-JPEG files; damage inside the compressed data is found
// when embed decodes the frame.
import { open } from 'node:fs/promises';

/** Bytes searched for the end-of-image marker: encoders may pad after it. */
const TAIL = 64;

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
    const head = Buffer.alloc(3);
    await fh.read(head, 0, 3, 0);
    if (head[0] !== 0xff || head[1] !== 0xd8 || head[2] !== 0xff) return 'not a JPEG (no start-of-image marker)';
    const n = Math.min(TAIL, size);
    const tail = Buffer.alloc(n);
    await fh.read(tail, 0, n, size - n);
    for (let i = n - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return undefined;
    return 'truncated JPEG (no end-of-image marker)';
  } finally {
    await fh.close();
  }
}
