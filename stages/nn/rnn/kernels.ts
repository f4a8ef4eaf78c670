// Two copy kernels for the recurrent ops: split a tensor into pieces along an axis, and join
// pieces along an axis. Why not tf.unstack / tf.split / tf.stack: on the wasm backend every
// Slice first copies its *whole* input out of the wasm heap (readSync), so unstacking a
// [T,B,G] tensor into T steps copies T times the tensor: 15 ms per unstack at T=32, and
// quadratic in T. These kernels copy each piece straight from heap to heap, once.
// They are written against the backends' kernel interface (the same calls tfjs' own JS kernels
// make) for wasm and cpu, and have no gradient: they run only inside the tf.customGrad ops of
// lstm.ts / gru.ts, where nothing is recorded on the tape.
import type { CpuBackendLike, TensorInfoLike, WasmBackendLike } from '../backend-internals.js';
import * as tf from '../tf.js';

const SPLIT = 'RnnSplit';
const JOIN = 'RnnJoin';

type Info = TensorInfoLike;

/** How each backend exposes a tensor's float32 values and makes an output. */
interface Access {
  view(backend: unknown, t: Info): Float32Array;
  /** Allocates every output first (a wasm allocation may move the heap), then hands out views. */
  outputs(backend: unknown, shapes: number[][]): { infos: Info[]; views: () => Float32Array[] };
}

const wasmAccess: Access = {
  view: (b, t) => (b as WasmBackendLike).typedArrayFromHeap(t),
  outputs: (b, shapes) => {
    const be = b as WasmBackendLike;
    const infos = shapes.map((s) => be.makeOutput(s, 'float32'));
    return { infos, views: () => infos.map((i) => be.typedArrayFromHeap(i)) };
  },
};

const cpuAccess: Access = {
  view: (b, t) => (b as CpuBackendLike).data.get(t.dataId).values,
  outputs: (b, shapes) => {
    const be = b as CpuBackendLike;
    const arrays = shapes.map((s) => new Float32Array(s.reduce((a, d) => a * d, 1)));
    const infos = shapes.map((s, i) => be.makeTensorInfo(s, 'float32', arrays[i]!));
    return { infos, views: () => arrays };
  },
};

/** [outer, dim, inner] view of a shape around `axis`. */
function around(shape: number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, d) => a * d, 1);
  const inner = shape.slice(axis + 1).reduce((a, d) => a * d, 1);
  return [outer, shape[axis]!, inner];
}

function splitKernel(access: Access) {
  return ({ inputs, attrs, backend }: { inputs: Record<string, unknown>; attrs?: Record<string, unknown>; backend: unknown }): Info[] => {
    const x = inputs['x'] as Info;
    const axis = attrs!['axis'] as number;
    const sizes = attrs!['sizes'] as number[];
    const [outer, dim, inner] = around(x.shape, axis);
    const shapes = sizes.map((s) => x.shape.map((d, i) => (i === axis ? s : d)));
    const out = access.outputs(backend, shapes);
    const src = access.view(backend, x);
    const views = out.views();
    let start = 0;
    sizes.forEach((size, p) => {
      const dst = views[p]!;
      const run = size * inner;
      for (let o = 0; o < outer; o++) {
        const from = (o * dim + start) * inner;
        dst.set(src.subarray(from, from + run), o * run);
      }
      start += size;
    });
    return out.infos;
  };
}

function joinKernel(access: Access) {
  return ({ inputs, attrs, backend }: { inputs: Record<string, unknown>; attrs?: Record<string, unknown>; backend: unknown }): Info => {
    const axis = attrs!['axis'] as number;
    const pieces = Object.keys(inputs)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => inputs[k] as Info);
    const first = pieces[0]!;
    const dim = pieces.reduce((s, p) => s + p.shape[axis]!, 0);
    const shape = first.shape.map((d, i) => (i === axis ? dim : d));
    const [outer, , inner] = around(shape, axis);
    const out = access.outputs(backend, [shape]);
    const dst = out.views()[0]!;
    let start = 0;
    for (const p of pieces) {
      const src = access.view(backend, p);
      const run = p.shape[axis]! * inner;
      for (let o = 0; o < outer; o++) dst.set(src.subarray(o * run, (o + 1) * run), (o * dim + start) * inner);
      start += p.shape[axis]!;
    }
    return out.infos[0]!;
  };
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const [backendName, access] of [['wasm', wasmAccess], ['cpu', cpuAccess]] as const) {
    tf.registerKernel({ kernelName: SPLIT, backendName, kernelFunc: splitKernel(access) as unknown as tf.KernelFunc });
    tf.registerKernel({ kernelName: JOIN, backendName, kernelFunc: joinKernel(access) as unknown as tf.KernelFunc });
  }
}

function fastKernels(): boolean {
  register();
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu';
}

/** Splits x along `axis` into pieces of the given sizes (tf.split without the wasm copies). */
export function splitAlong(x: tf.Tensor, sizes: number[], axis: number): tf.Tensor[] {
  if (x.dtype !== 'float32' || !fastKernels()) return tf.split(x, sizes, axis);
  return tf.engine().runKernel(SPLIT, { x }, { axis, sizes }) as unknown as tf.Tensor[];
}

/** Unstacks x along axis 0 ([T,...] -> T tensors of shape [...]). */
export function unstack0(x: tf.Tensor): tf.Tensor[] {
  const rest = x.shape.slice(1);
  return splitAlong(x, new Array<number>(x.shape[0]!).fill(1), 0).map((p) => tf.reshape(p, rest));
}

/** Concatenates along `axis` (tf.concat without the wasm copies). */
export function joinAlong(pieces: tf.Tensor[], axis: number): tf.Tensor {
  if (pieces.length === 1) return tf.clone(pieces[0]!);
  if (pieces.some((p) => p.dtype !== 'float32') || !fastKernels()) return tf.concat(pieces, axis);
  const inputs: Record<string, tf.Tensor> = {};
  pieces.forEach((p, i) => {
    inputs[String(i)] = p;
  });
  return tf.engine().runKernel(JOIN, inputs, { axis }) as unknown as tf.Tensor;
}

/** Stacks along axis 0 ([...] x T -> [T,...]). */
export function stack0(pieces: tf.Tensor[]): tf.Tensor {
  return joinAlong(pieces.map((p) => tf.reshape(p, [1, ...p.shape])), 0);
}
