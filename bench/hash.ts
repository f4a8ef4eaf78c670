// Hashing a large page-cached file: the project's file hasher (XXH3-64, streaming, through
// @node-rs/xxhash) beside `xxhsum -H2` (XXH128, Debian package xxhash) and `md5sum`, in the same
// run, on the same file; and xxhash-wasm's streaming h64 (a dev dependency), the other
// candidate library.
//
//   node dist/bench/hash.js [--mib 1024] [--repeat 3]
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashFileSync } from '../src/hash.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, repeat: { type: 'string', default: '5' } } });
const mib = Number(values.mib);
const repeat = Number(values.repeat);
const file = join(tmpdir(), `pipeline-bench-hash-${process.pid}.bin`);

// Incompressible-looking content, written once; reading it back fills the page cache.
const fd = openSync(file, 'w');
const chunk = Buffer.alloc(1 << 20);
let x = 0x9e3779b9;
for (let i = 0; i < mib; i++) {
  for (let j = 0; j < chunk.length; j += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    chunk.writeUInt32LE(x >>> 0, j);
  }
  writeSync(fd, chunk);
}
closeSync(fd);
const warm = Buffer.alloc(1 << 20);
const rfd = openSync(file, 'r');
while (readSync(rfd, warm, 0, warm.length, null) > 0);
closeSync(rfd);

const bytes = mib * (1 << 20);
const gbps = (secs: number): number => bytes / secs / 1e9;

function median(f: () => number): number {
  const t = Array.from({ length: repeat }, f).sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

function external(cmd: string, args: string[]): number | undefined {
  const probe = spawnSync(cmd, ['--version']);
  if (probe.error) return undefined;
  return median(() => {
    const t0 = performance.now();
    const r = spawnSync(cmd, [...args, file], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`${cmd} failed`);
    return (performance.now() - t0) / 1000;
  });
}

const rows: Array<[string, number | undefined]> = [];
rows.push([
  'pipeline (XXH3-64, @node-rs/xxhash, streaming 256 KiB reads)',
  median(() => {
    const t0 = performance.now();
    hashFileSync(file);
    return (performance.now() - t0) / 1000;
  }),
]);
{
  const { default: init } = await import('xxhash-wasm');
  const w = await init();
  rows.push([
    'xxhash-wasm h64, streaming 256 KiB reads',
    median(() => {
      const t0 = performance.now();
      const h = w.create64();
      const buf = Buffer.allocUnsafe(256 << 10);
      const f = openSync(file, 'r');
      let n: number;
      while ((n = readSync(f, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
      closeSync(f);
      h.digest();
      return (performance.now() - t0) / 1000;
    }),
  ]);
}
rows.push(['xxhsum -H2 (XXH128)', external('xxhsum', ['-H2'])]);
rows.push(['md5sum', external('md5sum', [])]);
rmSync(file, { force: true });

const ref = rows.find((r) => r[0].startsWith('xxhsum'))?.[1];
console.log(`hashing a ${mib} MiB page-cached file, median of ${repeat}`);
console.log('| hasher | seconds | GB/s | vs xxhsum -H2 |');
console.log('|---|---|---|---|');
for (const [name, secs] of rows) {
  if (secs === undefined) {
    console.log(`| ${name} | not installed | | |`);
    continue;
  }
  console.log(`| ${name} | ${secs.toFixed(3)} | ${gbps(secs).toFixed(2)} | ${ref ? `${(ref / secs).toFixed(2)}x` : 'n/a'} |`);
}
