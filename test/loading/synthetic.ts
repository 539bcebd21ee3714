// Small synthetic Hugging Face GPT-2 folders for the loading tests: config.json, weights written
// with our own safetensors writer, and a byte-level BPE tokenizer.json with a few merges.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { writeSafetensors, type SafetensorsTensor } from '../../src/loading/safetensors.js';

export const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'gpt2-tiny');
export const GOLDEN = join(import.meta.dirname, '..', 'fixtures', 'gpt2-tiny-golden');

/** The sizes of the synthetic model. */
export const TINY = { nLayers: 2, d: 8, h: 2, dh: 4, m: 12, nCtx: 6, vocab: 260 } as const;

/** A temp dir removed after the suite. */
export function tempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lazylens-loading-'));
    made.push(dir);
    return dir;
  };
}

/** A float tensor whose value at flat index i is `seed + i / 1000` (so every element is traceable). */
export function ramp(shape: number[], seed: number): SafetensorsTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, data: Float32Array.from({ length: n }, (_, i) => seed + i / 1000) };
}

/** HF GPT-2 tensors for {@link TINY}, optionally under the `transformer.` prefix. */
export function gpt2Tensors(prefix = ''): Record<string, SafetensorsTensor> {
  const { nLayers, d, m, nCtx, vocab } = TINY;
  const t: Record<string, SafetensorsTensor> = {
    [`${prefix}wte.weight`]: ramp([vocab, d], 1),
    [`${prefix}wpe.weight`]: ramp([nCtx, d], 2),
    [`${prefix}ln_f.weight`]: ramp([d], 3),
    [`${prefix}ln_f.bias`]: ramp([d], 4),
  };
  for (let l = 0; l < nLayers; l++) {
    const p = `${prefix}h.${l}.`;
    const s = 10 * (l + 1);
    Object.assign(t, {
      [`${p}ln_1.weight`]: ramp([d], s + 1),
      [`${p}ln_1.bias`]: ramp([d], s + 2),
      [`${p}attn.c_attn.weight`]: ramp([d, 3 * d], s + 3),
      [`${p}attn.c_attn.bias`]: ramp([3 * d], s + 4),
      [`${p}attn.c_proj.weight`]: ramp([d, d], s + 5),
      [`${p}attn.c_proj.bias`]: ramp([d], s + 6),
      [`${p}ln_2.weight`]: ramp([d], s + 7),
      [`${p}ln_2.bias`]: ramp([d], s + 8),
      [`${p}mlp.c_fc.weight`]: ramp([d, m], s + 9),
      [`${p}mlp.c_fc.bias`]: ramp([m], s + 10),
      [`${p}mlp.c_proj.weight`]: ramp([m, d], s + 11),
      [`${p}mlp.c_proj.bias`]: ramp([d], s + 12),
      // Buffers HF keeps in old checkpoints; the converter must ignore them.
      [`${p}attn.bias`]: ramp([1, 1, nCtx, nCtx], 0),
      [`${p}attn.masked_bias`]: ramp([], 0),
    });
  }
  return t;
}

export function gpt2ConfigJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { nLayers, d, h, nCtx, vocab, m } = TINY;
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    n_layer: nLayers,
    n_embd: d,
    n_head: h,
    n_inner: m,
    n_positions: nCtx,
    n_ctx: nCtx,
    vocab_size: vocab,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
    ...overrides,
  };
}

// GPT-2's byte -> printable character table, in GPT-2's id order: printable bytes first (as
// themselves), then the rest mapped to 256, 257, ….
function byteChars(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const codes: number[] = [];
  for (let b = 0; b < 256; b++) if (keep(b)) codes.push(b);
  let extra = 256;
  for (let b = 0; b < 256; b++) if (!keep(b)) codes.push(extra++);
  return codes.map((c) => String.fromCodePoint(c));
}

/** A byte-level BPE tokenizer.json: 256 byte tokens, merges making 'Ġt', 'he', 'Ġthe', EOS id 259. */
export function byteTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, i) => (vocab[c] = i));
  vocab['Ġt'] = 256;
  vocab['he'] = 257;
  vocab['Ġthe'] = 258;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 259,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: ['Ġ t', 'h e', 'Ġt he'],
    },
  };
}

export const EOT = 259;

/** Writes a complete synthetic GPT-2 folder and returns its path. */
export async function writeGpt2Folder(
  dir: string,
  options: {
    config?: Record<string, unknown> | null;
    tensors?: Record<string, SafetensorsTensor>;
    tokenizer?: boolean;
  } = {},
): Promise<string> {
  if (options.config !== null) {
    await writeFile(join(dir, 'config.json'), JSON.stringify(options.config ?? gpt2ConfigJson()));
  }
  await writeFile(join(dir, 'model.safetensors'), writeSafetensors(options.tensors ?? gpt2Tensors()));
  if (options.tokenizer ?? true) {
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(byteTokenizerJson()));
    await writeFile(
      join(dir, 'tokenizer_config.json'),
      JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>' }),
    );
  }
  return dir;
}

/** TL names and shapes a GPT-2 state dict must have, in order. */
export function expectedGpt2Shapes(c: {
  nLayers: number;
  d: number;
  h: number;
  dh: number;
  m: number;
  nCtx: number;
  vocab: number;
}): [string, number[]][] {
  const out: [string, number[]][] = [
    ['embed.W_E', [c.vocab, c.d]],
    ['pos_embed.W_pos', [c.nCtx, c.d]],
  ];
  for (let l = 0; l < c.nLayers; l++) {
    const b = `blocks.${l}.`;
    out.push(
      [`${b}ln1.w`, [c.d]],
      [`${b}ln1.b`, [c.d]],
      [`${b}attn.W_Q`, [c.h, c.d, c.dh]],
      [`${b}attn.b_Q`, [c.h, c.dh]],
      [`${b}attn.W_K`, [c.h, c.d, c.dh]],
      [`${b}attn.b_K`, [c.h, c.dh]],
      [`${b}attn.W_V`, [c.h, c.d, c.dh]],
      [`${b}attn.b_V`, [c.h, c.dh]],
      [`${b}attn.W_O`, [c.h, c.dh, c.d]],
      [`${b}attn.b_O`, [c.d]],
      [`${b}ln2.w`, [c.d]],
      [`${b}ln2.b`, [c.d]],
      [`${b}mlp.W_in`, [c.d, c.m]],
      [`${b}mlp.b_in`, [c.m]],
      [`${b}mlp.W_out`, [c.m, c.d]],
      [`${b}mlp.b_out`, [c.d]],
    );
  }
  out.push(
    ['ln_final.w', [c.d]],
    ['ln_final.b', [c.d]],
    ['unembed.W_U', [c.d, c.vocab]],
    ['unembed.b_U', [c.vocab]],
  );
  return out;
}
