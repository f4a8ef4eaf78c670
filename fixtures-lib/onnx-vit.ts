// Writes an ONNX model with the architecture of CLIP ViT-B/32's image tower (the usual export of
// openai/clip-vit-base-patch32's vision model with its projection: input `pixel_values`
// float32 [batch,3,224,224], output `image_embeds` float32 [batch,512]) and random weights, with
// no network and no Python. Benchmarks measure on it; tests build small variants of it (and
// deliberately misshapen ones) to exercise model validation.
//
// Why by hand: there is no maintained npm package that builds ONNX graphs. The messages are
// encoded with protobufjs from the subset of onnx.proto this needs (field numbers as in
// onnx/onnx.proto). A B/32 model is ~350 MB, so the file is streamed: the graph's length is
// computed from the tensors' sizes first, then each initializer is generated and written in turn,
// never holding all weights at once (protobuf lets a message's fields be concatenated).
//
// From the command line: node dist/bench/onnx-vit.js [--out FILE] [--dtype float32|float16] [--seed N]
import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import protobuf from 'protobufjs';
import seedrandom from 'seedrandom';
import { toHalfBits } from '../stages/clip/half.js';

/** The shape of a CLIP-like ViT image tower. Defaults: ViT-B/32 (87.8 M parameters). */
export interface VitConfig {
  image: number;
  patch: number;
  width: number;
  layers: number;
  heads: number;
  /** Width of the projected embedding (`image_embeds`). */
  out: number;
  /** Batch dimension of input and output: a symbolic name, or a fixed size. */
  batch: string | number;
  inputName: string;
  outputName: string;
  /** Also output the last hidden state [batch,tokens,width], as some exports do. */
  hiddenStateOutput: boolean;
  /**
   * float16 stores weights and computes in half precision, keeping float32 model inputs and
   * outputs (Cast nodes at both ends), as fp16 conversions with keep_io_types do. For GPUs.
   */
  dtype: 'float32' | 'float16';
  /** float16 input and output tensors too (only with dtype float16). */
  halfIo: boolean;
  seed: number;
  /** Input channels; 3 for any real CLIP (other values build a misfit model for tests). */
  channels: number;
  /** Test models only: output the square root of the embeddings, NaN wherever one is negative. */
  poison: boolean;
}

export const VIT_B32: VitConfig = {
  image: 224,
  patch: 32,
  width: 768,
  layers: 12,
  heads: 12,
  out: 512,
  batch: 'batch',
  inputName: 'pixel_values',
  outputName: 'image_embeds',
  hiddenStateOutput: false,
  dtype: 'float32',
  halfIo: false,
  seed: 0,
  channels: 3,
  poison: false,
};

/** Parameter count of a config (ViT-B/32: 87,849,216). */
export function vitParameterCount(c: VitConfig): number {
  const tokens = (c.image / c.patch) ** 2 + 1;
  const w = c.width;
  const layer = 4 * (w * w + w) + 2 * 2 * w + (w * 4 * w + 4 * w) + (4 * w * w + w);
  return c.channels * c.patch * c.patch * w + w + tokens * w + 2 * w + c.layers * layer + 2 * w + w * c.out;
}

// The subset of onnx.proto (proto2, package onnx) that this writer needs.
const ONNX_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            type: { type: 'int32', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: { rule: 'repeated', type: 'float', id: 7 },
            ints: { rule: 'repeated', type: 'int64', id: 8 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        NodeProto: {
          fields: {
            input: { rule: 'repeated', type: 'string', id: 1 },
            output: { rule: 'repeated', type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1, options: { packed: true } },
            dataType: { type: 'int32', id: 2 },
            int64Data: { rule: 'repeated', type: 'int64', id: 7, options: { packed: true } },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } },
            },
          },
        },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: {
            Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(ONNX_SCHEMA);
const T = {
  model: root.lookupType('onnx.ModelProto'),
  graph: root.lookupType('onnx.GraphProto'),
  tensor: root.lookupType('onnx.TensorProto'),
};

const DT = { float32: 1, int64: 7, float16: 10 } as const;
const ATTR = { FLOAT: 1, INT: 2, INTS: 7 } as const;

type Attr = { name: string; type: number; f?: number; i?: number; ints?: number[] };
type Node = { input: string[]; output: string[]; opType: string; name: string; attribute: Attr[] };

/** An initializer: its bytes are produced only when the file is written. */
interface Weight {
  name: string;
  dims: number[];
  dataType: number;
  /** Float values are drawn at write time; int64 constants are small and given. */
  fill: { kind: 'random'; std: number } | { kind: 'const'; value: number } | { kind: 'int64'; values: number[] };
}

class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly weights: Weight[] = [];
  #n = 0;
  readonly #float: number;
  constructor(readonly c: VitConfig) {
    this.#float = c.dtype === 'float16' ? DT.float16 : DT.float32;
  }
  op(opType: string, inputs: string[], attrs: Attr[] = [], nOut = 1): string[] {
    const id = this.#n++;
    const outs = Array.from({ length: nOut }, (_, k) => `${opType.toLowerCase()}_${id}${nOut > 1 ? `_${k}` : ''}`);
    this.nodes.push({ input: inputs, output: outs, opType, name: `${opType}_${id}`, attribute: attrs });
    return outs;
  }
  op1(opType: string, inputs: string[], attrs: Attr[] = []): string {
    return this.op(opType, inputs, attrs)[0]!;
  }
  weight(name: string, dims: number[], std: number): string {
    this.weights.push({ name, dims, dataType: this.#float, fill: { kind: 'random', std } });
    return name;
  }
  constant(name: string, dims: number[], value: number): string {
    this.weights.push({ name, dims, dataType: this.#float, fill: { kind: 'const', value } });
    return name;
  }
  ints(name: string, values: number[], scalar = false): string {
    this.weights.push({ name, dims: scalar ? [] : [values.length], dataType: DT.int64, fill: { kind: 'int64', values } });
    return name;
  }
  layerNorm(x: string, prefix: string): string {
    const g = this.constant(`${prefix}.weight`, [this.c.width], 1);
    const b = this.constant(`${prefix}.bias`, [this.c.width], 0);
    return this.op1('LayerNormalization', [x, g, b], [
      { name: 'axis', type: ATTR.INT, i: -1 },
      { name: 'epsilon', type: ATTR.FLOAT, f: 1e-5 },
    ]);
  }
  linear(x: string, prefix: string, inW: number, outW: number, bias = true): string {
    const w = this.weight(`${prefix}.weight`, [inW, outW], 0.02);
    const y = this.op1('MatMul', [x, w]);
    if (!bias) return y;
    return this.op1('Add', [y, this.weight(`${prefix}.bias`, [outW], 0.02)]);
  }
}

/** Builds the graph (nodes, inputs, outputs) and the list of its initializers. */
function buildGraph(c: VitConfig): { b: GraphBuilder; inputs: object[]; outputs: object[] } {
  if (c.image % c.patch !== 0) throw new Error(`image ${c.image} is not a multiple of patch ${c.patch}`);
  if (c.width % c.heads !== 0) throw new Error(`width ${c.width} is not a multiple of heads ${c.heads}`);
  const b = new GraphBuilder(c);
  const grid = c.image / c.patch;
  const tokens = grid * grid + 1;
  const headDim = c.width / c.heads;
  const halfIo = c.dtype === 'float16' && c.halfIo;

  let px = c.inputName;
  if (c.dtype === 'float16' && !halfIo) px = b.op1('Cast', [px], [{ name: 'to', type: ATTR.INT, i: DT.float16 }]);
  // Patch embedding: a stride-`patch` convolution without bias, then [B,width,g,g] -> [B,g*g,width].
  const conv = b.op1('Conv', [px, b.weight('embeddings.patch_embedding.weight', [c.width, c.channels, c.patch, c.patch], 0.02)], [
    { name: 'kernel_shape', type: ATTR.INTS, ints: [c.patch, c.patch] },
    { name: 'strides', type: ATTR.INTS, ints: [c.patch, c.patch] },
  ]);
  const flat = b.op1('Reshape', [conv, b.ints('shape_patches', [0, c.width, -1])]);
  const patches = b.op1('Transpose', [flat], [{ name: 'perm', type: ATTR.INTS, ints: [0, 2, 1] }]);
  // The class token, broadcast to the batch: Expand to [B,1,width] with B read from the input.
  const inShape = b.op1('Shape', [px]);
  const batchDim = b.op1('Slice', [inShape, b.ints('slice_start', [0]), b.ints('slice_end', [1])]);
  const clsShape = b.op1('Concat', [batchDim, b.ints('cls_tail', [1, c.width])], [{ name: 'axis', type: ATTR.INT, i: 0 }]);
  const cls = b.op1('Expand', [b.weight('embeddings.class_embedding', [1, 1, c.width], 0.02), clsShape]);
  const seq = b.op1('Concat', [cls, patches], [{ name: 'axis', type: ATTR.INT, i: 1 }]);
  let x = b.op1('Add', [seq, b.weight('embeddings.position_embedding.weight', [tokens, c.width], 0.02)]);
  x = b.layerNorm(x, 'pre_layrnorm');

  const headsShape = b.ints('shape_heads', [0, 0, c.heads, headDim]);
  const mergeShape = b.ints('shape_merge', [0, 0, c.width]);
  const scale = b.constant('attn_scale', [], 1 / Math.sqrt(headDim));
  const geluK = b.constant('quick_gelu_k', [], 1.702);
  for (let l = 0; l < c.layers; l++) {
    const p = `encoder.layers.${l}`;
    const h = b.layerNorm(x, `${p}.layer_norm1`);
    const q = b.op1('Mul', [b.linear(h, `${p}.self_attn.q_proj`, c.width, c.width), scale]);
    const k = b.linear(h, `${p}.self_attn.k_proj`, c.width, c.width);
    const v = b.linear(h, `${p}.self_attn.v_proj`, c.width, c.width);
    const perm = (t: string, order: number[]): string =>
      b.op1('Transpose', [b.op1('Reshape', [t, headsShape])], [{ name: 'perm', type: ATTR.INTS, ints: order }]);
    const scores = b.op1('MatMul', [perm(q, [0, 2, 1, 3]), perm(k, [0, 2, 3, 1])]);
    const probs = b.op1('Softmax', [scores], [{ name: 'axis', type: ATTR.INT, i: -1 }]);
    const ctx = b.op1('MatMul', [probs, perm(v, [0, 2, 1, 3])]);
    const merged = b.op1('Reshape', [b.op1('Transpose', [ctx], [{ name: 'perm', type: ATTR.INTS, ints: [0, 2, 1, 3] }]), mergeShape]);
    x = b.op1('Add', [x, b.linear(merged, `${p}.self_attn.out_proj`, c.width, c.width)]);
    const h2 = b.layerNorm(x, `${p}.layer_norm2`);
    const f = b.linear(h2, `${p}.mlp.fc1`, c.width, 4 * c.width);
    const act = b.op1('Mul', [f, b.op1('Sigmoid', [b.op1('Mul', [f, geluK])])]); // quick_gelu
    x = b.op1('Add', [x, b.linear(act, `${p}.mlp.fc2`, 4 * c.width, c.width)]);
  }
  const lastHidden = x;
  const pooled = b.op1('Gather', [x, b.ints('cls_index', [0], true)], [{ name: 'axis', type: ATTR.INT, i: 1 }]);
  let emb = b.linear(b.layerNorm(pooled, 'post_layernorm'), 'visual_projection', c.width, c.out, false);
  if (c.poison) emb = b.op1('Sqrt', [emb]);
  if (c.dtype === 'float16' && !halfIo) emb = b.op1('Cast', [emb], [{ name: 'to', type: ATTR.INT, i: DT.float32 }]);
  // Name the graph's outputs: rename the last node's output in place.
  const rename = (from: string, to: string): void => {
    for (const n of b.nodes) {
      n.output = n.output.map((o) => (o === from ? to : o));
      n.input = n.input.map((i) => (i === from ? to : i));
    }
  };
  rename(emb, c.outputName);
  const ioType = halfIo ? DT.float16 : DT.float32;
  const dim = (d: string | number): object => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const vi = (name: string, elemType: number, shape: Array<string | number>): object => ({
    name,
    type: { tensorType: { elemType, shape: { dim: shape.map(dim) } } },
  });
  const inputs = [vi(c.inputName, ioType, [c.batch, c.channels, c.image, c.image])];
  const outputs = [vi(c.outputName, ioType, [c.batch, c.out])];
  if (c.hiddenStateOutput) {
    let hs = lastHidden;
    if (c.dtype === 'float16' && !halfIo) hs = b.op1('Cast', [hs], [{ name: 'to', type: ATTR.INT, i: DT.float32 }]);
    rename(hs, 'last_hidden_state');
    outputs.unshift(vi('last_hidden_state', ioType, [c.batch, tokens, c.width]));
  }
  return { b, inputs, outputs };
}

function varint(n: number): Buffer {
  return Buffer.from(protobuf.Writer.create().uint32(n).finish());
}

/** Field key of a length-delimited field (wire type 2). */
function lenKey(field: number): Buffer {
  return varint((field << 3) | 2);
}

function tensorHeader(w: Weight): { head: Buffer; dataBytes: number } {
  const count = w.dims.reduce((a, d) => a * d, 1);
  if (w.fill.kind === 'int64') {
    const head = Buffer.from(T.tensor.encode({ dims: w.dims, dataType: w.dataType, name: w.name, int64Data: w.fill.values }).finish());
    return { head, dataBytes: 0 };
  }
  const bytes = count * (w.dataType === DT.float16 ? 2 : 4);
  const meta = Buffer.from(T.tensor.encode({ dims: w.dims, dataType: w.dataType, name: w.name }).finish());
  return { head: Buffer.concat([meta, lenKey(9), varint(bytes)]), dataBytes: bytes };
}

/** Writes the model to `path` (through a temp file and a rename). Returns its parameter count. */
export function writeVitOnnx(path: string, config: Partial<VitConfig> = {}): { parameters: number; bytes: number } {
  const c: VitConfig = { ...VIT_B32, ...config };
  const { b, inputs, outputs } = buildGraph(c);
  const graphMeta = Buffer.from(T.graph.encode({ node: b.nodes, name: 'clip_vision', input: inputs, output: outputs }).finish());
  const heads = b.weights.map(tensorHeader);
  let graphLen = graphMeta.length;
  for (const h of heads) {
    const tensorLen = h.head.length + h.dataBytes;
    graphLen += lenKey(5).length + varint(tensorLen).length + tensorLen;
  }
  const modelMeta = Buffer.from(
    T.model
      .encode({
        irVersion: 8,
        producerName: 'pipeline-bench',
        producerVersion: '1',
        docString: `CLIP ViT-shaped image tower with random weights (seed ${c.seed}); for benchmarks and tests only`,
        opsetImport: [{ domain: '', version: 17 }],
      })
      .finish(),
  );
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let written = 0;
  const put = (buf: Uint8Array): void => {
    writeSync(fd, buf);
    written += buf.length;
  };
  let parameters = 0;
  try {
    put(modelMeta);
    put(lenKey(7));
    put(varint(graphLen));
    put(graphMeta);
    const rng = seedrandom.alea(`vit-${c.seed}`);
    b.weights.forEach((w, i) => {
      const h = heads[i]!;
      const tensorLen = h.head.length + h.dataBytes;
      put(lenKey(5));
      put(varint(tensorLen));
      put(h.head);
      if (w.fill.kind === 'int64') return;
      const count = w.dims.reduce((a, d) => a * d, 1);
      if (w.fill.kind === 'random') parameters += count;
      else if (w.dims.length > 0) parameters += count; // LayerNorm gains and biases count; scalar constants do not
      const CHUNK = 1 << 20;
      for (let off = 0; off < count; off += CHUNK) {
        const n = Math.min(CHUNK, count - off);
        const f = new Float32Array(n);
        if (w.fill.kind === 'const') f.fill(w.fill.value);
        else {
          // Uniform with the given standard deviation: enough for a numerically sane random net.
          const a = w.fill.std * Math.sqrt(3);
          for (let j = 0; j < n; j++) f[j] = (rng() * 2 - 1) * a;
        }
        if (w.dataType === DT.float16) {
          const h16 = new Uint16Array(n);
          for (let j = 0; j < n; j++) h16[j] = toHalfBits(f[j]!);
          put(new Uint8Array(h16.buffer));
        } else {
          put(new Uint8Array(f.buffer));
        }
      }
    });
    closeSync(fd);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  renameSync(tmp, path);
  return { parameters, bytes: written };
}
