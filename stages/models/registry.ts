// The model registry: `train.model` name -> factory. Adding a model means adding one file to
// this folder, named after the model in kebab-case (`bilstm_maxpool` -> bilstm-maxpool.ts),
// whose default export is a ModelFactory ({kind: 'genre-model', name, summary, build}), and
// one line to MODELS below. A static list, not a folder scan: every import is visible to the
// compiler and to the stage's code identity (src/code-identity.ts).
import { didYouMean } from '../../src/diagnostics.js';
import { UserError } from '../../src/errors.js';
import type { ModelFactory } from './contract.js';
import bilstmMaxpool from './bilstm-maxpool.js';
import bilstmMeanmax from './bilstm-meanmax.js';
import gru from './gru.js';
import meanMlp from './mean-mlp.js';
import reference from './reference.js';
import transformer from './transformer.js';

/** Every model, in name order (the order `choose one of ...` lists them in). */
const MODELS: readonly ModelFactory[] = [bilstmMaxpool, bilstmMeanmax, gru, meanMlp, reference, transformer];

const registry: ReadonlyMap<string, ModelFactory> = (() => {
  const out = new Map<string, ModelFactory>();
  for (const f of [...MODELS].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (f.kind !== 'genre-model' || out.has(f.name)) throw new Error(`registry.ts: model '${f.name}' is not a genre-model factory, or listed twice`);
    out.set(f.name, f);
  }
  return out;
})();

/** Every registered model, by name. */
export function loadModelRegistry(): Promise<ReadonlyMap<string, ModelFactory>> {
  return Promise.resolve(registry);
}

/** The factory of a model name, or a UserError listing the registered ones. */
export async function getModelFactory(name: string): Promise<ModelFactory> {
  const f = registry.get(name);
  if (f !== undefined) return f;
  const names = [...registry.keys()];
  const hint = didYouMean(name, names);
  throw new UserError(
    `train.model: unknown model '${name}'${hint === undefined ? '' : ` (did you mean '${hint}'?)`}`,
    `choose one of ${names.join(', ')}`,
  );
}
