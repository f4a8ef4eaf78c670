// The fused Adam update (adam.wat, assembled into adam-wasm.ts) as a function over a
// WebAssembly memory: the tfjs wasm backend's heap (fused-adam.ts) or a memory of its own (the
// ONNX Runtime LSTM's direction workers, rnn/onnx/direction-worker.ts). No tfjs import, so a
// worker thread loads it alone.
import { ADAM_WASM } from './adam-wasm.js';
import type { WasmMemoryLike } from './backend-internals.js';

/** Scalars of one update, each the float32 value tfjs' own ops would use. */
export interface StepAttrs {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  negLr: number;
}

// WebAssembly's JavaScript API is a global of Node; the project's TypeScript libs (no DOM) do
// not declare it. What this file uses of it:
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => WasmMemoryLike & { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
};

type AdamExport = (w: number, m: number, v: number, g: number, wo: number, mo: number, vo: number, n: number, ...scalars: number[]) => void;

/**
 * One Adam update of n float32 values at byte offsets of the memory: w, m, v, g in, w', m', v'
 * out (the outputs may be the inputs: each element is read before it is written).
 */
export type AdamUpdate = (w: number, m: number, v: number, g: number, wo: number, mo: number, vo: number, n: number, a: StepAttrs) => void;

/** Whether x is a WebAssembly memory that is not shared (what the update can be instantiated on). */
export function isUnsharedWasmMemory(x: unknown): x is WasmMemoryLike & { buffer: ArrayBuffer } {
  return x instanceof WebAssembly.Memory && x.buffer instanceof ArrayBuffer;
}

/** A new memory of at least `bytes` bytes (64 KiB pages). */
export function wasmMemory(bytes: number): { buffer: ArrayBuffer } {
  return new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) + 1 });
}

/** The update, instantiated on `memory`. */
export function adamOn(memory: WasmMemoryLike): AdamUpdate {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(ADAM_WASM, 'base64')), { env: { memory } });
  const adam = instance.exports['adam'] as AdamExport;
  return (w, m, v, g, wo, mo, vo, n, a) =>
    adam(w, m, v, g, wo, mo, vo, n, a.beta1, a.oneMinusBeta1, a.beta2, a.oneMinusBeta2, a.oneMinusAccBeta1, a.oneMinusAccBeta2, a.epsilon, a.negLr);
}
