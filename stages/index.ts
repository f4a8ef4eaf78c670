// Registry of the built-in stage kinds. Each kind lives in its own module, imported only when
// a stage that uses it is planned or run, so that `pipeline status` and `--help` start fast.
// The shape of each kind (map or reduce, reads a source or maps its first dependency) is
// repeated here so that pipeline.yaml can be validated without importing any kind.
import type { StageKind } from '../src/stage-api.js';

export interface KindInfo {
  module: string;
  type: 'map' | 'reduce';
  /** For map kinds: true when the kind lists its own items (listItems) instead of mapping its first dependency. */
  source: boolean;
}

/** Built-in kind name -> module (relative to this folder). Adding a kind = one file + one line here. */
export const BUILTIN_KINDS = {
  frames: { module: './frames.js', type: 'map', source: true },
  labels: { module: './labels.js', type: 'reduce', source: false },
  embed: { module: './embed.js', type: 'map', source: false },
  fixlen: { module: './fixlen.js', type: 'map', source: false },
  train: { module: './train.js', type: 'reduce', source: false },
  metrics: { module: './metrics.js', type: 'reduce', source: false },
} as const satisfies Record<string, KindInfo>;

export type BuiltinKindName = keyof typeof BUILTIN_KINDS;

export function isBuiltinKind(name: string): name is BuiltinKindName {
  return Object.prototype.hasOwnProperty.call(BUILTIN_KINDS, name);
}

const loaded = new Map<string, Promise<StageKind>>();

export function loadKind(name: BuiltinKindName): Promise<StageKind> {
  let p = loaded.get(name);
  if (p === undefined) {
    const info: KindInfo = BUILTIN_KINDS[name];
    p = import(info.module).then((m: { default: StageKind }) => {
      const kind = m.default;
      if (kind?.name !== name) throw new Error(`stage kind module ${info.module} does not export kind '${name}'`);
      if (kind.type !== info.type || (kind.type === 'map' && (kind.listItems !== undefined) !== info.source)) {
        throw new Error(`stage kind '${name}' does not match its registry entry (type/source)`);
      }
      return kind;
    });
    loaded.set(name, p);
  }
  return p;
}
