// One direction of a bidirectional ONNX Runtime LSTM, on a worker thread (see onnx-lstm.ts):
// onnxruntime-node's session.run computes on the calling thread, so a second direction at the
// same time needs a second thread. The worker owns that direction's two sessions and keeps the
// forward's saved tensors (and its input and weights) until the backward of the same step, so
// only the layer's input, the direction's weights and its share of the output and of the
// gradients cross between threads.
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
}
export interface BackwardMessage {
  type: 'backward';
  step: number;
  dy: Float32Array;
  dims: number[];
}
export type Request = InitMessage | ForwardMessage | BackwardMessage;
export type Reply =
  | { ok: true; outputs: Record<string, Float32Array> }
  | { ok: false; error: string };

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

async function handle(m: Request): Promise<Record<string, Float32Array>> {
  if (m.type === 'init') {
    [fwdSession, bwdSession] = await Promise.all([
      ort.InferenceSession.create(m.forwardGraph, m.sessionOptions),
      ort.InferenceSession.create(m.backwardGraph, m.sessionOptions),
    ]);
    return {};
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
    return { Y: out['Y']!.data as Float32Array };
  }
  if (kept === null || kept.step !== m.step) {
    throw new Error(`direction worker: backward of step ${m.step} without its forward (kept: ${kept?.step ?? 'none'})`);
  }
  const out = await bwdSession.run({ ...kept.feeds, dY: new ort.Tensor('float32', m.dy, m.dims) });
  kept = null;
  const outputs: Record<string, Float32Array> = {};
  for (const name of bwdSession.outputNames) outputs[name] = out[name]!.data as Float32Array;
  return outputs;
}

const port = parentPort;
if (port !== null) {
  port.on('message', (m: Request) => {
    handle(m).then(
      (outputs) => {
        // The outputs' buffers are ONNX Runtime's fresh copies: moved, not copied, to the caller.
        const transfer = [...new Set(Object.values(outputs).map((a) => a.buffer as ArrayBuffer))];
        port.postMessage({ ok: true, outputs } satisfies Reply, transfer);
      },
      (e: unknown) => port.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
    );
  });
}
