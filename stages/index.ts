// Registry of the built-in stage kinds. Each kind lives in its own module, imported only when
// a stage that uses it is planned or run, so that `pipeline status` and `--help` start fast.
import type { StageKind } from '../src/stage-api.js';

/** Built-in kind name -> module (relative to this folder). Adding a kind = one file + one line here. */
export const BUILTIN_KINDS = {
  frames: './frames.js',
  labels: './labels.js',
  embed: './embed.js',
  fixlen: './fixlen.js',
  train: './train.js',
  metrics: './metrics.js',
} as const satisfies Record<string, string>;

export type BuiltinKindName = keyof typeof BUILTIN_KINDS;

export function isBuiltinKind(name: string): name is BuiltinKindName {
  return Object.prototype.hasOwnProperty.call(BUILTIN_KINDS, name);
}

const loaded = new Map<string, Promise<StageKind>>();

export function loadKind(name: BuiltinKindName): Promise<StageKind> {
  let p = loaded.get(name);
  if (p === undefined) {
    const spec: string = BUILTIN_KINDS[name];
    p = import(spec).then((m: { default: StageKind }) => {
      if (m.default?.name !== name) throw new Error(`stage kind module ${spec} does not export kind '${name}'`);
      return m.default;
    });
    loaded.set(name, p);
  }
  return p;
}
