// A small builder for ONNX graphs, serialised with protobufjs. The schema below is the subset
// of onnx.proto (field numbers as the ONNX specification defines them) that building a graph of
// standard operators, with subgraphs for control flow (Scan), needs; writing it here avoids the
// onnx-proto package, which pins protobufjs 6 beside the protobufjs 8 the project already uses.
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1; float f = 2; int64 i = 3; bytes s = 4; TensorProto t = 5; GraphProto g = 6;
  repeated float floats = 7; repeated int64 ints = 8; int32 type = 20;
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto {
  repeated string input = 1; repeated string output = 2; string name = 3; string op_type = 4;
  repeated AttributeProto attribute = 5; string domain = 7;
}
message ModelProto {
  int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
message GraphProto {
  repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9; }
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
`;

const ModelProto = protobuf.parse(SCHEMA).root.lookupType('onnx.ModelProto');

const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, GRAPH: 5, INTS: 7 } as const;

/** A dimension: a number, or a name for a size fixed only at run time (e.g. the batch). */
export type Dim = number | string;

type AttrValue = number | number[] | { float: number } | { graph: GraphBuilder };

interface Node {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  attribute: Array<Record<string, unknown>>;
}

/** Value names and constants, shared by a graph and its subgraphs (names must be unique model-wide). */
interface Scope {
  next: number;
  consts: Map<string, { name: string; bytes: Uint8Array }>;
  inits: Array<Record<string, unknown>>;
}

export class GraphBuilder {
  readonly #nodes: Node[] = [];
  readonly #inputs: Array<Record<string, unknown>> = [];
  readonly #outputs: Array<Record<string, unknown>> = [];
  readonly #scope: Scope;
  readonly #name: string;

  constructor(name = 'main', scope?: Scope) {
    this.#name = name;
    this.#scope = scope ?? { next: 0, consts: new Map(), inits: [] };
  }

  /**
   * A body graph for a control-flow node (Scan). It may use any value of this graph by name
   * (ONNX outer-scope references); its constants live in the outermost graph.
   */
  subgraph(name: string): GraphBuilder {
    return new GraphBuilder(name, this.#scope);
  }

  input(name: string, dims: Dim[]): string {
    this.#inputs.push(valueInfo(name, dims));
    return name;
  }

  output(value: string, name: string, dims: Dim[]): void {
    this.op('Identity', [value], {}, [name]);
    this.#outputs.push(valueInfo(name, dims));
  }

  /**
   * Adds a node; returns its output names (`outputs` names them, a number asks for that many
   * fresh names). Integer attributes are INT/INTS; `{float: v}` is a FLOAT.
   */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: string[] | number = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => `v${this.#scope.next++}`) : outputs;
    const attribute = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? { name, type: ATTR.INTS, ints: v }
        : typeof v === 'number'
          ? { name, type: ATTR.INT, i: v }
          : 'graph' in v
            ? { name, type: ATTR.GRAPH, g: v.graph.#proto(false) }
            : { name, type: ATTR.FLOAT, f: v.float },
    );
    this.#nodes.push({ input: inputs, output: outs, name: `${this.#name}_n${this.#nodes.length}`, opType, attribute });
    return outs;
  }

  /** One-output shorthand for op(). */
  one(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(opType, inputs, attrs)[0]!;
  }

  /** A float32 constant (scalar when dims is []); equal constants are shared. */
  float(values: number[] | Float32Array, dims: number[] = []): string {
    return this.#constant(FLOAT, values instanceof Float32Array ? values : new Float32Array(values), dims);
  }

  /** An int64 constant, e.g. a shape or the sizes of a Split. */
  int64(values: number[], dims: number[] = [values.length]): string {
    return this.#constant(INT64, BigInt64Array.from(values.map(BigInt)), dims);
  }

  #constant(type: number, data: Float32Array | BigInt64Array, dims: number[]): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // Keyed by a digest of the bytes: a key holding every value as text took 0.3 s for a
    // model's weights. Equal bytes under one key are checked, so sharing stays exact.
    const key = `${type}:${dims.join(',')}:${createHash('sha256').update(bytes).digest('base64')}`;
    const { consts, inits } = this.#scope;
    const known = consts.get(key);
    if (known !== undefined && Buffer.from(known.bytes).equals(Buffer.from(bytes))) return known.name;
    const name = `c${inits.length}`;
    const own = bytes.slice();
    inits.push({ name, dims, dataType: type, rawData: own });
    if (known === undefined) consts.set(key, { name, bytes: own });
    return name;
  }

  #proto(withConstants: boolean): Record<string, unknown> {
    return {
      name: this.#name,
      node: this.#nodes,
      initializer: withConstants ? this.#scope.inits : [],
      input: this.#inputs,
      output: this.#outputs,
    };
  }

  /** Serialised ModelProto (opset 17) of this graph, with every constant as an initializer. */
  encode(graphName: string): Uint8Array {
    const model = ModelProto.fromObject({
      irVersion: 8,
      producerName: 'pipeline',
      opsetImport: [{ domain: '', version: 17 }],
      graph: { ...this.#proto(true), name: graphName },
    });
    return ModelProto.encode(model).finish();
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }
}

function valueInfo(name: string, dims: Dim[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
