// Checks an ONNX image tower against reference embeddings of the fixture images: is this the
// CLIP ViT-B/32 the reference project used? docs/EMBED.md ("Check the model") shows how to make
// the reference file with OpenAI's `clip` package.
//
//   node dist/bench/embed-verify.js --model models/clip-vit-base-patch32-vision.onnx \
//       --reference clip-reference.npy [--images test/fixtures/clip] [--min-cosine 0.999]
//
// It embeds each image listed in <images>/index.json exactly as the embed stage does (sharp
// preprocessing, onnxruntime on CPU) and prints the cosine similarity with the reference row.
// Exit status 0 when every cosine reaches --min-cosine, 1 otherwise.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readNpyF32 } from '../src/npy.js';
import { isUserFacing } from '../src/errors.js';
import { OnnxEncoder } from '../stages/clip/onnx-encoder.js';
import { CLIP_PIXELS } from '../stages/clip/preprocess.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) {
    process.stderr.write(`missing --${name}\nusage: node dist/bench/embed-verify.js --model FILE.onnx --reference REF.npy [--images DIR] [--min-cosine 0.999]\n`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<number> {
  const model = resolve(arg('model'));
  const ref = readNpyF32(resolve(arg('reference')), 2);
  const images = resolve(arg('images', 'test/fixtures/clip'));
  const minCos = Number(arg('min-cosine', '0.999'));
  const names = (JSON.parse(readFileSync(join(images, 'index.json'), 'utf8')) as { images: string[] }).images;
  const [rows, dim] = ref.shape as [number, number];
  if (rows !== names.length) throw new Error(`reference has ${rows} rows, ${join(images, 'index.json')} lists ${names.length} images`);
  const enc = await OnnxEncoder.open({ modelPath: model, provider: 'cpu', threads: 0, batchSize: names.length });
  try {
    if (enc.dim !== dim) throw new Error(`the model's embeddings have width ${enc.dim}, the reference's ${dim}`);
    const batch = new Float32Array(enc.maxBatch * CLIP_PIXELS);
    for (let i = 0; i < names.length; i++) await enc.prepare(join(images, names[i]!), batch.subarray(i * CLIP_PIXELS, (i + 1) * CLIP_PIXELS));
    const { embeddings } = await enc.infer(batch, names.length);
    let ok = true;
    names.forEach((name, i) => {
      let ab = 0, aa = 0, bb = 0;
      for (let j = 0; j < dim; j++) {
        const a = embeddings[i * dim + j]!, b = ref.data[i * dim + j]!;
        ab += a * b;
        aa += a * a;
        bb += b * b;
      }
      const cos = ab / Math.sqrt(aa * bb);
      const ratio = Math.sqrt(aa / bb);
      if (!(cos >= minCos)) ok = false;
      process.stdout.write(`${name}: cosine ${cos.toFixed(6)}, norm ratio ${ratio.toFixed(4)} ${cos >= minCos ? 'ok' : 'MISMATCH'}\n`);
    });
    process.stdout.write(ok ? 'the model matches the reference\n' : `some images are below cosine ${minCos}: not the reference model (or not its preprocessing)\n`);
    return ok ? 0 : 1;
  } finally {
    await enc.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${isUserFacing(e) ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(2);
  },
);
