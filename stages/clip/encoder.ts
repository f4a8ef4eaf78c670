// What the embed pipeline needs from an image encoder. Encoding is split in two steps so that
// the pipeline can overlap them: `prepare` (decode and preprocess one frame; many run at once on
// sharp's threads) and `infer` (embed a batch of prepared frames; for ONNX, on its own thread).

export interface FrameEncoder {
  /** Width of an embedding (512 for CLIP ViT-B/32 and the builtin descriptor). */
  readonly dim: number;
  /** Floats per prepared frame (the encoder's input for one image). */
  readonly inputSize: number;
  /**
   * Most frames per `infer` call. For a model with a fixed batch dimension, exactly the frames
   * it takes (a short last batch is padded).
   */
  readonly maxBatch: number;
  /** Decodes and preprocesses one frame (a path, or its bytes) into `out` (length `inputSize`). */
  prepare(file: string | Buffer, out: Float32Array): Promise<void>;
  /**
   * Embeds the first `n` prepared frames of `batch` (room for `maxBatch` frames; rows past `n`
   * are ignored). The encoder may move `batch` to another thread while it works (the caller's
   * view is then detached): it hands it back, with `n * dim` floats of embeddings, row by row.
   */
  infer(batch: Float32Array, n: number): Promise<{ embeddings: Float32Array; batch: Float32Array }>;
  close(): Promise<void>;
}
