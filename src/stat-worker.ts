// The helper thread of src/stat-many.ts: stats its share of a job's paths into shared memory.
import { statSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { claimAndStat, CTL_STARTED, type StatJob } from './stat-many.js';

parentPort!.on('message', (job: StatJob) => {
  const ctl = new Int32Array(job.ctl);
  // Start only when the main thread has not given up waiting for this thread (it stats
  // everything itself when this thread is slow to start).
  if (Atomics.compareExchange(ctl, CTL_STARTED, 0, 1) === 0) {
    claimAndStat(job.paths.split('\0'), new Float64Array(job.out), ctl, new Uint8Array(job.flags), statSync);
  }
  parentPort!.postMessage(job.id);
});
