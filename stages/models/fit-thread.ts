// One fitModel() on a worker thread (fit-worker.ts), so that the train stage fits the baseline
// while the model trains on the calling thread. The demo's model leaves the second core idle for
// about 40% of its training (its LSTM's backward direction waits for the calling thread's tfjs
// part of each step): the baseline fills that time.
//
// Same bits as fitting on the calling thread: the worker runs the same code on its own tfjs
// instance (the wasm backend is single-threaded and deterministic), its dropout masks come from
// the same seeded generators, and nothing is shared with the calling thread's models. The train
// stage's test checks the weights of both ways byte for byte.
//
// What the worker reports comes back through the hooks: logs as they are, progress as the epochs'
// ends only (their series points and messages, without done/total, so that the stage's progress
// bar follows the model). An abort of the stage's signal is forwarded; the worker's fit then
// stops as on the calling thread (the best model so far and the checkpoint kept) and its
// UserError comes back as a UserError with the same message and hint.
import { Worker } from 'node:worker_threads';
import { UserError } from '../../src/errors.js';
import type { FitData, FitHooks, FitOptions, FitResult } from './fit.js';

export interface FitWorkerInit {
  data: FitData;
  options: FitOptions;
  /** train.backend as given (the worker resolves and activates it itself). */
  backendChoice: string;
}

export type FitWorkerMessage =
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'progress'; update: Parameters<FitHooks['progress']>[0] }
  | { type: 'done'; result: FitResult }
  | { type: 'failed'; error: { name: string; message: string; hint?: string; stack?: string } };

/** Rebuilds Buffers that structured cloning turned into Uint8Arrays. */
function revive(r: FitResult): FitResult {
  const files: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(r.files)) files[name] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ev = r.events.bytes as Uint8Array;
  return { ...r, files, events: { name: r.events.name, bytes: Buffer.from(ev.buffer, ev.byteOffset, ev.byteLength) } };
}

/** fitModel(data, options, hooks) on a worker thread; resolves to the same result. */
export function fitOnThread(init: FitWorkerInit, hooks: FitHooks): Promise<FitResult> {
  return new Promise<FitResult>((resolve, reject) => {
    const worker = new Worker(new URL('./fit-worker.js', import.meta.url), { workerData: init });
    let settled = false;
    const onAbort = (): void => worker.postMessage({ type: 'abort' });
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      hooks.signal.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: FitWorkerMessage) => {
      switch (m.type) {
        case 'log':
          hooks.log(m.level, m.message);
          break;
        case 'progress':
          hooks.progress(m.update);
          break;
        case 'done':
          finish(() => resolve(revive(m.result)));
          break;
        case 'failed': {
          const e = m.error.name === 'UserError' ? new UserError(m.error.message, m.error.hint) : new Error(m.error.message);
          if (m.error.stack !== undefined && !(e instanceof UserError)) e.stack = m.error.stack;
          finish(() => reject(e));
          break;
        }
      }
    });
    worker.on('error', (e) => finish(() => reject(new Error(`${init.options.label}: the training thread failed: ${e.message}`))));
    worker.on('exit', (code) => finish(() => reject(new Error(`${init.options.label}: the training thread exited (code ${code}) before finishing`))));
  });
}
