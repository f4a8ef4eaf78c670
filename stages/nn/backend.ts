// The tfjs backend that training and prediction run on (`train.backend`).
//
// The native TensorFlow bindings (@tensorflow/tfjs-node, @tensorflow/tfjs-node-gpu) download
// libtensorflow when they are installed, which fails offline, so they are optional: they are
// looked up at run time and imported only when present. Without them `auto` falls back to the
// WebAssembly backend, which ships inside its npm package and needs no download.
//
// Two steps: `resolveBackend` only looks at what is installed (cheap, no import: it runs during
// `pipeline status` through the train kind's env()), `activateBackend` imports the package and
// makes it tfjs's current backend.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../../src/errors.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** What `auto` and the explicit choices resolve to: the tfjs backend that computes. */
export type BackendName = Exclude<BackendChoice, 'auto'>;

export interface ResolvedBackend {
  name: BackendName;
  /** npm package that provides it. */
  package: string;
  /** Its installed version. */
  version: string;
  /** The tfjs version the models are built with. */
  tfjs: string;
  /**
   * wasm only: whether the SIMD build runs. The SIMD and scalar builds use different matrix
   * kernels, so their results differ in the last bits: part of the fingerprint.
   */
  simd?: boolean;
}

const PACKAGES: Record<BackendName, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const require = createRequire(import.meta.url);

/** Directory of an installed package, or undefined when it is not installed. */
function packageDir(pkg: string): string | undefined {
  try {
    // The main entry always resolves (package.json may be hidden by an "exports" map); its
    // package root is the folder above `dist/` or the folder itself.
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 4; i++) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
        if (manifest.name === pkg) return dir;
      } catch {
        // not the package root yet
      }
      dir = dirname(dir);
    }
    return undefined;
  } catch {
    return undefined;
  }
}

function packageVersion(pkg: string): string | undefined {
  const dir = packageDir(pkg);
  if (dir === undefined) return undefined;
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The installed onnxruntime-node version (train.rnn onnx runs the LSTM's training steps in it), without loading it. */
export function onnxRuntimeVersion(): string {
  const v = packageVersion('onnxruntime-node');
  if (v === undefined) throw new UserError('train.rnn onnx: onnxruntime-node is not installed', 'run `npm ci`, or set train.rnn to fast');
  return v;
}

/** True when this runtime can run WebAssembly SIMD (the same probe tfjs-backend-wasm makes). */
export function wasmSimdSupported(): boolean {
  // lib.dom is not in this project's types, so WebAssembly is reached through globalThis.
  const wasm = (globalThis as unknown as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
  if (wasm === undefined) return false;
  try {
    return wasm.validate(
      new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]),
    );
  } catch {
    return false;
  }
}

function installHint(pkg: string, tfjs: string): string {
  return (
    `install it with \`npm install ${pkg}@${tfjs}\` (its install step downloads libtensorflow, so it needs ` +
    `internet access; keep the version equal to @tensorflow/tfjs-core ${tfjs}), or set train.backend to auto or wasm`
  );
}

/** Decides which backend a choice means on this machine, without importing anything. */
export function resolveBackend(choice: string): ResolvedBackend {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new UserError(
      `train.backend: unknown backend '${choice}'`,
      `choose one of ${BACKEND_CHOICES.join(', ')}`,
    );
  }
  const tfjs = packageVersion('@tensorflow/tfjs-core') ?? 'unknown';
  const make = (name: BackendName): ResolvedBackend | undefined => {
    const version = packageVersion(PACKAGES[name]);
    if (version === undefined) return undefined;
    return { name, package: PACKAGES[name], version, tfjs, ...(name === 'wasm' ? { simd: wasmSimdSupported() } : {}) };
  };
  if (choice === 'auto') {
    const found = make('tensorflow-gpu') ?? make('tensorflow') ?? make('wasm');
    if (found === undefined) {
      throw new UserError('train.backend auto: no tfjs backend package is installed', 'run `npm ci` to install @tensorflow/tfjs-backend-wasm');
    }
    return found;
  }
  const name = choice as BackendName;
  const found = make(name);
  if (found === undefined) {
    throw new UserError(`train.backend ${name}: ${PACKAGES[name]} is not installed`, installHint(PACKAGES[name], tfjs));
  }
  return found;
}

/** Facts about the backend that change results: they go into the train stage's fingerprint. */
export function backendEnv(b: ResolvedBackend): Record<string, string> {
  return {
    tfjs: b.tfjs,
    backend: b.name,
    [b.package]: b.version,
    ...(b.simd === undefined ? {} : { 'wasm.simd': String(b.simd) }),
  };
}

let active: Promise<ResolvedBackend> | undefined;
let activeName: BackendName | undefined;

/**
 * Imports the backend's package and makes it the current tfjs backend. Idempotent; switching
 * to another backend later in the same process works too (tests use it).
 */
export async function activateBackend(b: ResolvedBackend): Promise<ResolvedBackend> {
  if (active !== undefined && activeName === b.name) return active;
  activeName = b.name;
  active = (async () => {
    const tf = await import('./tf.js');
    let tfName: string;
    switch (b.name) {
      case 'tensorflow-gpu':
      case 'tensorflow': {
        // A variable specifier keeps TypeScript (and bundlers) from requiring the optional package.
        const spec: string = b.package;
        try {
          await import(spec);
        } catch (e) {
          throw new UserError(
            `train.backend ${b.name}: ${b.package} is installed but failed to load: ${(e as Error).message}`,
            installHint(b.package, b.tfjs),
          );
        }
        tfName = 'tensorflow';
        break;
      }
      case 'wasm':
        // Importing the package registers the 'wasm' backend; in Node it runs single-threaded
        // (tfjs-backend-wasm does not start worker threads there), which also keeps results
        // deterministic.
        // By require(): an ES import of the CommonJS package makes Node scan its source first (tf.ts).
        createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
        tfName = 'wasm';
        break;
      case 'cpu':
        tfName = 'cpu';
        break;
    }
    const ok = await tf.setBackend(tfName);
    if (!ok) throw new UserError(`train.backend ${b.name}: tfjs could not initialise the '${tfName}' backend`, 'try train.backend: cpu');
    await tf.ready();
    // Same values as tfjs' own gradients, faster on wasm (stages/nn/fast-gradients.ts).
    (await import('./fast-gradients.js')).registerFastGradients();
    return b;
  })();
  try {
    return await active;
  } catch (e) {
    active = undefined;
    activeName = undefined;
    throw e;
  }
}
