// The model registry: `train.model` name -> factory. Adding a model means adding one file to
// this folder, named after the model in kebab-case (`bilstm_maxpool` -> bilstm-maxpool.ts),
// whose default export is a ModelFactory ({kind: 'genre-model', name, summary, build}).
// The folder is scanned once per process; modules without such a default export (this file,
// api.ts, io.ts, ...) are skipped.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { didYouMean } from '../../src/diagnostics.js';
import { UserError } from '../../src/errors.js';
import type { ModelFactory } from './api.js';

let registry: Promise<ReadonlyMap<string, ModelFactory>> | undefined;

function isModelFactory(x: unknown): x is ModelFactory {
  const f = x as Partial<ModelFactory> | undefined;
  return f?.kind === 'genre-model' && typeof f.name === 'string' && typeof f.build === 'function';
}

async function scan(): Promise<ReadonlyMap<string, ModelFactory>> {
  const here = dirname(fileURLToPath(import.meta.url));
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.js'))
    .sort();
  const out = new Map<string, ModelFactory>();
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { default?: unknown };
    if (!isModelFactory(mod.default)) continue;
    const f = mod.default;
    const expected = basename(file, '.js').replace(/-/g, '_');
    if (f.name !== expected) throw new Error(`model module ${file} registers '${f.name}': name it ${f.name.replace(/_/g, '-')}.ts`);
    out.set(f.name, f);
  }
  return out;
}

/** Every registered model, by name (imports each model module once). */
export function loadModelRegistry(): Promise<ReadonlyMap<string, ModelFactory>> {
  registry ??= scan();
  return registry;
}

/** The factory of a model name, or a UserError listing the registered ones. */
export async function getModelFactory(name: string): Promise<ModelFactory> {
  const all = await loadModelRegistry();
  const f = all.get(name);
  if (f !== undefined) return f;
  const names = [...all.keys()];
  const hint = didYouMean(name, names);
  throw new UserError(
    `train.model: unknown model '${name}'${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`,
    `choose one of ${names.join(', ')}`,
  );
}
