// Content hashing, in one place.
//
// Every hash in the project is XXH3-64, printed as 16 lowercase hex digits. It comes from
// @node-rs/xxhash (the Rust xxhash crate through N-API): its streaming XXH3 runs at about
// 20 GB/s here, several times faster than xxhash-wasm (bench/hash.ts has the figures).
// The library's one-shot xxh3 path is far slower than its streaming one on large inputs, so
// everything goes through the streaming hasher.
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import xxhash from '@node-rs/xxhash';
import { configure } from 'safe-stable-stringify';

export type Hash = string;

const { xxh3 } = xxhash;
// 256 KiB reads: measured fastest among 256 KiB..8 MiB for page-cached files (bench/hash.ts).
const CHUNK = 256 << 10;

/** Canonical JSON: keys sorted at every level, undefined dropped; the form every fingerprint is hashed in. */
export const canonicalJson: (value: unknown) => string = configure({
  deterministic: true,
  bigint: true,
  circularValue: TypeError,
}) as (value: unknown) => string;

function hex(d: bigint): Hash {
  return d.toString(16).padStart(16, '0');
}

export function hashBytes(data: Uint8Array | string): Hash {
  return hex(xxh3.Xxh3.withSeed().update(data).digest());
}

/** Hash of a plain value, through its canonical JSON. */
export function hashJson(value: unknown): Hash {
  return hashBytes(canonicalJson(value));
}

/** Hash of several strings joined unambiguously (each is length-prefixed). */
export function hashParts(parts: readonly string[]): Hash {
  const h = xxh3.Xxh3.withSeed();
  for (const p of parts) h.update(`${p.length}:`).update(p);
  return hex(h.digest());
}

/** Streams a file through the hasher in 256 KiB chunks; never holds the whole file. */
export function hashFileSync(path: string, onChunk?: (chunk: Buffer) => void): { hash: Hash; size: number } {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    const h = xxh3.Xxh3.withSeed();
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      h.update(chunk);
      onChunk?.(chunk);
      size += n;
    }
    return { hash: hex(h.digest()), size };
  } finally {
    closeSync(fd);
  }
}

export async function hashFile(path: string): Promise<{ hash: Hash; size: number }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    const h = xxh3.Xxh3.withSeed();
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { hash: hex(h.digest()), size };
  } finally {
    await fh.close();
  }
}

export function isHash(s: string): boolean {
  return /^[0-9a-f]{16}$/.test(s);
}
