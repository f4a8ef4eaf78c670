// The .npy format (numpy format version 1.0, C order, little-endian), read and written by hand:
// no maintained npm package writes it (npyjs only reads), and the format is one short header
// before the raw array bytes (numpy/lib/format.py).
import { readFileSync } from 'node:fs';

export type NpyDtype = '<f4' | '<f8' | '|i1' | '|u1' | '<i4' | '<i8' | '|b1';

export type NpyData = Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

export interface NpyArray<T extends NpyData = NpyData> {
  dtype: NpyDtype;
  shape: number[];
  data: T;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int32Array) return '<i4';
  return '<i8';
}

/** Encodes an array as .npy bytes (format 1.0; header padded so the data starts 64-byte aligned, as numpy does). */
export function encodeNpy(data: NpyData, shape: readonly number[], dtype: NpyDtype = dtypeOf(data)): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`npy: shape [${shape.join(',')}] holds ${count} values but the array has ${data.length}`);
  }
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new Error('npy: header too long for format 1.0');
  const head = Buffer.alloc(MAGIC.length + 4 + header.length);
  MAGIC.copy(head, 0);
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  head.write(header, 10, 'latin1');
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([head, body]);
}

function parseHeader(header: string, where: string): { dtype: NpyDtype; shape: number[]; fortran: boolean } {
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeM = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeM === undefined) {
    throw new Error(`${where}: not a valid .npy header: ${header.trim()}`);
  }
  const shape = shapeM
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const known: NpyDtype[] = ['<f4', '<f8', '|i1', '|u1', '<i4', '<i8', '|b1'];
  const dtype = (descr === '<u1' ? '|u1' : descr === '<i1' ? '|i1' : descr === '<b1' ? '|b1' : descr) as NpyDtype;
  if (!known.includes(dtype)) throw new Error(`${where}: unsupported dtype ${descr} (supported: ${known.join(', ')})`);
  return { dtype, shape, fortran: fortran === 'True' };
}

/** Decodes .npy bytes. The returned typed array owns a fresh, aligned copy of the data. */
export function decodeNpy(buf: Buffer, where = 'npy'): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error(`${where}: not a .npy file (bad magic)`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const { dtype, shape, fortran } = parseHeader(header, where);
  if (fortran) throw new Error(`${where}: Fortran-ordered arrays are not supported`);
  const count = shape.reduce((a, b) => a * b, 1);
  const off = start + headerLen;
  const bytes = buf.subarray(off);
  const size = dtype === '<f8' || dtype === '<i8' ? 8 : dtype === '<f4' || dtype === '<i4' ? 4 : 1;
  if (bytes.length < count * size) {
    throw new Error(`${where}: truncated: shape [${shape.join(',')}] needs ${count * size} bytes, found ${bytes.length}`);
  }
  const copy = new ArrayBuffer(count * size);
  new Uint8Array(copy).set(bytes.subarray(0, count * size));
  let data: NpyData;
  switch (dtype) {
    case '<f4':
      data = new Float32Array(copy);
      break;
    case '<f8':
      data = new Float64Array(copy);
      break;
    case '|i1':
      data = new Int8Array(copy);
      break;
    case '|u1':
    case '|b1':
      data = new Uint8Array(copy);
      break;
    case '<i4':
      data = new Int32Array(copy);
      break;
    case '<i8':
      data = new BigInt64Array(copy);
      break;
  }
  return { dtype, shape, data };
}

export function readNpy(path: string): NpyArray {
  return decodeNpy(readFileSync(path), path);
}

/** Reads a float32 .npy file and checks its rank. */
export function readNpyF32(path: string, rank?: number): NpyArray<Float32Array> {
  const a = readNpy(path);
  if (a.dtype !== '<f4') throw new Error(`${path}: expected float32 (<f4), found ${a.dtype}`);
  if (rank !== undefined && a.shape.length !== rank) {
    throw new Error(`${path}: expected ${rank} dimensions, found shape [${a.shape.join(',')}]`);
  }
  return a as NpyArray<Float32Array>;
}
