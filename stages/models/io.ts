// Saving and loading tfjs layers models as files (model.json + weights.bin), without
// @tensorflow/tfjs-node: plain tfjs (tfjs-core) has no file:// handler in Node, so this is a
// small IOHandler over the file system. The layout is tfjs's own (the one tfjs-node's file://
// handler and the Python tensorflowjs converter write), so with tfjs-node installed the same
// folder also loads with tf.loadLayersModel('file://DIR/model.json').
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '../nn/tf.js';
import type { ModelFiles } from './contract.js';

export const WEIGHTS_FILE = 'weights.bin';
export const TOPOLOGY_FILE = 'model.json';

/** Model artifacts (what LayersModel.save hands a handler) -> the two files. */
export function artifactsToFiles(a: tf.io.ModelArtifacts): ModelFiles {
  if (a.modelTopology === undefined || a.weightSpecs === undefined || a.weightData === undefined) {
    throw new Error('model artifacts without topology or weights');
  }
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData));
  const modelJson: tf.io.ModelJSON = {
    modelTopology: a.modelTopology,
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
    convertedBy: a.convertedBy ?? null,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs }],
  };
  return { [TOPOLOGY_FILE]: Buffer.from(JSON.stringify(modelJson)), [WEIGHTS_FILE]: weights };
}

/** The files of a model, as LayersModel.save produces them. */
export async function modelToFiles(model: tf.LayersModel): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      files = artifactsToFiles(a);
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (files === undefined) throw new Error('model.save did not call the save handler');
  return files;
}

/**
 * A load handler reading model.json and the weight files it lists through `read`, which takes
 * a path relative to the model's folder.
 */
export function readHandler(read: (relPath: string) => Uint8Array, where = 'model'): tf.io.IOHandler {
  return {
    load: async () => {
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(Buffer.from(read(TOPOLOGY_FILE)).toString('utf8')) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`${where}/${TOPOLOGY_FILE}: cannot read the model topology: ${(e as Error).message}`);
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const parts: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            const bytes = read(p);
            parts.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
          specs.push(...group.weights);
        }
        return [specs, tf.io.CompositeArrayBuffer.join(parts)];
      });
    },
  };
}

/**
 * tf.loadLayersModel(directoryHandler(dir)) loads a model folder; model.save(directoryHandler(dir))
 * writes one. Each file is written under a temporary name and renamed, so a reader never sees a
 * half-written file.
 */
export function directoryHandler(dir: string): tf.io.IOHandler {
  return {
    ...readHandler((rel) => readFileSync(join(dir, rel)), dir),
    save: async (a) => {
      writeModelFiles(dir, artifactsToFiles(a));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  };
}

/** Writes files into a folder, each through a temporary name and a rename. */
export function writeModelFiles(dir: string, files: ModelFiles): void {
  mkdirSync(dir, { recursive: true });
  // Weights before topology: a reader that finds model.json then finds its weights.
  const names = Object.keys(files).sort((a, b) => Number(a === TOPOLOGY_FILE) - Number(b === TOPOLOGY_FILE));
  for (const name of names) {
    const tmp = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, files[name]!);
    renameSync(tmp, join(dir, name));
  }
}
