// The CLIP image tower in ONNX, run with onnxruntime-node.
//
// The model is expected to have the interface of the usual export of CLIP ViT-B/32's vision
// model (openai/clip-vit-base-patch32, docs/EMBED.md): one input of pixels [batch,3,224,224]
// and an output of embeddings [batch,D]. Names, D and whether the batch size is fixed are read
// from the model; anything else is refused with what was expected and what was found.
// float16 models run as they are: with float32 inputs/outputs (the usual fp16 conversion with
// keep_io_types) nothing changes here; with float16 ones, tensors are converted on the way.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { UserError } from '../../src/errors.js';
import type { FrameEncoder } from './encoder.js';
import { fromHalf, toHalf } from './half.js';
import { checkModelFile } from './onnx-model.js';
import type { Provider } from './onnx-model.js';
import { CLIP_PIXELS, CLIP_SIZE, clipPixels } from './preprocess.js';

export { PROVIDERS, checkModelFile, isProvider, onnxRuntimeVersion } from './onnx-model.js';
export type { Provider } from './onnx-model.js';

/** What the embed stage needs to know about a model, read from its metadata. */
export interface ModelInterface {
  inputName: string;
  outputName: string;
  inputType: 'float32' | 'float16';
  outputType: 'float32' | 'float16';
  /** Embedding width, or undefined when the model leaves it symbolic (found by a probe run). */
  dim: number | undefined;
  /** The model's fixed batch size, or undefined for a dynamic batch dimension. */
  fixedBatch: number | undefined;
}

type Meta = InferenceSession.ValueMetadata;

function showShape(shape: ReadonlyArray<number | string>): string {
  return shape.length === 0 ? 'unknown shape' : `[${shape.join(',')}]`;
}

function showMeta(m: Meta): string {
  return m.isTensor ? `'${m.name}' ${m.type} ${showShape(m.shape)}` : `'${m.name}' (not a tensor)`;
}

const isFloat = (t: string): t is 'float32' | 'float16' => t === 'float32' || t === 'float16';

/**
 * Checks a model's inputs and outputs against the CLIP image-tower interface. Pure: takes the
 * metadata onnxruntime reports, so that tests can feed any shape. Throws a UserError saying what
 * was expected and what was found.
 */
export function checkModelInterface(model: string, inputs: readonly Meta[], outputs: readonly Meta[]): ModelInterface {
  const hint = 'embed.model must be a CLIP image tower in ONNX (see docs/EMBED.md)';
  const expectedIn = 'one float32 input of pixels [batch,3,224,224]';
  const tensorsIn = inputs.filter((m): m is InferenceSession.TensorValueMetadata => m.isTensor);
  if (inputs.length !== 1 || tensorsIn.length !== 1) {
    throw new UserError(`${model}: expected ${expectedIn}; found ${inputs.length} input(s): ${inputs.map(showMeta).join(', ') || 'none'}`, hint);
  }
  const inp = tensorsIn[0]!;
  if (!isFloat(inp.type)) {
    throw new UserError(`${model}: expected ${expectedIn}; found input ${showMeta(inp)} (element type ${inp.type})`, hint);
  }
  const want = [undefined, 3, CLIP_SIZE, CLIP_SIZE];
  const shapeOk =
    inp.shape.length === 0 ||
    (inp.shape.length === 4 && want.every((w, i) => w === undefined || typeof inp.shape[i] === 'string' || inp.shape[i] === w));
  if (!shapeOk) {
    throw new UserError(`${model}: expected ${expectedIn}; found input ${showMeta(inp)}`, hint);
  }
  const b0 = inp.shape[0];
  const fixedBatch = typeof b0 === 'number' && b0 > 0 ? b0 : undefined;

  const tensorsOut = outputs.filter((m): m is InferenceSession.TensorValueMetadata => m.isTensor);
  const expectedOut = "an output of embeddings [batch,D] (named 'image_embeds' where the model has several outputs)";
  const out = tensorsOut.find((m) => m.name === 'image_embeds') ?? (tensorsOut.length === 1 ? tensorsOut[0] : undefined);
  if (out === undefined) {
    throw new UserError(`${model}: expected ${expectedOut}; found ${outputs.map(showMeta).join(', ') || 'no output'}`, hint);
  }
  if (!isFloat(out.type) || (out.shape.length !== 0 && out.shape.length !== 2)) {
    throw new UserError(`${model}: expected ${expectedOut} of float32; found output ${showMeta(out)}`, hint);
  }
  const d = out.shape[1];
  if (typeof d === 'number' && d <= 0) {
    throw new UserError(`${model}: expected ${expectedOut} with D > 0; found output ${showMeta(out)}`, hint);
  }
  const ob = out.shape[0];
  if (fixedBatch !== undefined && typeof ob === 'number' && ob !== fixedBatch) {
    throw new UserError(`${model}: input batch ${fixedBatch} but output batch ${ob}: ${showMeta(inp)} -> ${showMeta(out)}`, hint);
  }
  return {
    inputName: inp.name,
    outputName: out.name,
    inputType: inp.type,
    outputType: out.type,
    dim: typeof d === 'number' ? d : undefined,
    fixedBatch,
  };
}

const PROVIDER_HINTS: Record<Provider, string> = {
  cpu: 'check that the file is a complete ONNX model (docs/EMBED.md: verify it)',
  webgpu:
    "onnxruntime-node's WebGPU provider runs on Dawn over Vulkan: it needs a GPU whose Vulkan driver is installed " +
    '(NVIDIA: the driver with its Vulkan ICD, and libvulkan1; `vulkaninfo --summary` must list the GPU). ' +
    'Or set embed.provider: cpu (docs/EMBED.md, GPU)',
  cuda:
    "this onnxruntime-node install has no CUDA provider (its CUDA binaries are downloaded at install time, which this project's .npmrc skips): " +
    'on a machine with CUDA 12 and cuDNN 9 run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`, ' +
    'or use embed.provider: webgpu or cpu (docs/EMBED.md, GPU)',
};

/** True when onnxruntime's message is about the model file rather than the execution provider. */
function isModelLoadError(message: string): boolean {
  return /Load model|Protobuf parsing failed|ModelProto|INVALID_PROTOBUF|INVALID_GRAPH|opset|Type Error|ShapeInferenceError/i.test(message);
}

export interface OnnxEncoderOptions {
  /** Absolute path of the model. */
  modelPath: string;
  /** As configured (for messages). */
  configured?: string;
  provider: Provider;
  /** ONNX intra-op threads; 0 lets onnxruntime choose (one per physical core). */
  threads: number;
  batchSize: number;
  /**
   * Let onnxruntime's idle intra-op threads spin-wait for work (onnxruntime's own default).
   * Off by default here: the frame decoders need the same cores, and spinning bought nothing
   * measurable on inference alone (2 cores, interleaved runs: medians within 5%; the bench
   * prints both).
   */
  spin?: boolean;
}

export class OnnxEncoder implements FrameEncoder {
  readonly inputSize = CLIP_PIXELS;
  readonly dim: number;
  readonly maxBatch: number;
  readonly info: ModelInterface;
  readonly #session: InferenceSession;
  readonly #Tensor: typeof Tensor;
  #halfIn: Uint16Array | undefined;

  private constructor(session: InferenceSession, T: typeof Tensor, info: ModelInterface, dim: number, maxBatch: number) {
    this.#session = session;
    this.#Tensor = T;
    this.info = info;
    this.dim = dim;
    this.maxBatch = maxBatch;
  }

  static async open(o: OnnxEncoderOptions): Promise<OnnxEncoder> {
    const configured = o.configured ?? o.modelPath;
    checkModelFile(o.modelPath, configured);
    // Imported here so that the builtin encoder, `status` and `--help` never load onnxruntime.
    const ort = await import('onnxruntime-node');
    // Every failure reaches us as an exception, which we report with its context; onnxruntime's
    // own log lines on stderr would only duplicate it and break the progress display.
    ort.env.logLevel = 'fatal';
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(o.modelPath, {
        executionProviders: [o.provider],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        interOpNumThreads: 1,
        ...(o.threads > 0 ? { intraOpNumThreads: o.threads } : {}),
        ...(o.spin === true ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
        logSeverityLevel: 4,
      });
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      if (o.provider === 'cpu' || isModelLoadError(msg)) {
        throw new UserError(`embed.model: onnxruntime cannot load ${configured}: ${oneLine(msg)}`, PROVIDER_HINTS.cpu);
      }
      throw new UserError(`embed.provider: ${o.provider}: the execution provider could not start: ${oneLine(msg)}`, PROVIDER_HINTS[o.provider]);
    }
    try {
      const info = checkModelInterface(configured, session.inputMetadata, session.outputMetadata);
      const maxBatch = info.fixedBatch ?? Math.max(1, o.batchSize);
      const enc = new OnnxEncoder(session, ort.Tensor, info, info.dim ?? 0, maxBatch);
      if (info.dim === undefined) {
        // The width is symbolic in the model: one run on a blank image tells it.
        const probe = await enc.#run(new Float32Array(CLIP_PIXELS * (info.fixedBatch ?? 1)), info.fixedBatch ?? 1);
        return new OnnxEncoder(session, ort.Tensor, info, probe.dims[1]!, maxBatch);
      }
      return enc;
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  prepare(file: string | Buffer, out: Float32Array): Promise<void> {
    return clipPixels(file, out);
  }

  async #run(input: Float32Array, n: number): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const { inputName, outputName, inputType, outputType } = this.info;
    const shape = [n, 3, CLIP_SIZE, CLIP_SIZE];
    const x = input.subarray(0, n * CLIP_PIXELS);
    let feed: Tensor;
    if (inputType === 'float16') {
      if (this.#halfIn === undefined || this.#halfIn.length < x.length) this.#halfIn = new Uint16Array(x.length);
      feed = new this.#Tensor('float16', toHalf(x, this.#halfIn.subarray(0, x.length)), shape);
    } else {
      feed = new this.#Tensor('float32', x, shape);
    }
    let result: InferenceSession.OnnxValueMapType;
    try {
      result = await this.#session.run({ [inputName]: feed }, [outputName]);
    } catch (e) {
      throw new UserError(`embed: onnxruntime failed on a batch of ${n} images: ${oneLine((e as Error).message ?? String(e))}`, 'try a smaller embed.batch_size (GPU memory), or embed.provider: cpu');
    }
    const y = result[outputName] as Tensor | undefined;
    if (y === undefined || y.dims.length !== 2 || y.dims[0] !== n) {
      throw new UserError(`embed.model: expected output '${outputName}' of shape [${n},D] for ${n} images, found ${y === undefined ? 'none' : `[${y.dims.join(',')}]`}`);
    }
    const data = outputType === 'float16' ? fromHalf(y.data as Uint16Array) : (y.data as Float32Array);
    return { data, dims: y.dims };
  }

  async infer(batch: Float32Array, n: number): Promise<{ embeddings: Float32Array; batch: Float32Array }> {
    // A fixed-batch model takes exactly its batch: feed the whole buffer (rows past n hold stale
    // frames; they are embedded and dropped, and rows never influence each other).
    const feedN = this.info.fixedBatch ?? n;
    const { data, dims } = await this.#run(batch, feedN);
    if (dims[1] !== this.dim) {
      throw new UserError(`embed.model: embedding width changed between runs: ${this.dim} then ${dims[1]}`);
    }
    return { embeddings: feedN === n ? data : data.subarray(0, n * this.dim), batch };
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}

function oneLine(s: string): string {
  // onnxruntime's messages span lines and often start with the C++ source location and the
  // failed check ("/onnxruntime_src/...cc:136 ...<lambda()> x == y was false. Failed to get a
  // WebGPU adapter: ..."): keep the reason, on one line.
  const flat = s.split('\n').map((l) => l.trim()).filter((l) => l.length > 0).join(' ').replace(/\s+/g, ' ');
  const afterCheck = /\bwas false\.\s*(.+)$/.exec(flat)?.[1];
  const text = afterCheck ?? flat.replace(/^\/\S+\.(?:cc|cpp|h):\d+\s+\S+\s+/, '');
  return text.slice(0, 600);
}
