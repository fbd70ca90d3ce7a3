import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { originalUnetKey, SD1_UNET_KEYS, SDXL_UNET_KEYS, unetKeyTable } from '../../../src/models/checkpoint/unet-keys.js';

const TINY_UNET = fileURLToPath(new URL('../../../../shared/data/diffusers-tiny/sd15-tiny/unet/model.onnx', import.meta.url));

describe('the UNet’s keys: diffusers’ names and the original’s', () => {
  test('SD 1.x: the blocks numbered in one sequence, the samplers after their block’s last layer', () => {
    const table = unetKeyTable(SD1_UNET_KEYS);
    const key = (name: string) => originalUnetKey(table, name);
    assert.equal(key('conv_in.weight'), 'model.diffusion_model.input_blocks.0.0.weight');
    assert.equal(key('time_embedding.linear_2.bias'), 'model.diffusion_model.time_embed.2.bias');
    assert.equal(key('down_blocks.0.resnets.0.norm1.weight'), 'model.diffusion_model.input_blocks.1.0.in_layers.0.weight');
    assert.equal(key('down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight'), 'model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight');
    assert.equal(key('down_blocks.0.downsamplers.0.conv.weight'), 'model.diffusion_model.input_blocks.3.0.op.weight');
    assert.equal(key('down_blocks.1.resnets.0.conv_shortcut.weight'), 'model.diffusion_model.input_blocks.4.0.skip_connection.weight');
    assert.equal(key('down_blocks.3.resnets.1.time_emb_proj.bias'), 'model.diffusion_model.input_blocks.11.0.emb_layers.1.bias');
    assert.equal(key('mid_block.attentions.0.proj_in.weight'), 'model.diffusion_model.middle_block.1.proj_in.weight');
    assert.equal(key('mid_block.resnets.1.conv2.weight'), 'model.diffusion_model.middle_block.2.out_layers.3.weight');
    assert.equal(key('up_blocks.0.upsamplers.0.conv.weight'), 'model.diffusion_model.output_blocks.2.1.conv.weight');
    assert.equal(key('up_blocks.1.upsamplers.0.conv.bias'), 'model.diffusion_model.output_blocks.5.2.conv.bias');
    assert.equal(key('up_blocks.3.attentions.2.proj_out.weight'), 'model.diffusion_model.output_blocks.11.1.proj_out.weight');
    assert.equal(key('conv_norm_out.weight'), 'model.diffusion_model.out.0.weight');
    assert.equal(key('up_blocks.3.upsamplers.0.conv.weight'), undefined, 'the last up block has no upsampler');
    assert.equal(key('down_blocks.3.attentions.0.proj_in.weight'), undefined, 'the last down block has no transformer');
  });

  test('SDXL: the added embedding, no transformer in the first block, ten-deep transformers keep their inner names', () => {
    const table = unetKeyTable(SDXL_UNET_KEYS);
    const key = (name: string) => originalUnetKey(table, name);
    assert.equal(key('add_embedding.linear_1.weight'), 'model.diffusion_model.label_emb.0.0.weight');
    assert.equal(key('down_blocks.0.attentions.0.proj_in.weight'), undefined);
    assert.equal(key('down_blocks.2.attentions.1.transformer_blocks.9.ff.net.0.proj.weight'), 'model.diffusion_model.input_blocks.8.1.transformer_blocks.9.ff.net.0.proj.weight');
    assert.equal(key('down_blocks.2.downsamplers.0.conv.weight'), undefined, 'the last down block has no downsampler');
    assert.equal(key('up_blocks.0.attentions.2.norm.weight'), 'model.diffusion_model.output_blocks.2.1.norm.weight');
    assert.equal(key('up_blocks.1.upsamplers.0.conv.weight'), 'model.diffusion_model.output_blocks.5.2.conv.weight');
    assert.equal(key('up_blocks.2.resnets.2.conv1.weight'), 'model.diffusion_model.output_blocks.8.0.in_layers.2.weight');
  });

  test('every named weight of diffusers’ own tiny UNet export has one original key, no two the same', () => {
    const model = onnxProto.onnx.ModelProto.decode(readFileSync(TINY_UNET));
    // torch.onnx names the weights it keeps by their module path (under the export wrapper's `used.0.`); the
    // MatMul weights it transposes are left anonymous (`onnx::MatMul_…`).
    const named = (model.graph?.initializer ?? []).map((tensor) => tensor.name ?? '').filter((name) => name.startsWith('used.0.')).map((name) => name.slice('used.0.'.length));
    assert.ok(named.length > 80, `${named.length} named weights`);
    const table = unetKeyTable({ layersPerBlock: 1, attention: [true, false], addedEmbedding: false });
    const originals = named.map((name) => [name, originalUnetKey(table, name)] as const);
    assert.deepEqual(originals.filter(([, original]) => original === undefined).map(([name]) => name), []);
    assert.equal(new Set(originals.map(([, original]) => original)).size, named.length);
  });
});
