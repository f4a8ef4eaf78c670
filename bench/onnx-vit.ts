// Writes an ONNX model with the architecture of CLIP ViT-B/32's image tower and random weights
// (fixtures-lib/onnx-vit.ts builds it), e.g. for the embed throughput bench or to try
// `embed.encoder: onnx` without downloading a model.
//
//   node dist/bench/onnx-vit.js [--out FILE] [--dtype float32|float16] [--seed N]
import { type VitConfig, writeVitOnnx } from '../fixtures-lib/onnx-vit.js';

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const [k, v] = a.slice(2).split('=', 2) as [string, string | undefined];
    out[k] = v ?? argv[++i] ?? '';
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const dtype = (args.dtype ?? 'float32') as VitConfig['dtype'];
const out = args.out ?? `vit-b32-${dtype}.onnx`;
const t0 = performance.now();
const r = writeVitOnnx(out, { dtype, seed: Number(args.seed ?? 0) });
console.log(`${out}: ${(r.parameters / 1e6).toFixed(1)} M parameters, ${(r.bytes / 1e6).toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
