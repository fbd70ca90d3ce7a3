import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { detectCheckpoint, type Prediction } from '../../../src/models/checkpoint/checkpoint-family.js';
import { SafetensorsFile, safetensorsBytes } from '../../../src/models/checkpoint/safetensors-file.js';
import { tempDir } from '../../helpers/temp-dir.js';

type Shapes = Readonly<Record<string, readonly number[]>>;

const UNET_IN = 'model.diffusion_model.input_blocks.0.0.weight';
const CROSS_KEY = 'model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight';
const SD2_NORM = 'model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias';
const SD1: Shapes = { [UNET_IN]: [320, 4, 3, 3], [CROSS_KEY]: [320, 768], 'cond_stage_model.transformer.text_model.embeddings.position_embedding.weight': [77, 768] };
const SD2: Shapes = { [UNET_IN]: [320, 4, 3, 3], [CROSS_KEY]: [320, 1024], 'cond_stage_model.model.token_embedding.weight': [49408, 1024] };
const SDXL: Shapes = { [UNET_IN]: [320, 4, 3, 3], 'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight': [640, 2048], 'conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias': [1280] };

/** A checkpoint holding these tensors (zeros, or `values` where given), as fp32. */
async function checkpoint(shapes: Shapes, options: { values?: Readonly<Record<string, Float32Array>>; metadata?: Record<string, string> } = {}): Promise<SafetensorsFile> {
  const tensors = Object.entries(shapes).map(([name, shape]) => {
    const count = shape.reduce((product, size) => product * size, 1);
    const values = options.values?.[name] ?? new Float32Array(count);
    return { name, dtype: 'F32' as const, shape, bytes: new Uint8Array(values.buffer) };
  });
  const path = join(await tempDir(), 'checkpoint.safetensors');
  await writeFile(path, safetensorsBytes(tensors, options.metadata));
  return SafetensorsFile.open(path);
}

/** A norm bias spread this wide (population standard deviation). */
function spreadOf(deviation: number): Float32Array {
  return Float32Array.from({ length: 320 }, (_, i) => (i % 2 === 0 ? deviation : -deviation));
}

async function detect(shapes: Shapes, options: Parameters<typeof checkpoint>[1] = {}, given?: Prediction) {
  const file = await checkpoint(shapes, options);
  try {
    return await detectCheckpoint(file, given);
  } finally {
    await file.close();
  }
}

async function refusal(shapes: Shapes): Promise<string> {
  const error = await detect(shapes).then(() => undefined, (caught: unknown) => caught as Error);
  assert.equal(error?.name, 'UserError');
  return error.message;
}

describe('which Stable Diffusion a checkpoint is', () => {
  test('SD 1.x by 768-wide cross-attention, SDXL by its second text encoder; both epsilon unless they say otherwise', async () => {
    assert.deepEqual(await detect(SD1), { family: 'sd1', prediction: 'epsilon', predictionFrom: 'family', unetInChannels: 4 });
    assert.deepEqual(await detect(SDXL), { family: 'sdxl', prediction: 'epsilon', predictionFrom: 'family', unetInChannels: 4 });
    assert.deepEqual(await detect({ ...SDXL, v_pred: [0] }), { family: 'sdxl', prediction: 'v_prediction', predictionFrom: 'v_pred tensor', unetInChannels: 4 });
    assert.deepEqual(await detect(SD1, { metadata: { 'modelspec.prediction_type': 'v' } }), { family: 'sd1', prediction: 'v_prediction', predictionFrom: 'model spec', unetInChannels: 4 });
    assert.equal((await detect({ ...SD1, [UNET_IN]: [320, 9, 3, 3] })).unetInChannels, 9, 'an inpainting UNet');
  });

  test('SD 2.x by 1024-wide cross-attention; v or epsilon from its norm’s spread, its metadata, or as given', async () => {
    assert.deepEqual(await detect({ ...SD2, [SD2_NORM]: [320] }, { values: { [SD2_NORM]: spreadOf(0.2) } }), { family: 'sd2', prediction: 'v_prediction', predictionFrom: 'weights', unetInChannels: 4 });
    assert.deepEqual(await detect({ ...SD2, [SD2_NORM]: [320] }, { values: { [SD2_NORM]: spreadOf(0.05) } }), { family: 'sd2', prediction: 'epsilon', predictionFrom: 'weights', unetInChannels: 4 });
    assert.deepEqual(await detect({ ...SD2, [SD2_NORM]: [320] }, { values: { [SD2_NORM]: spreadOf(0.2) }, metadata: { 'modelspec.prediction_type': 'epsilon' } }), { family: 'sd2', prediction: 'epsilon', predictionFrom: 'model spec', unetInChannels: 4 });
    assert.deepEqual(await detect({ ...SD2, [SD2_NORM]: [320] }, { values: { [SD2_NORM]: spreadOf(0.2) } }, 'epsilon'), { family: 'sd2', prediction: 'epsilon', predictionFrom: 'given', unetInChannels: 4 });
  });

  test('other families are refused by name', async () => {
    assert.match(await refusal({ 'model.diffusion_model.joint_blocks.0.context_block.adaLN_modulation.1.bias': [9216] }), /^checkpoint\.safetensors is Stable Diffusion 3 \/ 3\.5, which this bot does not run/);
    assert.match(await refusal({ 'double_blocks.0.img_attn.norm.key_norm.scale': [128] }), /is Flux, which this bot does not run/);
    assert.match(await refusal({ 'clip_txt_mapper.weight': [2048, 1280] }), /is Stable Cascade, which/);
    assert.match(await refusal({ [UNET_IN]: [320, 4, 3, 3], 'conditioner.embedders.0.model.transformer.resblocks.9.mlp.c_proj.bias': [1280] }), /is an SDXL refiner: it only refines another model's pictures/);
    assert.match(await refusal({ 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight': [8, 320], 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight': [320, 8] }), /is a LoRA, not a checkpoint/);
    assert.equal(await refusal({ 'encoder.down.0.block.0.conv1.weight': [128, 3, 3, 3] }), 'checkpoint.safetensors has no UNet (model.diffusion_model.*): it holds only a text encoder or a VAE, not a whole checkpoint');
    assert.equal(await refusal({ 'transformer.h.0.attn.weight': [4, 4] }), 'checkpoint.safetensors has no UNet (model.diffusion_model.*): its tensors are not Stable Diffusion\'s (the first: transformer.h.0.attn.weight)');
    assert.match(await refusal({ [UNET_IN]: [320, 4, 3, 3], [CROSS_KEY]: [320, 512] }), /cross-attention is 512 wide: neither SD 1\.x \(768\), SD 2\.x \(1024\) nor SDXL/);
  });
});
