import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { originalTextEncoderKey, TEXT_ENCODER_PREFIXES, unusedTextEncoderKey } from '../../../src/models/checkpoint/text-encoder-keys.js';

describe('the text encoders’ keys', () => {
  test('CLIP (SD 1.x, SDXL’s first): transformers’ own names under the checkpoint’s prefix', () => {
    assert.deepEqual(originalTextEncoderKey('clip', TEXT_ENCODER_PREFIXES.sd1[0], 'text_model.encoder.layers.11.self_attn.q_proj.weight'), { key: 'cond_stage_model.transformer.text_model.encoder.layers.11.self_attn.q_proj.weight' });
    assert.deepEqual(originalTextEncoderKey('clip', TEXT_ENCODER_PREFIXES.sdxl[0], 'text_model.final_layer_norm.bias'), { key: 'conditioner.embedders.0.transformer.text_model.final_layer_norm.bias' });
  });

  test('OpenCLIP (SD 2.x, SDXL’s second): q, k and v are thirds of one in_proj; the projection is transposed', () => {
    const [, bigG] = TEXT_ENCODER_PREFIXES.sdxl;
    const key = (name: string) => originalTextEncoderKey('open-clip', bigG, name);
    assert.deepEqual(key('text_model.encoder.layers.31.self_attn.q_proj.weight'), { key: 'conditioner.embedders.1.model.transformer.resblocks.31.attn.in_proj_weight', third: 0 });
    assert.deepEqual(key('text_model.encoder.layers.31.self_attn.v_proj.bias'), { key: 'conditioner.embedders.1.model.transformer.resblocks.31.attn.in_proj_bias', third: 2 });
    assert.deepEqual(key('text_model.encoder.layers.0.self_attn.out_proj.weight'), { key: 'conditioner.embedders.1.model.transformer.resblocks.0.attn.out_proj.weight' });
    assert.deepEqual(key('text_model.encoder.layers.0.mlp.fc2.bias'), { key: 'conditioner.embedders.1.model.transformer.resblocks.0.mlp.c_proj.bias' });
    assert.deepEqual(key('text_model.encoder.layers.0.layer_norm1.weight'), { key: 'conditioner.embedders.1.model.transformer.resblocks.0.ln_1.weight' });
    assert.deepEqual(key('text_model.embeddings.position_embedding.weight'), { key: 'conditioner.embedders.1.model.positional_embedding' });
    assert.deepEqual(key('text_projection.weight'), { key: 'conditioner.embedders.1.model.text_projection', transposed: true });
    assert.deepEqual(originalTextEncoderKey('open-clip', TEXT_ENCODER_PREFIXES.sd2[0], 'text_model.embeddings.token_embedding.weight'), { key: 'cond_stage_model.model.token_embedding.weight' });
    assert.equal(key('text_model.encoder.layers.0.self_attn.rotary.weight'), undefined);
  });

  test('what a conversion leaves out is named with its reason', () => {
    const [, bigG] = TEXT_ENCODER_PREFIXES.sdxl;
    assert.match(unusedTextEncoderKey(bigG, `${bigG}logit_scale`) ?? '', /training temperature/);
    assert.match(unusedTextEncoderKey(TEXT_ENCODER_PREFIXES.sd1[0], 'cond_stage_model.transformer.text_model.embeddings.position_ids') ?? '', /constant index table/);
    assert.equal(unusedTextEncoderKey(bigG, `${bigG}ln_final.weight`), undefined);
  });
});
