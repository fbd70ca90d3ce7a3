import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { originalVaeKey, SD_VAE_KEYS, vaeKeyTable } from '../../../src/models/checkpoint/vae-keys.js';

const TINY = (part: string) => fileURLToPath(new URL(`../../../../shared/data/diffusers-tiny/sd15-tiny/${part}/model.onnx`, import.meta.url));

describe('the VAE’s keys: diffusers’ names and the original’s', () => {
  test('the decoder’s levels numbered the other way; the mid attention’s 1×1 convolutions are linear layers', () => {
    const table = vaeKeyTable(SD_VAE_KEYS);
    const key = (name: string) => originalVaeKey(table, name);
    assert.deepEqual(key('decoder.up_blocks.0.resnets.2.conv1.weight'), { key: 'first_stage_model.decoder.up.3.block.2.conv1.weight', squeezed: false });
    assert.deepEqual(key('decoder.up_blocks.3.resnets.0.conv_shortcut.bias'), { key: 'first_stage_model.decoder.up.0.block.0.nin_shortcut.bias', squeezed: false });
    assert.deepEqual(key('decoder.up_blocks.0.upsamplers.0.conv.weight'), { key: 'first_stage_model.decoder.up.3.upsample.conv.weight', squeezed: false });
    assert.equal(key('decoder.up_blocks.3.upsamplers.0.conv.weight'), undefined, 'the last level does not grow the picture');
    assert.deepEqual(key('encoder.down_blocks.2.downsamplers.0.conv.weight'), { key: 'first_stage_model.encoder.down.2.downsample.conv.weight', squeezed: false });
    assert.deepEqual(key('encoder.mid_block.attentions.0.to_q.weight'), { key: 'first_stage_model.encoder.mid.attn_1.q.weight', squeezed: true });
    assert.deepEqual(key('decoder.mid_block.attentions.0.to_out.0.bias'), { key: 'first_stage_model.decoder.mid.attn_1.proj_out.bias', squeezed: false });
    assert.deepEqual(key('decoder.mid_block.attentions.0.group_norm.weight'), { key: 'first_stage_model.decoder.mid.attn_1.norm.weight', squeezed: false });
    assert.deepEqual(key('decoder.conv_norm_out.weight'), { key: 'first_stage_model.decoder.norm_out.weight', squeezed: false });
    assert.deepEqual(key('post_quant_conv.weight'), { key: 'first_stage_model.post_quant_conv.weight', squeezed: false });
  });

  for (const part of ['vae_decoder', 'vae_encoder']) {
    test(`every named weight of diffusers’ own tiny ${part} export has one original key, no two the same`, () => {
      const model = onnxProto.onnx.ModelProto.decode(readFileSync(TINY(part)));
      const named = (model.graph?.initializer ?? []).map((tensor) => tensor.name ?? '').filter((name) => name.startsWith('used.0.')).map((name) => name.slice('used.0.'.length));
      assert.ok(named.length >= 40, `${named.length} named weights`);
      // The tiny VAE: four levels of one resnet each (two in the decoder).
      const table = vaeKeyTable({ blocks: 4, layersPerBlock: 1 });
      const originals = named.map((name) => [name, originalVaeKey(table, name)?.key] as const);
      assert.deepEqual(originals.filter(([, original]) => original === undefined).map(([name]) => name), []);
      assert.equal(new Set(originals.map(([, original]) => original)).size, named.length);
    });
  }
});
