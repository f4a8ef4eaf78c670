// How to wake the LSTM's two direction workers for a step (stages/nn/rnn/onnx/onnx-lstm.ts):
// two worker threads that each compute for --work ms when woken (as a direction's ONNX
// Runtime run does), answered through Atomics as the mailbox is (mailbox.ts), the caller
// computing 1 ms between rounds (the head of a step). Two ways in the same run, alternated:
//   - "one after the other": the caller notifies worker 0, then worker 1;
//   - "relayed": the caller writes worker 1's request without waking it and notifies worker 0,
//     which wakes worker 1 as it wakes (the layer's way).
// Prints ms per round against the ideal (work + 1 ms), the caller's time in its notify calls,
// and how late each worker starts after the caller's first notify.
//
//   node dist/bench/worker-wake.js [--work 4] [--rounds 400] [--repeat 3]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { work: { type: 'string', default: '4' }, rounds: { type: 'string', default: '400' }, repeat: { type: 'string', default: '3' } } });
const WORK = Number(values.work);
const ROUNDS = Number(values.rounds);

// Int32 slots: 0, 1 request numbers; 2, 3 answered; 4, 5 stopped. Float64 at byte 64: 0 the caller's notify time, 1, 2 each worker's summed lateness.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const c = new Int32Array(workerData.sab); const f = new Float64Array(workerData.sab, 64); const i = workerData.i;
parentPort.on('message', () => {});
let seen = 0;
function busy(ms) { const t = performance.now(); let x = 0; while (performance.now() - t < ms) x += Math.sqrt(x + 1); return x; }
(async () => { for (;;) {
  const r = Atomics.waitAsync(c, i, seen); if (r.async) await r.value;
  const s = Atomics.load(c, i); if (s === seen) continue; seen = s;
  if (s < 0) { Atomics.store(c, 4 + i, 1); Atomics.notify(c, 4 + i); return; }
  if (workerData.relay && i === 0) Atomics.notify(c, 1);
  f[1 + i] += performance.timeOrigin + performance.now() - f[0];
  busy(workerData.work);
  Atomics.store(c, 2 + i, s); Atomics.notify(c, 2 + i);
} })();`;

interface Result {
  round: number;
  notify: number;
  late: [number, number];
}

async function measure(relay: boolean): Promise<Result> {
  const sab = new SharedArrayBuffer(128);
  const c = new Int32Array(sab);
  const f = new Float64Array(sab, 64);
  const workers = [0, 1].map((i) => new Worker(WORKER, { eval: true, workerData: { sab, i, work: WORK, relay } }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
  await new Promise((resolve) => setTimeout(resolve, 200));
  let notify = 0;
  const t0 = performance.now();
  for (let s = 1; s <= ROUNDS; s++) {
    const a = performance.now();
    f[0] = performance.timeOrigin + a;
    if (relay) {
      Atomics.store(c, 1, s);
      Atomics.store(c, 0, s);
      Atomics.notify(c, 0);
    } else {
      for (const i of [0, 1]) {
        Atomics.store(c, i, s);
        Atomics.notify(c, i);
      }
    }
    notify += performance.now() - a;
    for (const k of [2, 3]) while (Atomics.load(c, k) !== s) Atomics.wait(c, k, Atomics.load(c, k), 1000);
    const t = performance.now();
    while (performance.now() - t < 1);
  }
  const round = (performance.now() - t0) / ROUNDS;
  for (const i of [0, 1]) {
    Atomics.store(c, i, -1);
    Atomics.notify(c, i);
  }
  for (const k of [4, 5]) while (Atomics.load(c, k) !== 1) Atomics.wait(c, k, 0, 1000);
  await Promise.all(workers.map((w) => w.terminate()));
  return { round, notify: notify / ROUNDS, late: [f[1]! / ROUNDS, f[2]! / ROUNDS] };
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`box: ${cpu} x${cpus().length}, Node ${process.version}; ${ROUNDS} rounds of ${WORK} ms per worker + 1 ms caller (ideal ${(WORK + 1).toFixed(1)} ms a round)`);
console.log('| repeat | way | ms a round | over ideal | caller in notify (us) | worker 0 / 1 late (us) |');
console.log('|---:|---|---:|---:|---:|---:|');
const sums = { plain: 0, relay: 0 };
for (let r = 1; r <= Number(values.repeat); r++) {
  for (const relay of [false, true]) {
    const m = await measure(relay);
    sums[relay ? 'relay' : 'plain'] += m.round;
    console.log(
      `| ${r} | ${relay ? 'relayed' : 'one after the other'} | ${m.round.toFixed(3)} | ${(m.round - WORK - 1).toFixed(3)} | ${(m.notify * 1000).toFixed(0)} | ${(m.late[0] * 1000).toFixed(0)} / ${(m.late[1] * 1000).toFixed(0)} |`,
    );
  }
}
console.log(`relayed / one after the other, ms a round: ${(sums.relay / sums.plain).toFixed(3)}`);
