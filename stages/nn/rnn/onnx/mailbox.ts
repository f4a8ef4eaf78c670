// The shared-memory mailbox of a direction worker (direction-worker.ts): the requests of a
// training step (forward, then backward with its Adam update, or one backward that also runs
// the next step's forward) go through it instead of
// postMessage. Why: at the demo's shape a step's two round trips through postMessage cost
// about 2.5 ms (the second post of each pair 0.6-0.7 ms: it wakes a worker while the first
// holds the other core; each answer 0.3-0.6 ms to reach the caller's event loop; measured in
// docs/PERFORMANCE.md, eighth session); here the caller
// writes a few numbers, wakes the worker with Atomics.notify and sleeps in Atomics.wait until
// the worker's notify. Every other request (init, load, fetch, a forward that brings weights,
// a backward that returns gradients, or the first request over new shared arrays) still goes
// by postMessage; a mailbox request carries no arrays, only the batch size: it reuses the
// shared arrays of the last such request sent by message.
//
// A step's pair of requests is woken once: the caller writes the second direction's request
// without waking its worker, then wakes the first, which wakes the second as it wakes (its
// relay; onnx-lstm.ts, DirectionWorker, says why; bench/worker-wake.ts measures it).
//
// A backward may carry the next step's forward (NEXT_BATCH > 0): the worker then updates its
// weights before it answers and runs that forward over the bound input and output arrays, so a
// step costs one round trip instead of two. With a folded LayerNorm whose weights the workers
// hold, the two workers meet at NORM_STEP (each sets its own after writing its terms of the
// LayerNorm's gradient into the shared exchange array, then waits for the other's) and each
// adds both terms and updates its copy of gamma and beta, the same in both.
/** Int32 slots of the control array. */
export const SEQ = 0; // request number, written by the caller
export const DONE = 1; // number of the last request answered, written by the worker
export const STATUS = 2; // 0: ok, 1: failed (error text in the error bytes), 2: the worker stopped
export const TYPE = 3; // 1: forward, 2: backward
export const STEP = 4; // the step number
export const BATCH = 5; // the batch size
export const HAS_ADAM = 6; // backward: 1 when `attrs` holds an Adam update's scalars
export const ERROR_LENGTH = 7; // bytes of error text
export const NEXT_BATCH = 8; // backward: the batch size of the next step's forward to run after it (0: none)
export const NORM_STEP = 9; // the step whose LayerNorm gradient terms this worker has written (minus the step: its backward failed), written by the worker
export const CONTROL_INTS = 10;
export const FORWARD = 1;
export const BACKWARD = 2;
/** Float32 slots of the attrs array: an Adam update's scalars, in this order. */
export const ATTRS = ['beta1', 'oneMinusBeta1', 'beta2', 'oneMinusBeta2', 'oneMinusAccBeta1', 'oneMinusAccBeta2', 'epsilon', 'negLr'] as const;
export const ERROR_BYTES = 4096;

export interface Mailbox {
  control: SharedArrayBuffer;
  attrs: SharedArrayBuffer;
  error: SharedArrayBuffer;
}

export function newMailbox(): Mailbox {
  return {
    control: new SharedArrayBuffer(4 * CONTROL_INTS),
    attrs: new SharedArrayBuffer(4 * ATTRS.length),
    error: new SharedArrayBuffer(ERROR_BYTES),
  };
}
