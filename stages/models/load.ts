// Loading a saved tfjs genre model back (what api.ts's loadGenreModel calls, importing this
// module only then): the model's factory, found in the registry, rebuilds the network, which
// gets the saved weights. Apart from tf-model.ts because the registry imports every model
// module, and each of those imports tf-model.ts.
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '../nn/tf.js';
import { UserError } from '../../src/errors.js';
import type { GenreModelInfo, LoadedGenreModel, ModelShape, NamedArray } from './contract.js';
import { TOPOLOGY_FILE, readHandler } from './io.js';
import { getModelFactory } from './registry.js';
import { PROJECT_TOPOLOGY } from './stock-copy.js';

/**
 * Loads a model saved by a TfGenreModel; `resolve` maps a file of the model folder to a path.
 * The network is rebuilt by the model's factory from genre-model.json's params (FastRecurrent
 * and the project's LayerNorm: the fast layers training used) and given the saved weights in
 * order; model.json's own classes (stock ones since train version 3, the project's before)
 * only have to agree on the weights' shapes, so both load, to the same predictions as before.
 */
export async function loadTfGenreModel(info: GenreModelInfo, resolve: (relPath: string) => string): Promise<LoadedGenreModel> {
  const factory = await getModelFactory(info.model);
  const shape: ModelShape = { length: info.inputLength, width: info.inputWidth, genres: info.genres.length };
  let weights: NamedArray[];
  try {
    // A model whose stock copy has other weights (the transformer's) keeps its own format beside it.
    let own = false;
    try {
      own = existsSync(resolve(PROJECT_TOPOLOGY));
    } catch {
      // a tree without that file
    }
    const read = (rel: string): Buffer => readFileSync(resolve(own && rel === TOPOLOGY_FILE ? PROJECT_TOPOLOGY : rel));
    const artifacts = await readHandler(read, info.model).load!();
    if (artifacts.weightSpecs === undefined || artifacts.weightData === undefined) throw new Error('model.json lists no weights');
    const tensors = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
    weights = artifacts.weightSpecs.map((s) => {
      const t = tensors[s.name]!;
      const w = { name: s.name, shape: [...t.shape], data: new Float32Array(t.dataSync()) };
      t.dispose();
      return w;
    });
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot load the ${info.model} model: ${(e as Error).message}`, 'point at a model folder written by the train stage, or retrain');
  }
  const model = factory.build({ shape, params: info.params, loss: info.loss, lr: 0.001, seed: 0 });
  try {
    await model.setState({ weights });
  } catch (e) {
    await model.dispose();
    throw new UserError(`cannot load the ${info.model} model: ${(e as Error).message}`, 'point at a model folder written by the train stage, or retrain');
  }
  return {
    name: info.model,
    shape,
    info,
    genres: info.genres,
    predict: (x, n) => model.predict(x, n),
    dispose: () => void model.dispose(),
  };
}
