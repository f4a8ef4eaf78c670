// The typed ports of the built-in kinds: what each kind reads (port name -> artifact and
// contract) and the contract of what it writes. Static data importing nothing, so that
// pipeline.yaml is checked against it without importing any kind: stages/index.ts puts these
// very objects in the kinds' registrations, and each kind module declares the same objects
// (loadKind checks that they agree).
//
// A contract names one artifact type and the module that reads and writes it:
//   frames      collection: <id>.json frame list per movie            stages/data/frame-list.ts
//   labels      tree: ids, labels, genres, split, counts (JSON)       stages/data/labels-files.ts
//   embeddings  collection: <id>.npy float32 [N,D] per movie          stages/data/features.ts
//   features    collection: <id>.npy float32 [L,F] per movie (same L) stages/data/features.ts
//   model       tree: model/... (tfjs layers), history.json, baseline/ stages/models/api.ts
//   metrics     tree: metrics.json, predictions.npy, plots, ...       stages/report/metrics-json.ts
// docs/ARCHITECTURE.md ("Ports") has the table of every kind's ports.
import type { PortSpec } from '../src/stage-api.js';

export type Contract = 'frames' | 'labels' | 'embeddings' | 'features' | 'model' | 'metrics';

/** Each contract's artifact type and a description, for docs and load-time errors. */
export const CONTRACTS = {
  frames: { artifact: 'collection', doc: 'a frame list per movie (<id>.json)' },
  labels: { artifact: 'tree', doc: 'the labels files (ids.json, labels.json, genres.json, split.json)' },
  embeddings: { artifact: 'collection', doc: 'float32 [N,D] embeddings per movie (<id>.npy)' },
  features: { artifact: 'collection', doc: 'float32 [L,F] features per movie (<id>.npy, the same [L,F] for every movie)' },
  model: { artifact: 'tree', doc: 'a trained genre model (model/model.json, optionally baseline/ and history.json)' },
  metrics: { artifact: 'tree', doc: 'a metrics report (metrics.json, predictions.npy, plots)' },
} as const satisfies Record<Contract, { artifact: 'collection' | 'tree'; doc: string }>;

/** A port of a contract: its artifact type is the contract's. */
export interface ContractPort<C extends Contract> extends PortSpec {
  readonly artifact: (typeof CONTRACTS)[C]['artifact'];
  readonly contract: C;
}

const port = <C extends Contract>(contract: C, doc: string, extra: { items?: true } = {}): ContractPort<C> => ({ artifact: CONTRACTS[contract].artifact, contract, doc, ...extra });

/** Built-in kind -> its ports, in the order a message lists them. */
export const KIND_PORTS = {
  frames: {},
  labels: { frames: port('frames', 'the movies to label, those with frames') },
  embed: { frames: port('frames', 'the frame lists it embeds, movie by movie', { items: true }) },
  fixlen: { embeddings: port('embeddings', 'the [N,D] embeddings it brings to a fixed length, movie by movie', { items: true }) },
  train: {
    features: port('features', 'the [L,F] features it trains on'),
    labels: port('labels', 'genres, one-hot labels and the train/val split'),
  },
  metrics: {
    model: port('model', 'the trained model (and baseline) it scores'),
    features: port('features', 'the [L,F] features of the movies it scores'),
    labels: port('labels', 'the genres, targets and split it scores against'),
  },
} as const satisfies Record<string, Readonly<Record<string, PortSpec>>>;

/** Built-in kind -> the contract of what it writes. */
export const KIND_OUTPUTS = {
  frames: 'frames',
  labels: 'labels',
  embed: 'embeddings',
  fixlen: 'features',
  train: 'model',
  metrics: 'metrics',
} as const satisfies Record<keyof typeof KIND_PORTS, Contract>;
