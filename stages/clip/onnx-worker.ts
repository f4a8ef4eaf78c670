// Worker-thread side of OnnxThreadEncoder (onnx-thread.ts): owns the onnxruntime session.
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxEncoder } from './onnx-encoder.js';
import type { OnnxEncoderOptions } from './onnx-encoder.js';
import { serializeError } from './onnx-thread.js';
import type { WorkerReply, WorkerRequest } from './onnx-thread.js';

const port = parentPort;
if (port === null) throw new Error('onnx-worker.js runs only as a worker thread');

function send(m: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(m, transfer);
}

let encoder: OnnxEncoder;
try {
  encoder = await OnnxEncoder.open(workerData as OnnxEncoderOptions);
  send({ type: 'opened', dim: encoder.dim, maxBatch: encoder.maxBatch, info: encoder.info });
} catch (e) {
  send({ type: 'error', id: null, error: serializeError(e) });
  port.close();
  process.exit(0);
}

// Requests are served one at a time, in order: onnxruntime runs one batch with all its threads.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: WorkerRequest) => {
  queue = queue.then(async () => {
    if (m.type === 'close') {
      await encoder.close();
      send({ type: 'closed' });
      port.close();
      return;
    }
    try {
      const { embeddings, batch } = await encoder.infer(m.batch, m.n);
      // The output tensor owns its buffer; copy only when it is a view into a larger one.
      const out =
        embeddings.byteOffset === 0 && embeddings.byteLength === embeddings.buffer.byteLength ? embeddings : embeddings.slice();
      send({ type: 'result', id: m.id, embeddings: out, batch }, [out.buffer as ArrayBuffer, batch.buffer as ArrayBuffer]);
    } catch (e) {
      send({ type: 'error', id: m.id, error: serializeError(e) });
    }
  });
});
