import { UserError } from '../../core/errors.js';
import { OnnxGraphBuilder } from '../../onnx-writer/onnx-graph-builder.js';
import { TF_DTYPE, type TfAttr, type TfGraph, type TfNode } from './graph-def.js';
import { decodeTensor, dequantizeMinCombined, shapeDims, type TfConstant } from './tf-constant.js';

/**
 * Converts a frozen TensorFlow super-resolution graph (OpenCV's dnn_superres zoo: EDSR, ESPCN, FSRCNN, LapSRN) to
 * an ONNX model with NCHW input and output, as OpenCV presents them. TensorFlow computes in NHWC; here every 4-D
 * activation is kept physically NCHW, constants are permuted to match, and explicit Transposes are composed away.
 * Constant subgraphs (Identity, quantised weights through Dequantize) are folded at conversion time.
 */

export interface ConvertedGraph {
  readonly onnx: Uint8Array;
  readonly inputName: string;
  readonly outputName: string;
  readonly inputChannels: number;
  /** Operations by type, for the converter's report. */
  readonly operations: ReadonlyMap<string, number>;
}

/** A tensor of the TensorFlow graph as it exists in the ONNX graph being written. */
type Value =
  | { readonly kind: 'constant'; readonly constant: TfConstant }
  /** `nhwc` = a TensorFlow NHWC activation stored NCHW; `as-is` = stored with TensorFlow's own axis order. */
  | { readonly kind: 'activation'; readonly name: string; readonly layout: 'nhwc' | 'as-is' };

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
const GRAPH_INPUT_OPS = new Set(['Placeholder', 'IteratorGetNext']);
const UNARY: Record<string, string> = { Relu: 'Relu', Abs: 'Abs', Tanh: 'Tanh', Sigmoid: 'Sigmoid', Neg: 'Neg' };
const BINARY: Record<string, string> = { Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' };

export function convertGraph(graph: TfGraph, file: string, outputName?: string): ConvertedGraph {
  const byName = new Map(graph.nodes.map((node) => [node.name, node]));
  const output = chooseOutput(graph, byName, file, outputName);
  const order = topologicalOrder(output, byName, file);
  const input = order.find((node) => GRAPH_INPUT_OPS.has(node.op));
  if (input === undefined) throw new UserError(`${file}: no Placeholder input feeds ${output.name}`);

  const builder = new OnnxGraphBuilder();
  const values = new Map<string, Value>();
  const operations = new Map<string, number>();
  const inputChannels = inferInputChannels(input, order, byName, file);
  builder.input(input.name, 'float32', ['batch', inputChannels, 'height', 'width']);
  values.set(input.name, { kind: 'activation', name: input.name, layout: 'nhwc' });

  for (const node of order) {
    if (node === input) continue;
    operations.set(node.op, (operations.get(node.op) ?? 0) + 1);
    values.set(node.name, convertNode(node, (i) => valueOf(values, node, i, file), builder, file));
  }

  const result = values.get(output.name)!;
  if (result.kind !== 'activation') throw new UserError(`${file}: the output ${output.name} is a constant`);
  builder.node('Identity', [result.name], {}, output.name);
  builder.output(output.name, 'float32', ['batch', 'channels', 'out_height', 'out_width']);
  return { onnx: builder.toBytes(), inputName: input.name, outputName: output.name, inputChannels, operations };
}

/** `NCHW_output` when there is one (the zoo's convention); else the graph's last node that nothing consumes. */
function chooseOutput(graph: TfGraph, byName: ReadonlyMap<string, TfNode>, file: string, requested: string | undefined): TfNode {
  if (requested !== undefined) {
    const node = byName.get(requested);
    if (node === undefined) throw new UserError(`${file}: no node named ${requested}`);
    return node;
  }
  const conventional = byName.get('NCHW_output');
  if (conventional !== undefined) return conventional;
  const consumed = new Set(graph.nodes.flatMap((node) => node.input.map(sourceName)));
  const sinks = graph.nodes.filter((node) => !consumed.has(node.name) && node.op !== 'Const' && node.op !== 'NoOp');
  if (sinks.length === 0) throw new UserError(`${file}: the graph has no output`);
  return sinks[sinks.length - 1];
}

function sourceName(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** The nodes the output depends on, each after its inputs; unused branches are left out. */
function topologicalOrder(output: TfNode, byName: ReadonlyMap<string, TfNode>, file: string): TfNode[] {
  const order: TfNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (node: TfNode) => {
    const seen = state.get(node.name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new UserError(`${file}: the graph has a cycle through ${node.name}`);
    state.set(node.name, 'visiting');
    for (const input of node.input) {
      if (input.startsWith('^')) continue;
      const source = byName.get(sourceName(input));
      if (source === undefined) throw new UserError(`${file}: node ${node.name} reads ${input}, which is not in the graph`);
      visit(source);
    }
    state.set(node.name, 'done');
    order.push(node);
  };
  visit(output);
  return order;
}

/** From the placeholder's shape when it has one, else from the in-channels of the first convolution that reads it. */
function inferInputChannels(input: TfNode, order: readonly TfNode[], byName: ReadonlyMap<string, TfNode>, file: string): number {
  const declared = shapeDims(input.attr.shape?.shape);
  if (declared.length === 4 && declared[3] > 0) return declared[3];
  const conv = order.find((node) => node.op === 'Conv2D' && sourceName(node.input[0] ?? '') === input.name);
  const filter = conv === undefined ? undefined : constantSource(byName.get(sourceName(conv.input[1] ?? '')), byName);
  const dims = filter === undefined ? [] : shapeDims(filter.attr.value?.tensor?.tensor_shape);
  if (dims.length !== 4) throw new UserError(`${file}: cannot tell how many channels ${input.name} takes`);
  return dims[2];
}

/** Follows Identity and Dequantize back to the Const that holds a filter's shape. */
function constantSource(node: TfNode | undefined, byName: ReadonlyMap<string, TfNode>): TfNode | undefined {
  if (node === undefined || node.op === 'Const') return node;
  if (node.op === 'Identity' || node.op === 'Dequantize') return constantSource(byName.get(sourceName(node.input[0] ?? '')), byName);
  return undefined;
}

function valueOf(values: ReadonlyMap<string, Value>, node: TfNode, index: number, file: string): Value {
  const input = node.input.filter((name) => !name.startsWith('^')).at(index);
  if (input === undefined) throw new UserError(`${file}: node ${node.name} (${node.op}) lacks input ${index}`);
  return values.get(sourceName(input))!;
}

function convertNode(node: TfNode, input: (index: number) => Value, builder: OnnxGraphBuilder, file: string): Value {
  const where = `${file}: node ${node.name} (${node.op})`;
  switch (node.op) {
    case 'Const': {
      const tensor = node.attr.value?.tensor;
      if (tensor === undefined) throw new UserError(`${where} has no value`);
      return { kind: 'constant', constant: decodeTensor(tensor, where) };
    }
    case 'Identity':
    case 'StopGradient':
      return input(0);
    case 'Dequantize':
      return { kind: 'constant', constant: dequantize(node, input, where) };
    case 'Conv2D':
      return convolution(node, activation(input(0), where), constant(input(1), where), builder, where);
    case 'DepthToSpace': {
      requireNhwc(node, where);
      const source = activation(input(0), where);
      if (source.layout !== 'nhwc') throw new UserError(`${where}: expects an NHWC activation`);
      const blocksize = Number(node.attr.block_size?.i ?? 0);
      // TensorFlow's channel order (block row, block column, channel) is ONNX's DCR mode.
      return { kind: 'activation', name: builder.node('DepthToSpace', [source.name], { blocksize, mode: 'DCR' }), layout: 'nhwc' };
    }
    case 'Transpose':
      return transpose(activation(input(0), where), constant(input(1), where), builder, where);
    default:
      if (node.op in UNARY) {
        const source = activation(input(0), where);
        return { kind: 'activation', name: builder.node(UNARY[node.op], [source.name]), layout: source.layout };
      }
      if (node.op in BINARY) {
        if (node.op === 'BiasAdd') requireNhwc(node, where);
        return binary(BINARY[node.op], input(0), input(1), builder, where);
      }
      throw new UserError(`${file}: unsupported operation ${node.op} (node ${node.name})`);
  }
}

function requireNhwc(node: TfNode, where: string): void {
  const format = attrString(node.attr.data_format);
  if (format !== undefined && format !== 'NHWC') throw new UserError(`${where}: data_format ${format} is not supported (NHWC only)`);
}

function attrString(attr: TfAttr | undefined): string | undefined {
  return attr?.s === undefined ? undefined : new TextDecoder().decode(attr.s);
}

function activation(value: Value, where: string): Extract<Value, { kind: 'activation' }> {
  if (value.kind !== 'activation') throw new UserError(`${where}: expected a computed tensor, got a constant`);
  return value;
}

function constant(value: Value, where: string): TfConstant {
  if (value.kind !== 'constant') throw new UserError(`${where}: expected a constant (weights or a permutation)`);
  return value.constant;
}

function dequantize(node: TfNode, input: (index: number) => Value, where: string): TfConstant {
  const mode = attrString(node.attr.mode) ?? 'MIN_COMBINED';
  if (mode !== 'MIN_COMBINED') throw new UserError(`${where}: mode ${mode} is not supported (MIN_COMBINED only)`);
  const quantized = constant(input(0), where);
  if (quantized.dtype !== TF_DTYPE.quint8) throw new UserError(`${where}: only quint8 weights are supported`);
  return dequantizeMinCombined(quantized, constant(input(1), where).values[0], constant(input(2), where).values[0]);
}

function convolution(node: TfNode, source: Extract<Value, { kind: 'activation' }>, filter: TfConstant, builder: OnnxGraphBuilder, where: string): Value {
  requireNhwc(node, where);
  if (source.layout !== 'nhwc') throw new UserError(`${where}: expects an NHWC activation`);
  if (filter.dims.length !== 4) throw new UserError(`${where}: the filter should be [height, width, in, out], got [${filter.dims.join(', ')}]`);
  const [kh, kw, cin, cout] = filter.dims as [number, number, number, number];
  const strides = (node.attr.strides?.list?.i ?? [1, 1, 1, 1]).map(Number);
  const dilations = (node.attr.dilations?.list?.i ?? [1, 1, 1, 1]).map(Number);
  const padding = attrString(node.attr.padding) ?? 'VALID';
  if (padding !== 'SAME' && padding !== 'VALID') throw new UserError(`${where}: padding ${padding} is not supported`);
  // HWIO → OIHW.
  const weights = new Float32Array(filter.values.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < cin; i++) {
        for (let o = 0; o < cout; o++) weights[((o * cin + i) * kh + y) * kw + x] = filter.values[((y * kw + x) * cin + i) * cout + o]!;
      }
    }
  }
  const attributes = {
    kernel_shape: [kh, kw],
    strides: [strides[1], strides[2]],
    dilations: [dilations[1], dilations[2]],
    // TensorFlow's SAME puts the odd extra pixel of padding at the end, which is ONNX's SAME_UPPER.
    ...(padding === 'SAME' ? { auto_pad: 'SAME_UPPER' } : { pads: [0, 0, 0, 0] }),
  };
  const name = builder.node('Conv', [source.name, builder.floats(weights, [cout, cin, kh, kw])], attributes);
  return { kind: 'activation', name, layout: 'nhwc' };
}

function transpose(source: Extract<Value, { kind: 'activation' }>, perm: TfConstant, builder: OnnxGraphBuilder, where: string): Value {
  const order = Array.from(perm.values, Number);
  if (order.length !== 4) throw new UserError(`${where}: only 4-D transposes are supported`);
  // What is stored is transpose(tf, NHWC_TO_NCHW) for an nhwc value; undo that, then apply TensorFlow's permutation.
  const composed = source.layout === 'nhwc' ? order.map((axis) => NCHW_TO_NHWC[axis]) : order;
  if (composed.every((axis, i) => axis === i)) return { kind: 'activation', name: source.name, layout: 'as-is' };
  return { kind: 'activation', name: builder.node('Transpose', [source.name], { perm: composed }), layout: 'as-is' };
}

function binary(op: string, left: Value, right: Value, builder: OnnxGraphBuilder, where: string): Value {
  if (left.kind === 'constant' && right.kind === 'constant') {
    throw new UserError(`${where}: arithmetic on two constants is not supported`);
  }
  const layout = left.kind === 'activation' ? left.layout : (right as Extract<Value, { kind: 'activation' }>).layout;
  if (left.kind === 'activation' && right.kind === 'activation' && left.layout !== right.layout) {
    throw new UserError(`${where}: operands are in different layouts`);
  }
  const operand = (value: Value) => (value.kind === 'activation' ? value.name : broadcastConstant(value.constant, layout, builder));
  return { kind: 'activation', name: builder.node(op, [operand(left), operand(right)]), layout };
}

/**
 * A constant that broadcasts against an NHWC activation (a per-channel [C] bias, a scalar, a [1, 1, 1, C]
 * tensor) is right-aligned to four axes and permuted like the activation.
 */
function broadcastConstant(value: TfConstant, layout: 'nhwc' | 'as-is', builder: OnnxGraphBuilder): string {
  const values = Float32Array.from(value.values, Number);
  if (layout === 'as-is' || value.dims.length === 0) return builder.floats(values, value.dims);
  const dims = [...Array<number>(4 - value.dims.length).fill(1), ...value.dims];
  const [n, h, w, c] = dims as [number, number, number, number];
  const out = new Float32Array(values.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = values[((b * h + y) * w + x) * c + k]!;
      }
    }
  }
  return builder.floats(out, NHWC_TO_NCHW.map((axis) => dims[axis]));
}
