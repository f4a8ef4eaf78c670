// What the project's own tfjs kernels (rnn/kernels.ts, fused-adam.ts) use of the wasm and cpu
// backends' internals: the calls tfjs' own JavaScript kernels make (tfjs-backend-wasm 4.x,
// tfjs-backend-cpu 4.x). Types only.
import type * as tf from './tf.js';

/** A tensor as kernels see it. */
export interface TensorInfoLike {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

/** The WebAssembly memory object, as far as these kernels use it. */
export interface WasmMemoryLike {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfoLike;
  typedArrayFromHeap(t: TensorInfoLike): Float32Array;
  dataIdMap: { get(id: object): { memoryOffset: number } };
  /** The Emscripten module; `asm.memory` is the heap's WebAssembly.Memory. */
  wasm: { asm?: { memory?: WasmMemoryLike } };
}

export interface CpuBackendLike {
  data: { get(id: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfoLike;
}
