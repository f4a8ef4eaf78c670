// Runs the ONNX encoder on a worker thread. onnxruntime-node's `session.run` computes on the
// calling thread and blocks it for the whole batch; on the main thread that would also stall
// the decoding of the next batch (sharp's jobs finish on libuv threads but their JavaScript
// continuations, the next step of each decode and the float conversion, wait for the main
// thread). On a worker, inference and decoding overlap. Batches move between the threads by
// transfer (no copy): onnxruntime-node refuses SharedArrayBuffer-backed tensors.
import { Worker } from 'node:worker_threads';
import { UserError } from '../../src/errors.js';
import type { FrameEncoder } from './encoder.js';
import type { ModelInterface, OnnxEncoderOptions } from './onnx-encoder.js';
import { CLIP_PIXELS, clipPixels } from './preprocess.js';

/** Messages from the worker (stages/clip/onnx-worker.ts). */
export type WorkerReply =
  | { type: 'opened'; dim: number; maxBatch: number; info: ModelInterface }
  | { type: 'result'; id: number; embeddings: Float32Array; batch: Float32Array }
  | { type: 'error'; id: number | null; error: SerializedError }
  | { type: 'closed' };

export type WorkerRequest = { type: 'infer'; id: number; batch: Float32Array; n: number } | { type: 'close' };

export interface SerializedError {
  user: boolean;
  message: string;
  hint?: string;
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof UserError) return { user: true, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) };
  const err = e instanceof Error ? e : new Error(String(e));
  return { user: false, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) };
}

function revive(s: SerializedError): Error {
  if (s.user) return new UserError(s.message, s.hint);
  const e = new Error(s.message);
  if (s.stack !== undefined) e.stack = s.stack;
  return e;
}

interface Pending {
  resolve(r: { embeddings: Float32Array; batch: Float32Array }): void;
  reject(e: Error): void;
}

export class OnnxThreadEncoder implements FrameEncoder {
  readonly inputSize = CLIP_PIXELS;
  readonly dim: number;
  readonly maxBatch: number;
  readonly info: ModelInterface;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #dead: Error | undefined;
  #closed: (() => void) | undefined;

  private constructor(worker: Worker, opened: Extract<WorkerReply, { type: 'opened' }>) {
    this.#worker = worker;
    this.dim = opened.dim;
    this.maxBatch = opened.maxBatch;
    this.info = opened.info;
    worker.on('message', (m: WorkerReply) => this.#onMessage(m));
    worker.on('error', (e) => this.#fail(e));
    worker.on('exit', (code) => {
      if (this.#closed !== undefined) this.#closed();
      else this.#fail(new Error(`the ONNX worker thread exited unexpectedly (code ${code})`));
    });
  }

  /** Starts the worker and opens the model there; rejects with the worker's UserError if it cannot. */
  static open(options: OnnxEncoderOptions): Promise<OnnxThreadEncoder> {
    const worker = new Worker(new URL('./onnx-worker.js', import.meta.url), { workerData: options });
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`the ONNX worker thread exited while opening the model (code ${code})`));
      };
      const onMessage = (m: WorkerReply): void => {
        cleanup();
        if (m.type === 'opened') resolve(new OnnxThreadEncoder(worker, m));
        else if (m.type === 'error') {
          void worker.terminate();
          reject(revive(m.error));
        } else {
          void worker.terminate();
          reject(new Error(`the ONNX worker sent '${m.type}' before opening the model`));
        }
      };
      const cleanup = (): void => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.off('message', onMessage);
      };
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.on('message', onMessage);
    });
  }

  #onMessage(m: WorkerReply): void {
    if (m.type === 'result' || (m.type === 'error' && m.id !== null)) {
      const p = this.#pending.get(m.id!);
      if (p === undefined) return;
      this.#pending.delete(m.id!);
      if (m.type === 'result') p.resolve({ embeddings: m.embeddings, batch: m.batch });
      else p.reject(revive(m.error));
    } else if (m.type === 'error') {
      this.#fail(revive(m.error));
    }
  }

  #fail(e: Error): void {
    this.#dead = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  prepare(file: string, out: Float32Array): Promise<void> {
    return clipPixels(file, out);
  }

  infer(batch: Float32Array, n: number): Promise<{ embeddings: Float32Array; batch: Float32Array }> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const msg: WorkerRequest = { type: 'infer', id, batch, n };
      this.#worker.postMessage(msg, [batch.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.#closed !== undefined) return;
    const exited = new Promise<void>((resolve) => {
      this.#closed = resolve;
    });
    if (this.#dead !== undefined) {
      await this.#worker.terminate();
      return;
    }
    this.#worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    await exited;
  }
}
