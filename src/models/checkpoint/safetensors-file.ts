import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../core/errors.js';
import { halfBitsToFloat32Array } from '../../diffusion/onnx/float16.js';

/** Bytes per element of each dtype the safetensors format names. */
const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 } as const;
export type SafetensorsDtype = keyof typeof DTYPE_BYTES;
/** The dtypes a weight may be stored in and read as float32. */
const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** The header is JSON read whole into memory: a real one is a few MB even for SDXL's 2 500 tensors. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Where its bytes are in the file (absolute offsets, end excluded). */
  readonly begin: number;
  readonly end: number;
}

/**
 * A `.safetensors` file read without loading it: the header (every tensor's name, dtype, shape and place) is read and
 * checked at open, and each tensor's bytes only when asked for, so a 7 GB checkpoint costs the memory of its largest
 * tensor. A file that is not one, or whose header lies (offsets outside the file, overlapping or leaving holes, a size
 * that is not its shape's), is a UserError that names the file and what is wrong.
 */
export class SafetensorsFile {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  /** The header's `__metadata__` (text to text): the trainer's notes, `modelspec.*`, `ss_*` for kohya LoRAs. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly #file: FileHandle;

  private constructor(path: string, file: FileHandle, tensors: ReadonlyMap<string, TensorEntry>, metadata: Readonly<Record<string, string>>) {
    this.path = path;
    this.#file = file;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static async open(path: string): Promise<SafetensorsFile> {
    await refusePickle(path);
    const file = await open(path, 'r').catch((error: unknown) => {
      throw new UserError(`cannot read ${basename(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    });
    try {
      const { size } = await file.stat();
      const { tensors, metadata } = await readHeader(file, size, basename(path));
      return new SafetensorsFile(path, file, tensors, metadata);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** A tensor's bytes as stored. */
  async readBytes(name: string): Promise<Buffer> {
    const entry = this.#entry(name);
    const bytes = Buffer.allocUnsafe(entry.end - entry.begin);
    const { bytesRead } = await this.#file.read(bytes, 0, bytes.length, entry.begin);
    if (bytesRead !== bytes.length) throw new UserError(`${basename(this.path)} ends inside tensor ${name}: the file is cut short`);
    return bytes;
  }

  /** A weight as float32, whatever float type it is stored in (fp16 and bf16 widen exactly; fp64 rounds). */
  async readFloat32(name: string): Promise<Float32Array> {
    const entry = this.#entry(name);
    if (!FLOAT_DTYPES.includes(entry.dtype)) throw new UserError(`tensor ${name} of ${basename(this.path)} is ${entry.dtype}, not a floating-point weight`);
    return toFloat32(await this.readBytes(name), entry.dtype);
  }

  async close(): Promise<void> {
    await this.#file.close();
  }

  #entry(name: string): TensorEntry {
    const entry = this.tensors.get(name);
    if (entry === undefined) throw new UserError(`${basename(this.path)} has no tensor ${name}`);
    return entry;
  }
}

/** Bytes of a float dtype, as float32 (a copy; the bytes may be unaligned in the file's buffer). */
export function toFloat32(bytes: Buffer, dtype: SafetensorsDtype): Float32Array {
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(aligned.buffer);
    case 'F16':
      return halfBitsToFloat32Array(new Uint16Array(aligned.buffer));
    case 'BF16': {
      // bfloat16 is the top half of a float32: widening is a shift.
      const halves = new Uint16Array(aligned.buffer);
      const words = new Uint32Array(halves.length);
      for (let i = 0; i < halves.length; i++) words[i] = halves[i] << 16;
      return new Float32Array(words.buffer);
    }
    case 'F64':
      return Float32Array.from(new Float64Array(aligned.buffer));
    default:
      throw new UserError(`${dtype} is not a floating-point dtype`);
  }
}

/**
 * A pickle (`.ckpt`, `.pt`, `.bin` from torch.save: a zip of pickles, or a bare pickle) is refused by its first bytes,
 * whatever its name: unpickling runs whatever code the file names.
 */
async function refusePickle(path: string): Promise<void> {
  const head = Buffer.alloc(4);
  const file = await open(path, 'r').catch((error: unknown) => {
    throw new UserError(`cannot read ${basename(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  });
  try {
    await file.read(head, 0, 4, 0);
  } finally {
    await file.close();
  }
  const zip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  const pickle = head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
  if (zip || pickle) {
    throw new UserError(`${basename(path)} is a pickled PyTorch file (.ckpt/.pt): loading one can run any code it carries, so it is refused. Use the .safetensors version of the model (most are published as both), or convert it on a machine you trust.`);
  }
}

async function readHeader(file: FileHandle, size: number, name: string): Promise<{ tensors: Map<string, TensorEntry>; metadata: Record<string, string> }> {
  const bad = (why: string) => new UserError(`${name} is not a usable .safetensors file: ${why}`);
  if (size < 8) throw bad('it is shorter than its own header');
  const lengthBytes = Buffer.alloc(8);
  await file.read(lengthBytes, 0, 8, 0);
  const headerLength = Number(lengthBytes.readBigUInt64LE(0));
  if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) throw bad(`its header length (${headerLength} bytes) does not fit the file (${size} bytes)`);
  const headerBytes = Buffer.alloc(headerLength);
  await file.read(headerBytes, 0, headerLength, 8);
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw bad('its header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('its header is not a JSON object');
  const dataStart = 8 + headerLength;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorEntry>();
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (typeof value === 'object' && value !== null) for (const [field, text] of Object.entries(value as Record<string, unknown>)) if (typeof text === 'string') metadata[field] = text;
      continue;
    }
    tensors.set(key, tensorEntry(key, value, dataStart, bad));
  }
  // The format leaves no byte of the data unused and none used twice: anything else is a damaged or forged file.
  const ordered = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = dataStart;
  for (const entry of ordered) {
    if (entry.begin !== at) throw bad(entry.begin < at ? `tensor ${entry.name} overlaps another` : `the bytes before tensor ${entry.name} belong to no tensor`);
    at = entry.end;
  }
  if (at !== size) throw bad(at > size ? 'it is cut short (its tensors run past its end)' : 'it has bytes after its last tensor');
  return { tensors, metadata };
}

function tensorEntry(name: string, value: unknown, dataStart: number, bad: (why: string) => UserError): TensorEntry {
  const entry = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  const dtype = entry?.dtype;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) throw bad(`tensor ${name} has an unknown dtype ${JSON.stringify(dtype)}`);
  const shape = entry?.shape;
  if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && (size as number) >= 0)) throw bad(`tensor ${name} has no valid shape`);
  const offsets = entry?.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => Number.isSafeInteger(offset) && (offset as number) >= 0)) throw bad(`tensor ${name} has no valid data_offsets`);
  const [begin, end] = offsets as [number, number];
  const elements = (shape as number[]).reduce((product, size) => product * size, 1);
  if (end - begin !== elements * DTYPE_BYTES[dtype as SafetensorsDtype]) throw bad(`tensor ${name} holds ${end - begin} bytes, but a ${dtype} of shape [${(shape as number[]).join(', ')}] is ${elements * DTYPE_BYTES[dtype as SafetensorsDtype]}`);
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}

/** Writes a .safetensors file (tests, and the bench's generated checkpoints): tensors in the order given. */
export function safetensorsBytes(tensors: readonly { readonly name: string; readonly dtype: SafetensorsDtype; readonly shape: readonly number[]; readonly bytes: Uint8Array }[], metadata?: Readonly<Record<string, string>>): Buffer {
  const header: Record<string, unknown> = metadata === undefined ? {} : { __metadata__: metadata };
  let offset = 0;
  for (const tensor of tensors) {
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.bytes.length] };
    offset += tensor.bytes.length;
  }
  // Padded with spaces to a multiple of 8, as the reference writer does, so that the data starts aligned.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([length, Buffer.from(json, 'utf8'), ...tensors.map((tensor) => Buffer.from(tensor.bytes.buffer, tensor.bytes.byteOffset, tensor.bytes.byteLength))]);
}
