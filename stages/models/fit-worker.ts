// The worker thread of fit-thread.ts: activates the tfjs backend, runs fitModel() on the data it
// was started with, and posts logs, epoch-end progress and the result (or the error) back.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../../src/errors.js';
import { activateBackend, resolveBackend } from '../nn/backend.js';
import { fitModel } from './fit.js';
import type { FitWorkerInit, FitWorkerMessage } from './fit-thread.js';

const port = parentPort!;
const init = workerData as FitWorkerInit;
const abort = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'abort') abort.abort();
});
const post = (m: FitWorkerMessage): void => port.postMessage(m);

// The model on the calling thread is the stage's critical path: on Linux this thread (its own
// task id) runs at the lowest priority, so it takes the cores' idle time rather than the model's.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
} catch {
  // not Linux, or not allowed: the same bits at the default priority
}

try {
  await activateBackend(resolveBackend(init.backendChoice));
  const result = await fitModel(init.data, init.options, {
    signal: abort.signal,
    log: (level, message) => post({ type: 'log', level, message }),
    // Epoch ends only (they carry the series point); batch updates would fight the model's.
    progress: (u) => {
      if (u.point !== undefined) post({ type: 'progress', update: { ...(u.message === undefined ? {} : { message: u.message }), point: u.point } });
    },
  });
  // Copied, not transferred: a few MB once, and Buffers from Node's pool share their memory.
  post({ type: 'done', result });
} catch (e) {
  const err = e as Error;
  post({
    type: 'failed',
    error: { name: e instanceof UserError ? 'UserError' : err.name, message: err.message, ...(e instanceof UserError && e.hint !== undefined ? { hint: e.hint } : {}), ...(err.stack === undefined ? {} : { stack: err.stack }) },
  });
}
