// One direction of a bidirectional ONNX Runtime LSTM, on a worker thread (see onnx-lstm.ts):
// onnxruntime-node's session.run computes on the calling thread, so two directions at the same
// time need two threads. Each direction has its own worker, which owns that direction's two
// sessions and keeps the forward's saved tensors (and its input and weights) until the backward
// of the same step, so only the layer's input, the direction's weights and its share of the
// output and of the gradients cross between threads, all of them through shared memory the
// caller keeps from step to step.
//
// Why both directions run on workers and the results come back through shared memory:
// onnxruntime-node returns every output in a fresh ArrayBuffer (preallocated outputs are
// written, then copied out anyway). On the main thread those were megabytes of external
// memory per step, and V8 answers external memory with full collections of the main heap,
// which holds tfjs's tensors and models: 160 of them in the demo's train stage, 1.3 s of its
// 14. Here the fresh buffers die in a worker's small heap, and the caller's thread allocates
// nothing per step.
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

export interface InitMessage {
  type: 'init';
  forwardGraph: Uint8Array;
  backwardGraph: Uint8Array;
  sessionOptions: ort.InferenceSession.SessionOptions;
}
export interface ForwardMessage {
  type: 'forward';
  step: number;
  /** The layer's input [B,T,F] and this direction's W [F,4H], U [H,4H], b [4H], in shared memory (copied here). */
  x: Float32Array;
  dims: number[];
  weights: { name: string; data: Float32Array; dims: number[] }[];
  /** Where to write the outputs, by graph output name (shared memory of each output's size). */
  out: Record<string, Float32Array>;
}
export interface BackwardMessage {
  type: 'backward';
  step: number;
  /** This direction's share of d(loss)/d(output), in shared memory (read before the reply). */
  dy: Float32Array;
  dims: number[];
  /** Where to write the gradients, by graph output name. */
  out: Record<string, Float32Array>;
}
export type Request = InitMessage | ForwardMessage | BackwardMessage;
export type Reply = { ok: true } | { ok: false; error: string };

let fwdSession: ort.InferenceSession | null = null;
let bwdSession: ort.InferenceSession | null = null;
let kept: { step: number; feeds: Record<string, ort.Tensor> } | null = null;

/** This thread's copies of the shared inputs, kept from step to step (one per name and size). */
const local = new Map<string, Float32Array>();
function own(name: string, shared: Float32Array): Float32Array {
  let buf = local.get(name);
  if (buf === undefined || buf.length !== shared.length) {
    buf = new Float32Array(shared.length);
    local.set(name, buf);
  }
  buf.set(shared);
  return buf;
}

/** Copies the named outputs into the caller's shared arrays, which must have their sizes. */
function write(out: ort.InferenceSession.OnnxValueMapType, into: Record<string, Float32Array>): void {
  for (const [name, dst] of Object.entries(into)) {
    const t = out[name];
    if (t === undefined) throw new Error(`direction worker: the graph has no output ${name}`);
    const src = t.data as Float32Array;
    if (src.length !== dst.length) throw new Error(`direction worker: output ${name} has ${src.length} values, its shared array ${dst.length}`);
    dst.set(src);
  }
}

async function handle(m: Request): Promise<void> {
  if (m.type === 'init') {
    [fwdSession, bwdSession] = await Promise.all([
      ort.InferenceSession.create(m.forwardGraph, m.sessionOptions),
      ort.InferenceSession.create(m.backwardGraph, m.sessionOptions),
    ]);
    return;
  }
  if (fwdSession === null || bwdSession === null) throw new Error('direction worker: not initialised');
  if (m.type === 'forward') {
    const x = new ort.Tensor('float32', own('X', m.x), m.dims);
    const feeds: Record<string, ort.Tensor> = { X: x };
    for (const w of m.weights) feeds[w.name] = new ort.Tensor('float32', own(w.name, w.data), w.dims);
    const out = await fwdSession.run(feeds);
    // What the backward graph takes besides dY: its inputs among this step's inputs and outputs.
    const keep: Record<string, ort.Tensor> = {};
    for (const name of bwdSession.inputNames) {
      const t = feeds[name] ?? out[name];
      if (t !== undefined) keep[name] = t;
    }
    kept = { step: m.step, feeds: keep };
    write(out, m.out);
    return;
  }
  if (kept === null || kept.step !== m.step) {
    throw new Error(`direction worker: backward of step ${m.step} without its forward (kept: ${kept?.step ?? 'none'})`);
  }
  const out = await bwdSession.run({ ...kept.feeds, dY: new ort.Tensor('float32', own('dY', m.dy), m.dims) });
  kept = null;
  write(out, m.out);
}

const port = parentPort;
if (port !== null) {
  port.on('message', (m: Request) => {
    handle(m).then(
      () => port.postMessage({ ok: true } satisfies Reply),
      (e: unknown) => port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
    );
  });
}
