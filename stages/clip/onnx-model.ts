// What the embed stage knows about its ONNX model without loading onnxruntime or sharp: the
// providers, the model file check and the runtime's version. Kept apart from onnx-encoder.ts so
// that `pipeline status` (which imports every kind and asks for its inputs and env) stays fast.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { UserError } from '../../src/errors.js';

export const PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(x: unknown): x is Provider {
  return typeof x === 'string' && (PROVIDERS as readonly string[]).includes(x);
}

/** Version of the installed onnxruntime-node, without loading its native library. */
export function onnxRuntimeVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}

/** A missing or unreadable model file is the user's to fix: say which key and where to read how. */
export function checkModelFile(path: string, configured: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new UserError(
      `embed.model: no model file at ${configured}${configured === path ? '' : ` (${path})`}`,
      'set embed.model to the ONNX export of CLIP ViT-B/32\'s vision model (docs/EMBED.md says how to get it), or use embed.encoder: builtin',
    );
  }
}
