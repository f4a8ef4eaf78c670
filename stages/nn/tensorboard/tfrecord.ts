// TFRecord framing, the container of TensorBoard event files:
//   uint64 length (little-endian) | uint32 masked CRC32C of the length bytes
//   | data | uint32 masked CRC32C of the data
// (tensorflow/core/lib/io/record_writer.cc). The CRC32C comes from the crc-32 package; the
// framing itself is a dozen lines written here by hand: the npm packages for TFRecord files
// either need TensorFlow's native library or, like @roboflow/tfrecords (a single 2024 release),
// pull in crypto-js 3, shortid and google-protobuf for the same dozen lines.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// crc-32 ships CRC32C (Castagnoli) as a CommonJS module without its own type declarations.
const crc32c = require('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number };

const MASK_DELTA = 0xa282ead8;

/** TFRecord's masked CRC32C: rotate right by 15 bits and add a constant (record_writer.h). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c.buf(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Frames one record. */
export function encodeRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/** Splits a TFRecord file into its records, checking both CRCs of each. */
export function decodeRecords(buf: Uint8Array, where = 'tfrecord'): Buffer[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const records: Buffer[] = [];
  let off = 0;
  while (off < b.length) {
    if (off + 12 > b.length) throw new Error(`${where}: truncated record header at byte ${off}`);
    const len = b.readBigUInt64LE(off);
    if (b.readUInt32LE(off + 8) !== maskedCrc32c(b.subarray(off, off + 8))) {
      throw new Error(`${where}: bad length CRC at byte ${off}`);
    }
    const n = Number(len);
    const end = off + 12 + n + 4;
    if (end > b.length) throw new Error(`${where}: truncated record at byte ${off} (needs ${n} data bytes)`);
    const data = b.subarray(off + 12, off + 12 + n);
    if (b.readUInt32LE(off + 12 + n) !== maskedCrc32c(data)) throw new Error(`${where}: bad data CRC in record at byte ${off}`);
    records.push(data);
    off = end;
  }
  return records;
}
