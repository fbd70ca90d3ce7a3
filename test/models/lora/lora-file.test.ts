import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SafetensorsFile, safetensorsBytes } from '../../../src/models/checkpoint/safetensors-file.js';
import { loraDelta, readLora, type LoraContents } from '../../../src/models/lora/lora-file.js';
import { tempDir } from '../../helpers/temp-dir.js';

interface Tensor {
  readonly shape: readonly number[];
  readonly values?: Float32Array;
}

async function loraFile(tensors: Readonly<Record<string, Tensor>>): Promise<SafetensorsFile> {
  const entries = Object.entries(tensors).map(([name, { shape, values }]) => {
    const count = shape.reduce((product, size) => product * size, 1);
    const data = values ?? Float32Array.from({ length: count }, (_, i) => ((i * 7) % 11) / 10 - 0.5);
    return { name, dtype: 'F32' as const, shape, bytes: new Uint8Array(data.buffer) };
  });
  const path = join(await tempDir(), 'style.safetensors');
  await writeFile(path, safetensorsBytes(entries));
  return SafetensorsFile.open(path);
}

async function read(tensors: Readonly<Record<string, Tensor>>): Promise<LoraContents> {
  const file = await loraFile(tensors);
  try {
    return await readLora(file);
  } finally {
    await file.close();
  }
}

async function refused(tensors: Readonly<Record<string, Tensor>>): Promise<string> {
  const error = await read(tensors).then(() => undefined, (caught: unknown) => caught as Error);
  assert.equal(error?.name, 'UserError');
  return error.message;
}

const summary = (contents: LoraContents) => contents.modules.map((module) => [module.target, module.layer, module.rank, module.alpha, module.convolution]);

describe('reading a LoRA file', () => {
  test('kohya: unet and text encoder modules, SDXL’s te1/te2, alpha from the file or the rank', async () => {
    const contents = await read({
      'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight': { shape: [4, 2048] },
      'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight': { shape: [640, 4] },
      'lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.alpha': { shape: [], values: new Float32Array([2]) },
      'lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': { shape: [4, 768] },
      'lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': { shape: [768, 4] },
      'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': { shape: [4, 1280] },
      'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight': { shape: [1280, 4] },
    });
    assert.equal(contents.format, 'kohya');
    assert.deepEqual(summary(contents), [
      ['unet', 'input_blocks_4_1_transformer_blocks_0_attn2_to_k', 4, 2, false],
      ['text_encoder', 'text_model_encoder_layers_0_self_attn_q_proj', 4, 4, false],
      ['text_encoder_2', 'text_model_encoder_layers_0_self_attn_q_proj', 4, 4, false],
    ]);
    assert.deepEqual(contents.textWidths, [768, 1280]);
    assert.equal(contents.crossAttentionWidth, 2048);
  });

  test('diffusers/PEFT (lora_A/lora_B, with or without .default) and lora.down/lora.up, flattened to the same layer names', async () => {
    const peft = await read({
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': { shape: [8, 320] },
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight': { shape: [320, 8] },
      'text_encoder.text_model.encoder.layers.3.self_attn.q_proj.lora_A.default.weight': { shape: [8, 1024] },
      'text_encoder.text_model.encoder.layers.3.self_attn.q_proj.lora_B.default.weight': { shape: [1024, 8] },
    });
    assert.equal(peft.format, 'peft');
    assert.deepEqual(summary(peft), [['unet', 'down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', 8, 8, false], ['text_encoder', 'text_model_encoder_layers_3_self_attn_q_proj', 8, 8, false]]);
    assert.deepEqual(peft.textWidths, [1024], 'an SD 2.x text encoder');
    const diffusers = await read({
      'unet.mid_block.attentions.0.proj_in.lora.down.weight': { shape: [2, 1280] },
      'unet.mid_block.attentions.0.proj_in.lora.up.weight': { shape: [1280, 2] },
    });
    assert.equal(diffusers.format, 'diffusers');
    assert.deepEqual(summary(diffusers), [['unet', 'mid_block_attentions_0_proj_in', 2, 2, false]]);
  });

  test('a LoCon convolution: down [rank, in, k, k], up [out, rank, 1, 1]', async () => {
    const contents = await read({
      'lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight': { shape: [4, 320, 3, 3] },
      'lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight': { shape: [320, 4, 1, 1] },
    });
    assert.deepEqual(summary(contents), [['unet', 'down_blocks_0_resnets_0_conv1', 4, 4, true]]);
  });

  test('LoHa, LoKr and IA³ are refused by name; an unpaired factor or factors that do not multiply are refused', async () => {
    assert.match(await refused({ 'lora_unet_a.hada_w1_a': { shape: [4, 4] }, 'lora_unet_a.hada_w1_b': { shape: [4, 4] } }), /is a LyCORIS LoHa \(Hadamard product\) network, which this bot does not apply/);
    assert.match(await refused({ 'lora_unet_a.lokr_w1': { shape: [4, 4] } }), /LoKr \(Kronecker product\)/);
    assert.match(await refused({ 'lora_unet_a.weight': { shape: [4] }, 'lora_unet_a.on_input': { shape: [] } }), /IA³/);
    assert.equal(await refused({ 'lora_unet_a.lora_down.weight': { shape: [4, 8] } }), 'style.safetensors has the down factor of lora_unet_a but not its up factor: the file is incomplete');
    assert.equal(await refused({ 'lora_unet_a.lora_down.weight': { shape: [4, 8] }, 'lora_unet_a.lora_up.weight': { shape: [8, 2] } }), 'style.safetensors: the factors of lora_unet_a do not multiply (down [4, 8], up [8, 2])');
    assert.match(await refused({ 'lora_unet_a.lora_up.weight': { shape: [8, 4] } }), /holds no LoRA module/);
    assert.match(await refused({ 'vae.encoder.conv_in.lora_A.weight': { shape: [4, 3] }, 'vae.encoder.conv_in.lora_B.weight': { shape: [8, 4] } }), /has a module vae\.encoder\.conv_in of no network this bot knows/);
  });
});

describe('a LoRA module’s update', () => {
  test('weight · (alpha / rank) · up · down, against the product written out', async () => {
    const down = new Float32Array([1, 2, 3, -1, 0, 2]); // rank 2 × in 3
    const up = new Float32Array([1, 0.5, -2, 1]); // out 2 × rank 2
    const file = await loraFile({ 'lora_unet_x.lora_down.weight': { shape: [2, 3], values: down }, 'lora_unet_x.lora_up.weight': { shape: [2, 2], values: up }, 'lora_unet_x.alpha': { shape: [], values: new Float32Array([1]) } });
    const [module] = (await readLora(file)).modules;
    await file.close();
    // up·down = [[1·1 + 0.5·−1, 1·2 + 0.5·0, 1·3 + 0.5·2], [−2·1 + 1·−1, −2·2 + 0, −2·3 + 1·2]] = [[0.5, 2, 4], [−3, −4, −4]]
    for (const weight of [0, 0.5, 1, -1]) {
      const expected = [0.5, 2, 4, -3, -4, -4].map((value) => value * weight * (1 / 2));
      // (+ 0 turns the −0 of a zero weight into 0, as the update, which skips zero factors, writes it.)
      assert.deepEqual([...loraDelta(module, down, up, weight)], expected.map((value) => value + 0), `weight ${weight}`);
    }
  });

  test('a LoCon’s 1×1 up multiplies every kernel position of down', async () => {
    const down = Float32Array.from({ length: 1 * 2 * 2 * 2 }, (_, i) => i + 1); // rank 1, in 2, 2×2
    const up = new Float32Array([2, -1]); // out 2, rank 1
    const file = await loraFile({ 'lora_unet_c.lora_down.weight': { shape: [1, 2, 2, 2], values: down }, 'lora_unet_c.lora_up.weight': { shape: [2, 1, 1, 1], values: up } });
    const [module] = (await readLora(file)).modules;
    await file.close();
    assert.deepEqual([...loraDelta(module, down, up, 1)], [...[...down].map((value) => value * 2), ...[...down].map((value) => -value)]);
  });
});
