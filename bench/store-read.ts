// What checking an object's hash on every read costs: LocalStore.read (read + XXH3 + compare)
// against a plain readFile of the same objects, in the same run (page-cached).
//
//   node dist/bench/store-read.js [--mib 2] [--objects 500]
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalStore } from '../src/store.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '2' }, objects: { type: 'string', default: '500' } } });
const size = Number(values.mib) * 2 ** 20;
const n = Number(values.objects);
const dir = mkdtempSync(join(tmpdir(), 'bench-store-read-'));
const store = new LocalStore(dir);
const hashes: string[] = [];
for (let i = 0; i < n; i++) hashes.push(store.putSync(randomBytes(size)));
const time = async (fn: (h: string) => Promise<Buffer>): Promise<number> => {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (const h of hashes) await fn(h);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
};
const plain = await time((h) => readFile(store.path(h)));
const checked = await time((h) => store.read(h));
const gb = (n * size) / 1e9;
console.log(`${n} objects of ${values.mib} MiB, page-cached, best of 3 (${cpus()[0]?.model} x${cpus().length})`);
console.log('| read | seconds | GB/s | vs plain |');
console.log('|---|---:|---:|---:|');
console.log(`| readFile (baseline) | ${plain.toFixed(3)} | ${(gb / plain).toFixed(2)} | 1.00 |`);
console.log(`| LocalStore.read, hash checked | ${checked.toFixed(3)} | ${(gb / checked).toFixed(2)} | ${(checked / plain).toFixed(2)} |`);
rmSync(dir, { recursive: true, force: true });
