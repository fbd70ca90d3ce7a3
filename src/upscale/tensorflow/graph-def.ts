import protobuf from 'protobufjs';
import { UserError } from '../../core/errors.js';

/**
 * The parts of TensorFlow's GraphDef (tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape,
 * types}.proto) that frozen inference graphs use, with TensorFlow's field numbers.
 */
const SCHEMA = `
syntax = "proto3";
package tf;
message GraphDef { repeated NodeDef node = 1; VersionDef versions = 4; int32 version = 3; }
message VersionDef { int32 producer = 1; int32 min_consumer = 2; repeated int32 bad_consumers = 3; }
message NodeDef { string name = 1; string op = 2; repeated string input = 3; string device = 4; map<string, AttrValue> attr = 5; }
message AttrValue {
  message ListValue {
    repeated bytes s = 2; repeated int64 i = 3 [packed = true]; repeated float f = 4 [packed = true];
    repeated bool b = 5 [packed = true]; repeated int32 type = 6 [packed = true]; repeated TensorShapeProto shape = 7;
    repeated TensorProto tensor = 8;
  }
  oneof value {
    bytes s = 2; int64 i = 3; float f = 4; bool b = 5; int32 type = 6; TensorShapeProto shape = 7; TensorProto tensor = 8;
    ListValue list = 1; string placeholder = 9;
  }
}
message TensorShapeProto { message Dim { int64 size = 1; string name = 2; } repeated Dim dim = 2; bool unknown_rank = 3; }
message TensorProto {
  int32 dtype = 1; TensorShapeProto tensor_shape = 2; int32 version_number = 3; bytes tensor_content = 4;
  repeated int32 half_val = 13 [packed = true]; repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true]; repeated int32 int_val = 7 [packed = true]; repeated bytes string_val = 8;
  repeated int64 int64_val = 10 [packed = true]; repeated bool bool_val = 11 [packed = true];
}
`;

const GRAPH_DEF = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('tf.GraphDef');

/** TensorFlow's DataType enum values that frozen super-resolution graphs carry. */
export const TF_DTYPE = { float: 1, double: 2, int32: 3, uint8: 4, int64: 9, bool: 10, qint8: 11, quint8: 12, qint32: 13, half: 19 } as const;

export interface TfShape {
  readonly dim?: readonly { readonly size?: number | string }[];
  readonly unknown_rank?: boolean;
}

export interface TfTensor {
  readonly dtype?: number;
  readonly tensor_shape?: TfShape;
  readonly tensor_content?: Uint8Array;
  readonly float_val?: readonly number[];
  readonly int_val?: readonly number[];
  readonly int64_val?: readonly (number | string)[];
  readonly half_val?: readonly number[];
}

export interface TfAttr {
  readonly s?: Uint8Array;
  readonly i?: number | string;
  readonly f?: number;
  readonly b?: boolean;
  readonly type?: number;
  readonly shape?: TfShape;
  readonly tensor?: TfTensor;
  readonly list?: { readonly i?: readonly (number | string)[]; readonly s?: readonly Uint8Array[]; readonly type?: readonly number[]; readonly shape?: readonly TfShape[] };
}

export interface TfNode {
  readonly name: string;
  readonly op: string;
  readonly input: readonly string[];
  readonly attr: Readonly<Partial<Record<string, TfAttr>>>;
}

export interface TfGraph {
  readonly nodes: readonly TfNode[];
}

/** Decodes a frozen GraphDef. Anything that is not one is a UserError that says so. */
export function parseGraphDef(bytes: Uint8Array, file: string): TfGraph {
  let decoded: protobuf.Message;
  try {
    decoded = GRAPH_DEF.decode(bytes);
  } catch (error) {
    throw new UserError(`${file} is not a TensorFlow GraphDef (${(error as Error).message})`);
  }
  const plain = GRAPH_DEF.toObject(decoded, { longs: Number, bytes: Uint8Array, defaults: false, arrays: true, objects: true }) as {
    node?: { name?: string; op?: string; input?: string[]; attr?: Record<string, TfAttr> }[];
  };
  const nodes = (plain.node ?? []).map((node) => ({ name: node.name ?? '', op: node.op ?? '', input: node.input ?? [], attr: node.attr ?? {} }));
  if (nodes.length === 0 || nodes.some((node) => node.name === '' || node.op === '')) {
    throw new UserError(`${file} is not a TensorFlow GraphDef (no named nodes)`);
  }
  return { nodes };
}

/** Serialises a graph: the tests write their own frozen graphs with it, in TensorFlow's exact wire format. */
export function encodeGraphDef(graph: TfGraph): Uint8Array {
  const message = GRAPH_DEF.fromObject({ node: graph.nodes.map((node) => ({ ...node, input: [...node.input] })) });
  return GRAPH_DEF.encode(message).finish();
}
