/**
 * Writes a Hugging Face Llama folder (config.json + model.safetensors) with random weights in a
 * half-precision dtype, streaming tensor by tensor, so checkpoints of billions of parameters can
 * be made without holding them in memory. For benchmarks (bench/loadMemory.ts); not a fixture.
 *
 *   npx tsx scripts/write-random-checkpoint.ts <folder> [--shape llama-1b|llama-250m] [--dtype BF16|F16]
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Model shapes by name: `llama-1b` is TinyLlama-1.1B's config. */
export const SHAPES = {
  'llama-1b': {
    hidden: 2048,
    intermediate: 5632,
    layers: 22,
    heads: 32,
    kvHeads: 4,
    vocab: 32000,
    nCtx: 2048,
  },
  'llama-250m': {
    hidden: 1024,
    intermediate: 2816,
    layers: 16,
    heads: 16,
    kvHeads: 4,
    vocab: 32000,
    nCtx: 2048,
  },
} as const;
export type ShapeName = keyof typeof SHAPES;

type Dtype = 'BF16' | 'F16';

/** The Llama tensors of a shape, in Hugging Face's names and [out, in] layouts. */
function tensorShapes(name: ShapeName): [string, number[]][] {
  const s = SHAPES[name];
  const [d, m, dh] = [s.hidden, s.intermediate, s.hidden / s.heads];
  const out: [string, number[]][] = [['model.embed_tokens.weight', [s.vocab, d]]];
  for (let l = 0; l < s.layers; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      [`${p}input_layernorm.weight`, [d]],
      [`${p}self_attn.q_proj.weight`, [d, d]],
      [`${p}self_attn.k_proj.weight`, [s.kvHeads * dh, d]],
      [`${p}self_attn.v_proj.weight`, [s.kvHeads * dh, d]],
      [`${p}self_attn.o_proj.weight`, [d, d]],
      [`${p}post_attention_layernorm.weight`, [d]],
      [`${p}mlp.gate_proj.weight`, [m, d]],
      [`${p}mlp.up_proj.weight`, [m, d]],
      [`${p}mlp.down_proj.weight`, [d, m]],
    );
  }
  out.push(['model.norm.weight', [d]], ['lm_head.weight', [s.vocab, d]]);
  return out;
}

// xorshift32: fast, seeded, good enough for weights nobody reads.
let state = 0x2545f491;
function nextUniform(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

// Truncation to the top 16 bits is a fine bfloat16 for random data; F16 goes through Math.fround
// and the usual bit surgery for normal numbers (the values here are far from half's limits).
function encode(x: number, dtype: Dtype): number {
  f32[0] = x;
  const bits = u32[0];
  if (dtype === 'BF16') return bits >>> 16;
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 112;
  if (exp <= 0) return sign;
  return sign | (exp << 10) | ((bits >>> 13) & 0x3ff);
}

/**
 * Writes `<folder>/config.json` and `<folder>/model.safetensors`.
 * @returns the number of parameters written.
 */
export function writeRandomCheckpoint(folder: string, shape: ShapeName, dtype: Dtype = 'BF16'): number {
  const s = SHAPES[shape];
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_act: 'silu',
      hidden_size: s.hidden,
      intermediate_size: s.intermediate,
      num_hidden_layers: s.layers,
      num_attention_heads: s.heads,
      num_key_value_heads: s.kvHeads,
      vocab_size: s.vocab,
      max_position_embeddings: s.nCtx,
      rms_norm_eps: 1e-5,
      rope_theta: 10000,
      tie_word_embeddings: false,
      torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float16',
    }),
  );
  const tensors = tensorShapes(shape);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, dims] of tensors) {
    const bytes = 2 * dims.reduce((a, b) => a * b, 1);
    header[name] = { dtype, shape: dims, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const fd = openSync(join(folder, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    writeSync(fd, len);
    writeSync(fd, json);
    const chunk = new Uint16Array(1 << 22);
    let params = 0;
    for (const [name, dims] of tensors) {
      const n = dims.reduce((a, b) => a * b, 1);
      const isNorm = name.endsWith('norm.weight');
      for (let done = 0; done < n; done += chunk.length) {
        const k = Math.min(chunk.length, n - done);
        for (let i = 0; i < k; i++) chunk[i] = encode(isNorm ? 1 : (nextUniform() - 0.5) * 0.04, dtype);
        writeSync(fd, new Uint8Array(chunk.buffer, 0, 2 * k));
      }
      params += n;
    }
    return params;
  } finally {
    closeSync(fd);
  }
}

if (import.meta.main ?? process.argv[1]?.endsWith('write-random-checkpoint.ts')) {
  const [folder, ...rest] = process.argv.slice(2);
  const flag = (name: string) => {
    const i = rest.indexOf(name);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const shape = (flag('--shape') ?? 'llama-1b') as ShapeName;
  const dtype = (flag('--dtype') ?? 'BF16') as Dtype;
  if (!folder || !(shape in SHAPES) || !['BF16', 'F16'].includes(dtype)) {
    console.error(
      'usage: write-random-checkpoint.ts <folder> [--shape llama-1b|llama-250m] [--dtype BF16|F16]',
    );
    process.exit(2);
  }
  const t0 = performance.now();
  const params = writeRandomCheckpoint(folder, shape, dtype);
  console.log(
    `wrote ${folder}: ${params.toLocaleString('en-US')} ${dtype} parameters in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
