import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { halfBitsToFloat32Array } from '../../src/diffusion/onnx/float16.js';
import { RealGraph } from '../../src/onnx-writer/architectures/real-graph.js';
import { tempDir } from '../helpers/temp-dir.js';

test('a weight given by a source (a checkpoint’s tensor) is written as given, in float32 and in float16, after generated ones', async () => {
  const given = Float32Array.from({ length: 6 }, (_, i) => i * 0.5 - 1);
  for (const precision of ['float32', 'float16'] as const) {
    const graph = new RealGraph(precision);
    const x = graph.input('x', precision, [1, 2]);
    const generated = graph.weight('first.bias', [3], { value: 0.25 });
    const sourced = graph.weight('second.weight', [2, 3], { values: () => Promise.resolve(given) });
    graph.output(graph.node('Add', [graph.node('MatMul', [x, sourced]), generated]), 'y', precision, [1, 3]);
    const dir = await tempDir();
    const bytes = await graph.write(join(dir, 'model.onnx'), join(dir, 'model.onnx_data'), 1);
    const data = await readFile(join(dir, 'model.onnx_data'));
    const size = precision === 'float32' ? 4 : 2;
    assert.equal(bytes, 9 * size);
    const read = (from: number, count: number) => {
      const slice = new Uint8Array(data.subarray(from * size, (from + count) * size));
      return precision === 'float32' ? [...new Float32Array(slice.buffer)] : [...halfBitsToFloat32Array(new Uint16Array(slice.buffer))];
    };
    assert.deepEqual(read(0, 3), [0.25, 0.25, 0.25]);
    assert.deepEqual(read(3, 6), [...given], precision);
  }
});

test('a source that gives the wrong number of values is an error that names the weight', async () => {
  const graph = new RealGraph();
  graph.weight('w', [2, 2], { values: () => Promise.resolve(new Float32Array(3)) });
  const dir = await tempDir();
  await assert.rejects(graph.write(join(dir, 'model.onnx'), join(dir, 'model.onnx_data'), 1), { message: 'weight w is given 3 values for [2, 2]' });
});
