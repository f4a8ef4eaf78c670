// Adam whose update is one pass over each weight instead of a dozen tfjs ops.
//
// Why by hand: tfjs' AdamOptimizer.applyGradients runs 14 elementwise ops per weight, each a
// kernel dispatch and a full pass over the weight; for the demo's BiLSTM (about 660,000
// weights) that was 5-8 ms of a 21 ms training step (docs/PERFORMANCE.md). No library offers a
// fused Adam for tfjs' wasm or cpu backends. On wasm the update is a small WebAssembly SIMD
// function (adam.wat, assembled into adam-wasm.ts) that runs on the backend's own heap: it
// reads the weight, both moments and the gradient once and writes the three results once. On
// the cpu backend it is the same loop in JavaScript. (A JavaScript loop on the wasm heap was
// tried first: scalar, it was slower than tfjs' 14 SIMD passes.)
//
// Same bits as tfjs: every operation of tfjs' update is done in float32, in the same order
// (WebAssembly's f32 and f32x4 arithmetic is IEEE, as are the backend kernels; in JavaScript,
// Math.fround after each float64 add, multiply, divide or square root of float32 values gives
// the correctly rounded float32 result), with the float32 scalars tfjs would make. A test
// (test/fused-adam.test.ts) compares weights, moments and accumulated betas byte for byte with
// tf.train.adam on both backends. The class *is* a tf.AdamOptimizer: slots, getWeights,
// setWeights, checkpoints and the learning-rate schedule are tfjs' own. Other backends (native
// TensorFlow) and non-float32 weights take tfjs' own update.
import { adamOn, type AdamUpdate, isUnsharedWasmMemory, type StepAttrs } from './adam-module.js';
import type { CpuBackendLike, TensorInfoLike, WasmBackendLike, WasmMemoryLike } from './backend-internals.js';
import * as tf from './tf.js';

const KERNEL = 'PipelineAdamStep';

type Info = TensorInfoLike;

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** The private state of tf.AdamOptimizer this subclass reads (names as in tfjs-core 4.x). */
interface AdamFields {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
  incrementIterations(): void;
}

export type { StepAttrs } from './adam-module.js';

/** The assembled update, instantiated on the backend's memory (once: growing keeps the object). */
let wasmAdam: { memory: WasmMemoryLike; adam: AdamUpdate } | undefined;

function wasmUpdate(backend: WasmBackendLike): AdamUpdate | null {
  const memory = backend.wasm.asm?.memory;
  // The backend's memory object is internal to tfjs-backend-wasm; without it (another build,
  // a shared memory of the threaded build) tfjs' own update runs.
  if (!isUnsharedWasmMemory(memory)) return null;
  if (wasmAdam?.memory !== memory) wasmAdam = { memory, adam: adamOn(memory) };
  return wasmAdam.adam;
}

const f = Math.fround;

/** adam.wat's update in JavaScript, for the cpu backend. */
function adamPass(w: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, a: StepAttrs, wOut: Float32Array, mOut: Float32Array, vOut: Float32Array): void {
  const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon, negLr } = a;
  for (let i = 0; i < w.length; i++) {
    const gi = g[i]!;
    const m1 = f(f(m[i]! * beta1) + f(gi * oneMinusBeta1));
    const v1 = f(f(v[i]! * beta2) + f(f(gi * gi) * oneMinusBeta2));
    const mHat = f(m1 / oneMinusAccBeta1);
    const vHat = f(v1 / oneMinusAccBeta2);
    const step = f(mHat / f(f(Math.sqrt(vHat)) + epsilon));
    wOut[i] = f(step * negLr) + w[i]!;
    mOut[i] = m1;
    vOut[i] = v1;
  }
}

type KernelArgs = { inputs: Record<string, unknown>; attrs?: Record<string, unknown>; backend: unknown };

function operands(inputs: Record<string, unknown>): Info[] {
  return (['w', 'm', 'v', 'g'] as const).map((k) => inputs[k] as Info);
}

function wasmKernel({ inputs, attrs, backend }: KernelArgs): Info[] {
  const be = backend as WasmBackendLike;
  const ins = operands(inputs);
  const a = attrs as unknown as StepAttrs;
  const outs = [0, 1, 2].map(() => be.makeOutput(ins[0]!.shape, 'float32'));
  // Offsets after every allocation (an allocation may grow the heap; offsets stay valid).
  const [w, m, v, g, wo, mo, vo] = [...ins, ...outs].map((t) => be.dataIdMap.get(t.dataId).memoryOffset);
  const n = ins[0]!.shape.reduce((x, d) => x * d, 1);
  wasmAdam!.adam(w!, m!, v!, g!, wo!, mo!, vo!, n, a);
  return outs;
}

function cpuKernel({ inputs, attrs, backend }: KernelArgs): Info[] {
  const be = backend as CpuBackendLike;
  const [w, m, v, g] = operands(inputs).map((t) => be.data.get(t.dataId).values);
  const shape = (inputs['w'] as Info).shape;
  const outs = [0, 1, 2].map(() => new Float32Array(w!.length));
  adamPass(w!, m!, v!, g!, attrs as unknown as StepAttrs, outs[0]!, outs[1]!, outs[2]!);
  return outs.map((o) => be.makeTensorInfo(shape, 'float32', o));
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: wasmKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: KERNEL, backendName: 'cpu', kernelFunc: cpuKernel as unknown as tf.KernelFunc });
}

/** What Optimizer.applyGradients takes: a map by variable name, or a list of {name, tensor}. */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

/** Whether the current backend takes the fused update (wasm with its heap reachable, or cpu). */
export function fusedUpdateAvailable(): boolean {
  const backend = tf.getBackend();
  return backend === 'cpu' || (backend === 'wasm' && wasmUpdate(tf.backend() as unknown as WasmBackendLike) !== null);
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /**
   * The scalars of the next applyGradients' update: what an update of some of the weights done
   * elsewhere with adam.wat (e.g. by the ONNX Runtime LSTM's direction workers) needs to give
   * this optimizer's bits. Those weights then go to applyGradients with a null gradient (their
   * moments are made, as zeros, and not updated) and their moments are written back with
   * moments() before anything reads them.
   */
  nextStepAttrs(): StepAttrs {
    const self = this as unknown as AdamFields;
    // sub(1, accBeta) in float32, as tfjs computes it.
    const [acc1, acc2] = [self.accBeta1.dataSync()[0]!, self.accBeta2.dataSync()[0]!];
    return {
      beta1: f(self.beta1),
      oneMinusBeta1: f(1 - self.beta1),
      beta2: f(self.beta2),
      oneMinusBeta2: f(1 - self.beta2),
      oneMinusAccBeta1: f(1 - acc1),
      oneMinusAccBeta2: f(1 - acc2),
      epsilon: f(self.epsilon),
      negLr: f(-self.learningRate),
    };
  }

  /**
   * The two moments of the weight at position i of applyGradients' list (the slots tfjs keeps
   * by position: same names, same order, so checkpoints are interchangeable), made as zeros
   * when missing, as applyGradients makes them.
   */
  moments(i: number, name: string, value: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    const self = this as unknown as AdamFields;
    self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
    return { m: self.accumulatedFirstMoment[i]!.variable, v: self.accumulatedSecondMoment[i]!.variable };
  }

  /** Whether slot i exists (moments() would not make it). */
  hasMoments(i: number): boolean {
    return (this as unknown as AdamFields).accumulatedFirstMoment[i] !== undefined;
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (!fusedUpdateAvailable()) return super.applyGradients(variableGradients);
    const list = Array.isArray(variableGradients);
    const names = list ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const variables = names.map((n) => tf.engine().registeredVariables[n]!);
    if (variables.some((v) => v.dtype !== 'float32')) return super.applyGradients(variableGradients);
    register();
    const self = this as unknown as AdamFields;
    tf.tidy(() => {
      const attrs = this.nextStepAttrs();
      names.forEach((name, i) => {
        const value = variables[i]!;
        const { m, v } = this.moments(i, name, value);
        const gradient = list ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const [w1, m1, v1] = tf.engine().runKernel(KERNEL, { w: value, m, v, g: gradient }, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
        m.assign(m1!);
        v.assign(v1!);
        value.assign(w1!);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

/** tf.train.adam(lr, beta1, beta2, epsilon), with the fused update on the wasm and cpu backends. */
/**
 * Whether o is a FusedAdamOptimizer. Not `instanceof`: tfjs' optimizer classes answer that by
 * duck typing (Symbol.hasInstance), so every optimizer would pass.
 */
export function isFusedAdam(o: tf.Optimizer): o is FusedAdamOptimizer {
  return FusedAdamOptimizer.prototype.isPrototypeOf(o);
}

export function fusedAdam(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
