import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { convertGpt2 } from '../../src/loading/convertGpt2.js';
import type { SafetensorsTensor } from '../../src/loading/safetensors.js';
import { expectedGpt2Shapes, gpt2Tensors, ramp, TINY } from './synthetic.js';

const { nLayers, d, h, dh, m, nCtx, vocab } = TINY;
const cfg = { nLayers, dModel: d, nHeads: h, dHead: dh, dMlp: m, nCtx, dVocab: vocab };

function asMap(t: Record<string, SafetensorsTensor>): Map<string, SafetensorsTensor> {
  return new Map(Object.entries(t));
}

function at(data: Float32Array | Int32Array, shape: number[], ...index: number[]): number {
  let flat = 0;
  index.forEach((i, k) => (flat = flat * shape[k] + i));
  return data[flat];
}

describe('convertGpt2', () => {
  it('produces every TL weight with its TL shape', () => {
    const sd = convertGpt2(asMap(gpt2Tensors()), cfg);
    expect([...sd].map(([k, v]) => [k, v.shape])).toEqual(expectedGpt2Shapes(TINY));
    for (const v of sd.values()) {
      expect(v.data).toBeInstanceOf(Float32Array);
      expect(v.data.length).toBe(v.shape.reduce((a, b) => a * b, 1));
    }
  });

  it('accepts names with and without the transformer. prefix alike', () => {
    const plain = convertGpt2(asMap(gpt2Tensors()), cfg);
    const prefixed = convertGpt2(asMap(gpt2Tensors('transformer.')), cfg);
    expect(prefixed).toEqual(plain);
  });

  it('splits c_attn into head-major W_Q/W_K/W_V [h, d, dh] and b_Q/b_K/b_V [h, dh]', () => {
    const hf = gpt2Tensors();
    const sd = convertGpt2(asMap(hf), cfg);
    const w = hf['h.1.attn.c_attn.weight'];
    const bias = hf['h.1.attn.c_attn.bias'];
    ['Q', 'K', 'V'].forEach((name, which) => {
      const W = sd.get(`blocks.1.attn.W_${name}`)!;
      const b = sd.get(`blocks.1.attn.b_${name}`)!;
      for (let head = 0; head < h; head++) {
        for (let e = 0; e < dh; e++) {
          const col = which * d + head * dh + e;
          expect(at(b.data, b.shape, head, e)).toBe(bias.data[col]);
          for (let i = 0; i < d; i++)
            expect(at(W.data, W.shape, head, i, e)).toBe(at(w.data, w.shape, i, col));
        }
      }
    });
  });

  it('reshapes c_proj to W_O [h, dh, d] and keeps the MLP in Conv1D [in, out] layout', () => {
    const hf = gpt2Tensors();
    const sd = convertGpt2(asMap(hf), cfg);
    const cProj = hf['h.0.attn.c_proj.weight'];
    const wO = sd.get('blocks.0.attn.W_O')!;
    for (let head = 0; head < h; head++) {
      for (let e = 0; e < dh; e++) {
        for (let o = 0; o < d; o++)
          expect(at(wO.data, wO.shape, head, e, o)).toBe(at(cProj.data, cProj.shape, head * dh + e, o));
      }
    }
    expect(sd.get('blocks.0.mlp.W_in')!.data).toEqual(hf['h.0.mlp.c_fc.weight'].data);
    expect(sd.get('blocks.0.mlp.W_out')!.data).toEqual(hf['h.0.mlp.c_proj.weight'].data);
    expect(sd.get('blocks.1.ln2.b')!.data).toEqual(hf['h.1.ln_2.bias'].data);
    expect(sd.get('ln_final.w')!.data).toEqual(hf['ln_f.weight'].data);
  });

  it('ties W_U to wteᵀ when there is no lm_head, uses lm_headᵀ when there is, b_U = 0', () => {
    const hf = gpt2Tensors();
    const tied = convertGpt2(asMap(hf), cfg);
    const wte = hf['wte.weight'];
    const wU = tied.get('unembed.W_U')!;
    for (let v = 0; v < vocab; v += 37) {
      for (let i = 0; i < d; i++) expect(at(wU.data, wU.shape, i, v)).toBe(at(wte.data, wte.shape, v, i));
    }
    expect(tied.get('unembed.b_U')!.data).toEqual(new Float32Array(vocab));

    const head = ramp([vocab, d], 99);
    const untied = convertGpt2(asMap({ ...hf, 'lm_head.weight': head }), cfg);
    const wU2 = untied.get('unembed.W_U')!;
    expect(at(wU2.data, wU2.shape, 3, 5)).toBe(at(head.data, head.shape, 5, 3));
    expect(untied.get('embed.W_E')!.data).toEqual(wte.data);
  });

  it('returns copies: changing the result leaves the input alone', () => {
    const hf = gpt2Tensors();
    const sd = convertGpt2(asMap(hf), cfg);
    sd.get('embed.W_E')!.data.fill(0);
    sd.get('blocks.0.attn.W_O')!.data.fill(0);
    expect(hf['wte.weight'].data[1]).not.toBe(0);
    expect(hf['h.0.attn.c_proj.weight'].data[1]).not.toBe(0);
  });
});

describe('convertGpt2 on bad checkpoints', () => {
  const convert = (t: Record<string, SafetensorsTensor>) => () =>
    convertGpt2(asMap(t), cfg, { source: 'folder/model.safetensors' });

  it('names a missing tensor, what it is for, and the file', () => {
    const hf = gpt2Tensors('transformer.');
    delete hf['transformer.h.1.mlp.c_fc.bias'];
    expect(convert(hf)).toThrow(CheckpointError);
    expect(convert(hf)).toThrow(
      "folder/model.safetensors: missing tensor 'transformer.h.1.mlp.c_fc.bias' or 'h.1.mlp.c_fc.bias', " +
        'needed for blocks.1.mlp.b_in. Closest names present: transformer.h.0.mlp.c_fc.bias',
    );
    expect(() => convertGpt2(new Map(), cfg)).toThrow(
      /missing tensor 'transformer.wte.weight' or 'wte.weight'.*no tensors/,
    );
  });

  it('gives the shape found and the shape expected', () => {
    const hf = gpt2Tensors();
    hf['h.0.attn.c_attn.weight'] = ramp([d, 2 * d], 0);
    expect(convert(hf)).toThrow(
      "folder/model.safetensors: tensor 'h.0.attn.c_attn.weight' has shape [8, 16]; expected [8, 24] " +
        'for blocks.0.attn.W_Q/W_K/W_V (from the config).',
    );
    const hf2 = gpt2Tensors();
    hf2['wpe.weight'] = ramp([nCtx + 1, d], 0);
    expect(convert(hf2)).toThrow(/'wpe.weight' has shape \[7, 8\]; expected \[6, 8\] for pos_embed.W_pos/);
    const hf3 = gpt2Tensors();
    hf3['lm_head.weight'] = ramp([d, vocab], 0);
    expect(convert(hf3)).toThrow(/'lm_head.weight' has shape \[8, 260\]; expected \[260, 8\]/);
  });

  it('rejects integer weights', () => {
    const hf = gpt2Tensors();
    hf['ln_f.bias'] = { dtype: 'I32', shape: [d], data: new Int32Array(d) };
    expect(convert(hf)).toThrow("tensor 'ln_f.bias' has integer dtype I32; expected a float");
  });

  it('rejects weights for more layers than the config has', () => {
    const hf = { ...gpt2Tensors(), 'h.2.ln_1.weight': ramp([d], 0) };
    expect(convert(hf)).toThrow('has weights for layer 2; expected layers 0..1 (config nLayers = 2)');
  });
});
