// The part of TensorFlow's event.proto, summary.proto and tensor.proto that TensorBoard's
// scalar and text dashboards read. Field numbers are TensorFlow's own (tensorflow/core/util/
// event.proto, tensorflow/core/framework/summary.proto, tensor.proto, tensor_shape.proto), so
// every TensorBoard version decodes these messages; fields we never write are left out.
// Kept as source text (not a .proto file beside it) so that the compiled module is self-contained.
import protobuf from 'protobufjs';

export const EVENT_PROTO = `
syntax = "proto3";
package tensorboard;

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}

message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  int32 data_class = 4;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated bytes string_val = 8;
}
`;

/** TensorFlow's DataType enum value for strings. */
export const DT_STRING = 7;

export interface SummaryValue {
  tag: string;
  simpleValue?: number;
  metadata?: { pluginData?: { pluginName: string; content?: Uint8Array }; dataClass?: number };
  tensor?: { dtype: number; tensorShape?: { dim?: Array<{ size: number }> }; stringVal?: Uint8Array[] };
}

export interface EventMessage {
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: { value: SummaryValue[] };
}

const root = protobuf.parse(EVENT_PROTO, { keepCase: false }).root;
const EventType = root.lookupType('tensorboard.Event');

export function encodeEvent(e: EventMessage): Uint8Array {
  const err = EventType.verify(e);
  if (err !== null) throw new Error(`tensorboard event: ${err}`);
  return EventType.encode(EventType.fromObject(e)).finish();
}

export function decodeEvent(data: Uint8Array): EventMessage {
  const msg = EventType.decode(data);
  return EventType.toObject(msg, { longs: Number, bytes: Uint8Array as unknown as typeof String, defaults: false, oneofs: false }) as EventMessage;
}
