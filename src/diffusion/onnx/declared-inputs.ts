import { open, type FileHandle } from 'node:fs/promises';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** An input of an ONNX graph as its file declares it: a number for a fixed dimension, a name (or '?') for a dynamic one. */
export interface DeclaredInput {
  readonly name: string;
  readonly shape: readonly (number | string)[];
}

/** ModelProto.graph, GraphProto.input (onnx.proto3 field numbers). */
const MODEL_GRAPH = 7;
const GRAPH_INPUT = 11;

/**
 * The graph inputs of an ONNX file, read without loading it: the protobuf is walked field by field and everything but
 * the inputs (nodes, and the weights that make a UNet file gigabytes large) is skipped by its length, so this costs a
 * few reads whatever the file's size.
 */
export async function readDeclaredInputs(file: string): Promise<DeclaredInput[]> {
  const handle = await open(file, 'r');
  try {
    const reader = new FieldReader(handle);
    const size = (await handle.stat()).size;
    const graph = (await reader.fields(0, size, MODEL_GRAPH, true)).at(0);
    if (graph === undefined) return [];
    const inputs = await reader.fields(graph.start, graph.end, GRAPH_INPUT, false);
    const declared: DeclaredInput[] = [];
    for (const input of inputs) {
      const info = onnx.ValueInfoProto.decode(await reader.bytes(input.start, input.end));
      const dims = info.type?.tensorType?.shape?.dim ?? [];
      declared.push({ name: info.name, shape: dims.map((dim) => (dim.dimParam !== undefined && dim.dimParam !== null && dim.dimParam !== '' ? dim.dimParam : dim.dimValue !== undefined && dim.dimValue !== null ? Number(dim.dimValue) : '?')) });
    }
    return declared;
  } finally {
    await handle.close();
  }
}

interface FieldSpan {
  readonly start: number;
  readonly end: number;
}

/** Reads protobuf fields straight from a file, by offset. */
class FieldReader {
  readonly #handle: FileHandle;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** The length-delimited fields numbered `wanted` between two offsets; `first` stops at the first one. */
  async fields(start: number, end: number, wanted: number, first: boolean): Promise<FieldSpan[]> {
    const found: FieldSpan[] = [];
    let at = start;
    while (at < end) {
      const tag = await this.#varint(at);
      at = tag.next;
      const field = Math.floor(tag.value / 8);
      const wire = tag.value % 8;
      if (wire === 0) at = (await this.#varint(at)).next;
      else if (wire === 1) at += 8;
      else if (wire === 5) at += 4;
      else if (wire === 2) {
        const length = await this.#varint(at);
        const span = { start: length.next, end: length.next + length.value };
        if (span.end > end) throw new Error('a field runs past the end of its message');
        if (field === wanted) {
          found.push(span);
          if (first) return found;
        }
        at = span.end;
      } else throw new Error(`unsupported protobuf wire type ${wire}`);
    }
    return found;
  }

  async bytes(start: number, end: number): Promise<Uint8Array> {
    const buffer = Buffer.alloc(end - start);
    await this.#handle.read(buffer, 0, buffer.length, start);
    return buffer;
  }

  async #varint(at: number): Promise<{ value: number; next: number }> {
    const buffer = Buffer.alloc(10);
    const { bytesRead } = await this.#handle.read(buffer, 0, 10, at);
    let value = 0;
    for (let index = 0; index < bytesRead; index++) {
      value += (buffer[index] & 0x7f) * 2 ** (7 * index);
      if ((buffer[index] & 0x80) === 0) return { value, next: at + index + 1 };
    }
    throw new Error('a protobuf varint runs past the end of the file');
  }
}
