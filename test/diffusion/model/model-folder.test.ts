import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readModelFolder } from '../../../src/diffusion/model/model-folder.js';
import { SessionLoader } from '../../../src/diffusion/onnx/session-loader.js';
import { TextToImagePipeline } from '../../../src/diffusion/pipelines/text-to-image-pipeline.js';
import { OnnxGraphBuilder, type Dimension, type FixtureType } from '../../../src/onnx-writer/onnx-graph-builder.js';
import { writeSdxlFixture } from '../../fixtures/sdxl-fixture.js';
import { tempDir } from '../../helpers/temp-dir.js';

async function fixture(): Promise<string> {
  return writeSdxlFixture(join(await tempDir(), 'model'), { variant: 'optimum-2023' });
}

/** Replaces a component with a pass-through graph that has the given inputs (the first one is echoed). */
async function replaceComponent(file: string, inputs: readonly [string, FixtureType, Dimension[]][], outputs: readonly string[]): Promise<void> {
  const graph = new OnnxGraphBuilder();
  for (const [name, type, shape] of inputs) graph.input(name, type, shape);
  const [firstName, firstType, firstShape] = inputs[0];
  for (const output of outputs) {
    graph.node('Identity', [firstName], {}, output);
    graph.output(output, firstType, firstShape);
  }
  await graph.write(file);
}

async function renderError(dir: string): Promise<Error> {
  const pipeline = new TextToImagePipeline(await readModelFolder(dir), new SessionLoader({ device: 'cpu', threads: 1 }));
  try {
    await pipeline.generate({ prompt: 'a fox', seed: 1, steps: 1 });
  } catch (error) {
    return error as Error;
  } finally {
    await pipeline.release();
  }
  assert.fail('the render should have failed');
}

describe('reading a model folder', () => {
  test('a good folder: SDXL family, turbo defaults, scaling factor and native size from its JSON files', async () => {
    const folder = await readModelFolder(await fixture());
    assert.equal(folder.family, 'sdxl');
    assert.equal(folder.vaeScalingFactor, 0.13025);
    assert.equal(folder.nativeSize, 512);
    assert.equal(folder.scheduler.timestep_spacing, 'trailing');
    assert.equal(folder.forceZerosForEmptyPrompt, true);
    const pipeline = new TextToImagePipeline(folder, new SessionLoader({ device: 'cpu', threads: 1 }));
    assert.deepEqual(pipeline.defaults, { steps: 4, guidance: 0, size: 512, scheduler: 'euler-ancestral' });
  });

  test('a missing folder', async () => {
    await assert.rejects(readModelFolder('/nonexistent/model'), { name: 'UserError', message: 'model folder not found: /nonexistent/model' });
  });

  test('a missing model_index.json names the file', async () => {
    const dir = await fixture();
    await rm(join(dir, 'model_index.json'));
    await assert.rejects(readModelFolder(dir), { name: 'UserError', message: `${join(dir, 'model_index.json')} is missing` });
  });

  test('a missing component names the file', async () => {
    const dir = await fixture();
    await rm(join(dir, 'unet', 'model.onnx'));
    await assert.rejects(readModelFolder(dir), { name: 'UserError', message: `${dir} is incomplete: ${join(dir, 'unet', 'model.onnx')} is missing` });
  });

  test('a broken scheduler config names the file and the field', async () => {
    const dir = await fixture();
    await writeFile(join(dir, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'EulerAncestralDiscreteScheduler', timestep_spacing: 'sideways' }));
    await assert.rejects(readModelFolder(dir), (error: Error) => error.name === 'UserError' && error.message.startsWith(`${join(dir, 'scheduler', 'scheduler_config.json')}: timestep_spacing`));
  });

  test('invalid JSON names the file', async () => {
    const dir = await fixture();
    await writeFile(join(dir, 'vae_decoder', 'config.json'), '{"scaling_factor": ');
    await assert.rejects(readModelFolder(dir), new RegExp(`${join(dir, 'vae_decoder', 'config.json').replaceAll('/', '\\/')} is not valid JSON`));
  });

  test('a missing external data file is reported, not a crash', async () => {
    const dir = await fixture();
    await rm(join(dir, 'unet', 'model.onnx_data'));
    const error = await renderError(dir);
    assert.equal(error.name, 'UserError');
    assert.match(error.message, /unet\/model\.onnx/);
  });
});

describe('components that do not match the expected interface', () => {
  test('a UNet input with the wrong name: names the file, the expected input and what the file has', async () => {
    const dir = await fixture();
    await replaceComponent(join(dir, 'unet', 'model.onnx'), [
      ['latents', 'float32', ['batch', 4, 'h', 'w']],
      ['timestep', 'int64', [1]],
      ['encoder_hidden_states', 'float32', ['batch', 77, 2048]],
      ['text_embeds', 'float32', ['batch', 1280]],
      ['time_ids', 'float32', ['batch', 6]],
    ], ['out_sample']);
    const error = await renderError(dir);
    assert.equal(error.name, 'UserError');
    assert.equal(error.message, "unet/model.onnx: expected an input named 'sample', found latents, timestep, encoder_hidden_states, text_embeds, time_ids");
  });

  test('a timestep of the wrong rank', async () => {
    const dir = await fixture();
    await replaceComponent(join(dir, 'unet', 'model.onnx'), [
      ['sample', 'float32', ['batch', 4, 'h', 'w']],
      ['timestep', 'int64', [1, 1]],
      ['encoder_hidden_states', 'float32', ['batch', 77, 2048]],
      ['text_embeds', 'float32', ['batch', 1280]],
      ['time_ids', 'float32', ['batch', 6]],
    ], ['out_sample']);
    const error = await renderError(dir);
    assert.equal(error.message, "unet/model.onnx: input 'timestep' should have rank 0 or 1, but the file declares [1, 1]");
  });

  test('a text encoder without hidden_states outputs (exported without output_hidden_states)', async () => {
    const dir = await fixture();
    await replaceComponent(join(dir, 'text_encoder', 'model.onnx'), [['input_ids', 'int32', ['batch', 'sequence']]], ['last_hidden_state', 'pooler_output']);
    const error = await renderError(dir);
    assert.equal(error.name, 'UserError');
    assert.match(error.message, /^text_encoder\/model\.onnx: expected outputs hidden_states\.0 … hidden_states\.N .*found last_hidden_state, pooler_output$/);
  });

  test('a UNet whose context width does not match the encoders', async () => {
    const dir = await fixture();
    await replaceComponent(join(dir, 'unet', 'model.onnx'), [
      ['sample', 'float32', ['batch', 4, 'h', 'w']],
      ['timestep', 'int64', [1]],
      ['encoder_hidden_states', 'float32', ['batch', 77, 768]],
      ['text_embeds', 'float32', ['batch', 1280]],
      ['time_ids', 'float32', ['batch', 6]],
    ], ['out_sample']);
    const error = await renderError(dir);
    assert.equal(error.message, "unet/model.onnx: input 'encoder_hidden_states' is declared [batch, 77, 768], but the text encoders give [1, 77, 2048]; the encoders and the UNet are from different models");
  });
});
