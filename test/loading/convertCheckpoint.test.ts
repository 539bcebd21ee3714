// The table-driven converter on a small made-up family: each op element by element on ramp
// tensors (value = seed + flat index / 1000), and the errors for a missing tensor, a wrong shape
// and a tensor no table entry reads.
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/errors.js';
import { convertCheckpoint, dimSize, type ConvertConfig } from '../../src/loading/convertCheckpoint.js';
import type { SafetensorsTensor } from '../../src/loading/safetensors.js';
import { OPT_WEIGHTS } from '../../src/loading/convertOpt.js';
import type { WeightTable } from '../../src/loading/weightTable.js';
import { ramp } from './synthetic.js';

// d 6, 2 query heads and 1 key/value head of 3, d_mlp 4, vocab 5, n_ctx 7
const CFG: ConvertConfig = {
  nLayers: 1,
  dModel: 6,
  nHeads: 2,
  dHead: 3,
  dMlp: 4,
  nCtx: 7,
  dVocab: 5,
  nKeyValueHeads: 1,
};

const TABLE: WeightTable = {
  family: 'Toy',
  prefixes: ['model.'],
  layers: 'layers.',
  embed: [{ tl: 'embed.W_E', hf: 'embed.weight', shape: ['vocab', 'd'], timesSqrtD: true }],
  block: [
    { tl: 'ln1.w', hf: 'norm.weight', shape: ['d'], plus: 1 },
    ...['Q', 'K', 'V'].map((x, index) => ({
      tl: `attn.W_${x}`,
      hf: 'qkv.weight',
      shape: ['q+2kv', 'd'],
      part: { split: ['q', 'kv', 'kv'], index },
      op: 'heads' as const,
      heads: x === 'Q' ? ('h' as const) : ('g' as const),
    })),
    { tl: 'attn.b_Q', hf: 'q.bias', shape: ['q'], op: 'headBias', ifAbsent: 'zeros' },
    { tl: 'attn.W_O', hf: 'o.weight', shape: ['d', 'q'], op: 'outHeads' },
    { tl: 'attn.b_O', shape: ['d'] },
  ],
  mlp: [
    {
      tl: 'mlp.W_in',
      hf: 'fused.weight',
      shape: ['4m', 'd'],
      part: { perHead: 2, index: 1 },
      op: 'transpose',
    },
  ],
  final: [
    {
      tl: 'unembed.W_U',
      hf: 'head.weight',
      tiedTo: 'embed.weight',
      shape: ['vocabOut', 'd'],
      op: 'transpose',
    },
  ],
  ignore: [/^layers\.\d+\.buffer$/],
};

function tensors(): Map<string, SafetensorsTensor> {
  return new Map(
    Object.entries({
      'model.embed.weight': ramp([5, 6], 1),
      'model.layers.0.norm.weight': ramp([6], 2),
      'model.layers.0.qkv.weight': ramp([12, 6], 3),
      'model.layers.0.o.weight': ramp([6, 6], 4),
      'model.layers.0.fused.weight': ramp([16, 6], 5),
      'model.layers.0.buffer': ramp([3], 0),
    }),
  );
}

describe('convertCheckpoint', () => {
  it('reads dimension sums', () => {
    expect(dimSize('q+2kv', { q: 6, kv: 3 })).toBe(12);
    expect(dimSize('2+ctx', { ctx: 7 })).toBe(9);
    expect(() => dimSize('3x', { q: 6 })).toThrow(/dimension '3x'/);
  });

  it('applies every op of the table, element by element', () => {
    const sd = convertCheckpoint(TABLE, tensors(), CFG);
    expect([...sd.keys()]).toEqual([
      'embed.W_E',
      'blocks.0.ln1.w',
      'blocks.0.attn.W_Q',
      'blocks.0.attn._W_K',
      'blocks.0.attn._W_V',
      'blocks.0.attn.b_Q',
      'blocks.0.attn.W_O',
      'blocks.0.attn.b_O',
      'blocks.0.mlp.W_in',
      'unembed.W_U',
    ]);
    const e = ramp([5, 6], 1).data;
    expect(sd.get('embed.W_E')!.data[7]).toBeCloseTo(e[7] * Math.sqrt(6), 5);
    expect(sd.get('blocks.0.ln1.w')!.data[4]).toBeCloseTo(ramp([6], 2).data[4] + 1, 6);
    // split q|k|v: W_V[0, i, e] is row q + kv + e of the fused weight
    const qkv = ramp([12, 6], 3).data;
    const wV = sd.get('blocks.0.attn._W_V')!;
    expect(wV.shape).toEqual([1, 6, 3]);
    expect(wV.data[4 * 3 + 2]).toBe(qkv[(9 + 2) * 6 + 4]);
    expect(sd.get('blocks.0.attn.W_Q')!.data[(1 * 6 + 5) * 3 + 1]).toBe(qkv[(3 + 1) * 6 + 5]);
    expect(sd.get('blocks.0.attn.b_Q')).toEqual({ shape: [2, 3], data: new Float32Array(6) });
    // W_O[head, e, o] = o.weight[o, head·dh + e]
    expect(sd.get('blocks.0.attn.W_O')!.data[(1 * 3 + 2) * 6 + 4]).toBe(ramp([6, 6], 4).data[4 * 6 + 5]);
    // per-head interleaving with 2 parts of dh = 3: part 1, row i = head·6 + 3 + e
    const wIn = sd.get('blocks.0.mlp.W_in')!;
    expect(wIn.shape).toEqual([6, 8]);
    expect(wIn.data[2 * 8 + 4]).toBe(ramp([16, 6], 5).data[(6 + 3 + 1) * 6 + 2]);
    // tied head: the embedding, transposed and not scaled
    expect(sd.get('unembed.W_U')!.data[3 * 5 + 2]).toBe(e[2 * 6 + 3]);
  });

  it('names a missing tensor and what needs it', () => {
    const t = tensors();
    t.delete('model.layers.0.qkv.weight');
    expect(() => convertCheckpoint(TABLE, t, CFG, { source: 'x.safetensors' })).toThrow(
      "x.safetensors: missing tensor 'model.layers.0.qkv.weight' or 'layers.0.qkv.weight', needed for blocks.0.attn.W_Q/_W_K/_W_V.",
    );
  });

  it('gives the shape found and the shape the config implies', () => {
    const t = tensors();
    t.set('model.layers.0.o.weight', ramp([6, 5], 4));
    expect(() => convertCheckpoint(TABLE, t, CFG)).toThrow(
      "checkpoint: tensor 'model.layers.0.o.weight' has shape [6, 5]; expected [6, 6] for blocks.0.attn.W_O (from the config).",
    );
  });

  it('rejects a tensor that no entry reads, but not a listed buffer', () => {
    const t = tensors();
    t.set('model.layers.0.extra_norm.weight', ramp([6], 9));
    expect(() => convertCheckpoint(TABLE, t, CFG)).toThrow(CheckpointError);
    expect(() => convertCheckpoint(TABLE, t, CFG)).toThrow(
      "checkpoint: has tensor 'model.layers.0.extra_norm.weight', which no TransformerLens weight comes from; expected only the tensors Toy's weight table names",
    );
    // an untied head that is present is read, so it is not left over
    t.delete('model.layers.0.extra_norm.weight');
    t.set('head.weight', ramp([5, 6], 8));
    expect(convertCheckpoint(TABLE, t, CFG).get('unembed.W_U')!.data[1]).toBe(ramp([5, 6], 8).data[6]);
  });

  it('reads an optional bias when present, and rejects extra layers', () => {
    const t = tensors();
    t.set('model.layers.0.q.bias', ramp([6], 6));
    expect(Array.from(convertCheckpoint(TABLE, t, CFG).get('blocks.0.attn.b_Q')!.data)).toEqual(
      Array.from(ramp([6], 6).data),
    );
    t.set('model.layers.1.norm.weight', ramp([6], 2));
    expect(() => convertCheckpoint(TABLE, t, CFG)).toThrow(/has weights for layer 1; expected layers 0\.\.0/);
  });
});

describe('the OPT table', () => {
  it('drops the two offset rows of embed_positions, with or without the model. prefix', () => {
    const cfg: ConvertConfig = { nLayers: 0, dModel: 4, nHeads: 2, dHead: 2, dMlp: 8, nCtx: 3, dVocab: 5 };
    const tensors = (prefix: string): Map<string, SafetensorsTensor> =>
      new Map(
        Object.entries({
          [`${prefix}embed_tokens.weight`]: ramp([5, 4], 1),
          [`${prefix}embed_positions.weight`]: ramp([5, 4], 2),
          [`${prefix}final_layer_norm.weight`]: ramp([4], 3),
          [`${prefix}final_layer_norm.bias`]: ramp([4], 4),
        }),
      );
    for (const prefix of ['model.decoder.', 'decoder.']) {
      const wPos = convertCheckpoint(OPT_WEIGHTS, tensors(prefix), cfg).get('pos_embed.W_pos')!;
      expect(wPos.shape).toEqual([3, 4]);
      expect(Array.from(wPos.data)).toEqual(Array.from(ramp([5, 4], 2).data.subarray(8)));
    }
  });
});
