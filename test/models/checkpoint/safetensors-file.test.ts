import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { float32ArrayToHalfBits } from '../../../src/diffusion/onnx/float16.js';
import { SafetensorsFile, safetensorsBytes } from '../../../src/models/checkpoint/safetensors-file.js';
import { tempDir } from '../../helpers/temp-dir.js';

const VALUES = new Float32Array([0, 1, -2.5, 0.15625, 65504, -0.000061035156]);

function bf16(values: Float32Array): Uint8Array {
  const words = new Uint32Array(values.buffer.slice(0));
  return new Uint8Array(Uint16Array.from(words, (word) => word >>> 16).buffer);
}

async function written(bytes: Uint8Array, name = 'model.safetensors'): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, bytes);
  return path;
}

/** A header as given, then `dataBytes` zero bytes. */
function rawFile(header: unknown, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, Buffer.alloc(dataBytes)]);
}

describe('SafetensorsFile', () => {
  test('reads every tensor’s name, dtype and shape, the metadata, and fp32, fp16 and bf16 weights as float32', async () => {
    const path = await written(safetensorsBytes([
      { name: 'a.f32', dtype: 'F32', shape: [2, 3], bytes: new Uint8Array(VALUES.buffer) },
      { name: 'b.f16', dtype: 'F16', shape: [6], bytes: new Uint8Array(float32ArrayToHalfBits(VALUES).buffer) },
      { name: 'c.bf16', dtype: 'BF16', shape: [3, 2], bytes: bf16(new Float32Array([1, -2, 0.5, 3, 0, -0.25])) },
    ], { 'modelspec.prediction_type': 'v' }));
    const file = await SafetensorsFile.open(path);
    try {
      assert.deepEqual([...file.tensors.values()].map((entry) => [entry.name, entry.dtype, entry.shape]), [['a.f32', 'F32', [2, 3]], ['b.f16', 'F16', [6]], ['c.bf16', 'BF16', [3, 2]]]);
      assert.deepEqual(file.metadata, { 'modelspec.prediction_type': 'v' });
      assert.deepEqual(await file.readFloat32('a.f32'), VALUES);
      // Each value is exact in half precision but the last, which rounds to fp16's nearest.
      assert.deepEqual([...(await file.readFloat32('b.f16'))].slice(0, 5), [...VALUES].slice(0, 5));
      assert.ok(Math.abs((await file.readFloat32('b.f16'))[5] - VALUES[5]) < 1e-7);
      assert.deepEqual([...(await file.readFloat32('c.bf16'))], [1, -2, 0.5, 3, 0, -0.25]);
      await assert.rejects(file.readFloat32('missing'), { name: 'UserError', message: 'model.safetensors has no tensor missing' });
    } finally {
      await file.close();
    }
  });

  test('a pickled PyTorch file is refused by its first bytes, whatever its name', async () => {
    for (const [name, head] of [['model.ckpt', [0x50, 0x4b, 0x03, 0x04]], ['model.safetensors', [0x80, 0x02, 0x7d, 0x71]]] as const) {
      const path = await written(Buffer.concat([Buffer.from(head), Buffer.alloc(64)]), name);
      await assert.rejects(SafetensorsFile.open(path), (error: Error) => error.name === 'UserError' && error.message.startsWith(`${name} is a pickled PyTorch file (.ckpt/.pt): loading one can run any code it carries`));
    }
  });

  const damaged: [string, Buffer, string][] = [
    ['too short', Buffer.alloc(4), 'it is shorter than its own header'],
    ['a header longer than the file', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n); return b; })(), 'its header length (1000 bytes) does not fit the file (16 bytes)'],
    ['a header that is not JSON', (() => { const j = Buffer.from('{nope'); const l = Buffer.alloc(8); l.writeBigUInt64LE(BigInt(j.length)); return Buffer.concat([l, j]); })(), 'its header is not JSON'],
    ['an unknown dtype', rawFile({ w: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, 16), 'tensor w has an unknown dtype "F128"'],
    ['a size that is not its shape’s', rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), 'tensor w holds 8 bytes, but a F32 of shape [3] is 12'],
    ['overlapping tensors', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), 'tensor b overlaps another'],
    ['a hole', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'the bytes before tensor a belong to no tensor'],
    ['cut short', rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), 'it is cut short (its tensors run past its end)'],
    ['bytes after the last tensor', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), 'it has bytes after its last tensor'],
  ];
  for (const [what, bytes, why] of damaged) {
    test(`a damaged file is refused with what is wrong: ${what}`, async () => {
      await assert.rejects(SafetensorsFile.open(await written(bytes)), { name: 'UserError', message: `model.safetensors is not a usable .safetensors file: ${why}` });
    });
  }
});
