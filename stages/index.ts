// The built-in stage kinds. Each kind lives in its own module, imported only when a stage that
// uses it is planned or run, so that `pipeline status` and `--help` start fast. The shape of
// each kind (map or reduce, reads a source or maps its first dependency), its ports and its
// parameter schema are repeated here so that pipeline.yaml can be validated without importing
// any kind; loadKind checks that the module agrees. Adding a kind = one file + one line here.
import { loadKind, registerKind, type KindInfo } from '../src/registry.js';
import type { StageKind } from '../src/stage-api.js';
import { KIND_OUTPUTS, KIND_PORTS } from './ports.js';
import { EMBED_PARAMS } from './embed/params.js';
import { FIXLEN_PARAMS } from './fixlen/params.js';
import { FRAMES_PARAMS } from './frames/params.js';
import { LABELS_PARAMS } from './labels/params.js';
import { METRICS_PARAMS } from './metrics/params.js';
import { TRAIN_PARAMS } from './train/params.js';

const load = (module: () => Promise<{ default: StageKind }>) => () => module().then((m) => m.default);

/** Kind name -> its registration, in the order `uses:` lists them (schema, messages). */
export const BUILTIN_KINDS = {
  frames: { type: 'map', source: true, itemNoun: 'movie', outputContract: KIND_OUTPUTS.frames, params: FRAMES_PARAMS, load: load(() => import('./frames.js')) },
  labels: { type: 'reduce', source: false, itemNoun: 'movie', ports: KIND_PORTS.labels, outputContract: KIND_OUTPUTS.labels, params: LABELS_PARAMS, load: load(() => import('./labels.js')) },
  embed: { type: 'map', source: false, itemNoun: 'movie', ports: KIND_PORTS.embed, outputContract: KIND_OUTPUTS.embed, params: EMBED_PARAMS, load: load(() => import('./embed.js')) },
  fixlen: { type: 'map', source: false, itemNoun: 'movie', ports: KIND_PORTS.fixlen, outputContract: KIND_OUTPUTS.fixlen, params: FIXLEN_PARAMS, load: load(() => import('./fixlen.js')) },
  train: { type: 'reduce', source: false, itemNoun: 'movie', provides: ['model'], ports: KIND_PORTS.train, outputContract: KIND_OUTPUTS.train, params: TRAIN_PARAMS, load: load(() => import('./train.js')) },
  metrics: { type: 'reduce', source: false, itemNoun: 'movie', evaluator: { scores: 'model', splitParam: 'metrics.split' }, ports: KIND_PORTS.metrics, outputContract: KIND_OUTPUTS.metrics, params: METRICS_PARAMS, load: load(() => import('./metrics.js')) },
} as const satisfies Record<string, KindInfo>;

export type BuiltinKindName = keyof typeof BUILTIN_KINDS;

export function registerBuiltinKinds(): void {
  for (const [name, info] of Object.entries(BUILTIN_KINDS)) registerKind(name, info);
}

// The engine's import until it reads kinds from src/registry.ts itself.
export { loadKind };
