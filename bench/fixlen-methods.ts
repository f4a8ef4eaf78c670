// Speed of the fixed-length methods on MovieNet-sized movies, against the cost of decoding the
// movie's .npy (which every method pays): a ratio near or below 1 means the method is not the
// bottleneck of the fixlen stage. Ratios are measured within one run, so they hold on a noisy
// machine; absolute times are printed too.
//
// Run: npx tsc -p tsconfig.json && node dist/bench/fixlen-methods.js [--frames 3000] [--length 256] [--reps 20]
import { parseArgs } from 'node:util';
import { decodeNpy, encodeNpy } from '../src/npy.js';
import { FIXLEN_METHODS, fixLength, windowRng } from '../stages/fixlen/methods.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '3000' },
    length: { type: 'string', default: '256' },
    dim: { type: 'string', default: '512' },
    reps: { type: 'string', default: '20' },
  },
});
const L = Number(values.length);
const D = Number(values.dim);
const reps = Number(values.reps);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void): number {
  const times: number[] = [];
  fn(); // warm-up (JIT)
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

for (const N of [Number(values.frames), Math.max(1, Math.floor(L / 2))]) {
  const data = new Float32Array(N * D);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37);
  const bytes = encodeNpy(data, [N, D]);
  const decode = time(() => void decodeNpy(bytes));
  const encode = time(() => void encodeNpy(new Float32Array(L * D), [L, D]));
  console.log(`\nN=${N} frames -> L=${L}, D=${D} (median of ${reps}; ratio = method / decoding the input .npy)`);
  console.log(`  decode input .npy   ${decode.toFixed(3).padStart(8)} ms   1.00`);
  console.log(`  encode output .npy  ${encode.toFixed(3).padStart(8)} ms   ${(encode / decode).toFixed(2)}`);
  const f = { data, n: N, d: D };
  for (const method of FIXLEN_METHODS) {
    const t = time(() => void fixLength(f, L, method, windowRng(0, 'tt0120338')));
    console.log(`  ${method.padEnd(18)}  ${t.toFixed(3).padStart(8)} ms   ${(t / decode).toFixed(2)}`);
  }
}
