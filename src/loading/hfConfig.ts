/**
 * Converts a Hugging Face `config.json` into a {@link HookedTransformerConfig}, following
 * TransformerLens's `convert_hf_model_config`. One entry per architecture in {@link HF_ARCHITECTURES}:
 * GPT-2, GPT-Neo, GPT-NeoX (Pythia), GPT-J, BLOOM and OPT here; the Llama-shaped families in hfConfigLlamaLike.ts.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { makeConfig, type HookedTransformerConfig } from '../core/config.js';
import {
  HfFields,
  actFn,
  dHead,
  noRopeScaling,
  show,
  type HfArchitecture,
  type HfConfigJson,
} from './hfFields.js';
import { LLAMA_LIKE_ARCHITECTURES } from './hfConfigLlamaLike.js';

export { HfFields, type HfArchitecture, type HfConfigJson } from './hfFields.js';

/** Supported architectures, keyed by the `architectures[0]` name Hugging Face writes. */
export const HF_ARCHITECTURES: Readonly<Record<string, HfArchitecture>> = {
  GPT2LMHeadModel: {
    modelTypes: ['gpt2'],
    convert(f) {
      // Defaults are GPT2Config's, used when save_pretrained left a field out.
      const dModel = f.int('n_embd', 768);
      const nHeads = f.int('n_head', 12);
      if (f.bool('scale_attn_by_inverse_layer_idx', false)) {
        throw new ConfigError(`${f.source}: scale_attn_by_inverse_layer_idx=true is not supported yet.`);
      }
      // `attn_only` is a lazylens extension (not a GPT2Config field): blocks without MLP or ln_2.
      const attnOnly = f.bool('attn_only', false);
      return {
        nLayers: f.int('n_layer', 12),
        dModel,
        nHeads,
        dHead: dHead(f, dModel, nHeads),
        attnOnly,
        dMlp: attnOnly ? null : (f.optionalInt('n_inner') ?? 4 * dModel),
        // n_ctx is GPT2Config's old alias of n_positions.
        nCtx: f.optionalInt('n_positions') ?? f.int('n_ctx', 1024),
        eps: f.num('layer_norm_epsilon', 1e-5),
        dVocab: f.int('vocab_size', 50257),
        actFn: attnOnly ? null : actFn(f, 'activation_function', 'gelu_new'),
        normalizationType: 'LN',
        positionalEmbeddingType: 'standard',
        useAttnScale: true,
        defaultPrependBos: true,
      };
    },
  },
  GPTNeoForCausalLM: {
    modelTypes: ['gpt_neo'],
    convert(f) {
      // Defaults are GPTNeoConfig's.
      const dModel = f.int('hidden_size', 2048);
      const nHeads = f.int('num_heads', 16);
      const nLayers = f.int('num_layers', 24);
      return {
        nLayers,
        dModel,
        nHeads,
        dHead: dHead(f, dModel, nHeads),
        dMlp: f.optionalInt('intermediate_size') ?? 4 * dModel,
        nCtx: f.int('max_position_embeddings', 2048),
        eps: f.num('layer_norm_epsilon', 1e-5),
        dVocab: f.int('vocab_size', 50257),
        actFn: actFn(f, 'activation_function', 'gelu_new'),
        normalizationType: 'LN',
        positionalEmbeddingType: 'standard',
        // GPT-Neo never divides its attention scores by sqrt(d_head).
        useAttnScale: false,
        useLocalAttn: true,
        attnTypes: neoAttentionLayers(f, nLayers),
        windowSize: f.int('window_size', 256),
        defaultPrependBos: true,
      };
    },
  },
  GPTNeoXForCausalLM: {
    modelTypes: ['gpt_neox'],
    convert(f) {
      // Defaults are GPTNeoXConfig's; newer transformers renamed rotary_pct / rotary_emb_base.
      const dModel = f.int('hidden_size', 6144);
      const nHeads = f.int('num_attention_heads', 64);
      const dh = dHead(f, dModel, nHeads);
      const pct =
        f.json.rotary_pct !== undefined ? f.num('rotary_pct') : f.num('partial_rotary_factor', 0.25);
      // As HF's GPTNeoXAttention (int(head_size * rotary_pct)); TL rounds, the same for real models.
      const rotaryDim = Math.floor(dh * pct);
      if (rotaryDim % 2 !== 0 || rotaryDim > dh) {
        throw new ConfigError(
          `${f.source}: rotary_pct ${pct} gives ${rotaryDim} rotary dims of d_head ${dh}; expected an even number ≤ d_head.`,
        );
      }
      noRopeScaling(f);
      return {
        nLayers: f.int('num_hidden_layers', 44),
        dModel,
        nHeads,
        dHead: dh,
        dMlp: f.int('intermediate_size', 24576),
        nCtx: f.int('max_position_embeddings', 2048),
        eps: f.num('layer_norm_eps', 1e-5),
        dVocab: f.int('vocab_size', 50432),
        actFn: actFn(f, 'hidden_act', 'gelu'),
        normalizationType: 'LN',
        positionalEmbeddingType: 'rotary',
        rotaryDim,
        rotaryBase:
          f.json.rotary_emb_base !== undefined ? f.num('rotary_emb_base') : f.num('rope_theta', 10000),
        rotaryAdjacentPairs: false,
        parallelAttnMlp: f.bool('use_parallel_residual', true),
        useAttnScale: true,
        defaultPrependBos: false,
      };
    },
  },
  ...LLAMA_LIKE_ARCHITECTURES,
  GPTJForCausalLM: {
    modelTypes: ['gptj'],
    convert(f) {
      // Defaults are GPTJConfig's.
      const dModel = f.int('n_embd', 4096);
      const nHeads = f.int('n_head', 16);
      const dh = dHead(f, dModel, nHeads);
      const rotaryDim = f.optionalInt('rotary_dim') ?? dh;
      return {
        nLayers: f.int('n_layer', 28),
        dModel,
        nHeads,
        dHead: dh,
        dMlp: f.optionalInt('n_inner') ?? 4 * dModel,
        nCtx: f.int('n_positions', 2048),
        eps: f.num('layer_norm_epsilon', 1e-5),
        dVocab: f.int('vocab_size', 50400),
        actFn: actFn(f, 'activation_function', 'gelu_new'),
        normalizationType: 'LN',
        positionalEmbeddingType: 'rotary',
        rotaryDim,
        // GPT-J rotates interleaved pairs (2j, 2j+1) of the first rotary_dim dims.
        rotaryAdjacentPairs: true,
        // One LayerNorm feeds attention and MLP side by side (TL copies it into ln2).
        parallelAttnMlp: true,
        useAttnScale: true,
        defaultPrependBos: true,
      };
    },
  },
  BloomForCausalLM: {
    modelTypes: ['bloom'],
    convert(f) {
      // Defaults are BloomConfig's; old configs name the width n_embed.
      const dModel = f.json.n_embed !== undefined ? f.int('n_embed') : f.int('hidden_size', 64);
      const nHeads = f.int('n_head', 8);
      if (f.bool('apply_residual_connection_post_layernorm', false)) {
        throw new ConfigError(
          `${f.source}: apply_residual_connection_post_layernorm=true is not supported; expected false.`,
        );
      }
      return {
        nLayers: f.int('n_layer', 2),
        dModel,
        nHeads,
        dHead: dHead(f, dModel, nHeads),
        dMlp: 4 * dModel,
        // ALiBi has no position table, so nothing fixes a context length; TL uses 2048.
        nCtx: f.optionalInt('seq_length') ?? 2048,
        eps: f.num('layer_norm_epsilon', 1e-5),
        dVocab: f.int('vocab_size', 250880),
        // BLOOM's GELU is the tanh approximation (TL calls it gelu_fast: the same function).
        actFn: 'gelu_fast',
        normalizationType: 'LN',
        positionalEmbeddingType: 'alibi',
        postEmbeddingLn: true,
        useAttnScale: true,
        defaultPrependBos: true,
      };
    },
  },
  OPTForCausalLM: {
    modelTypes: ['opt'],
    convert(f) {
      // Defaults are OPTConfig's.
      const dModel = f.int('hidden_size', 768);
      const nHeads = f.int('num_attention_heads', 12);
      // opt-350m projects embeddings in and out and normalizes after each sublayer: not TL's block.
      if (f.optionalInt('word_embed_proj_dim') !== undefined && f.int('word_embed_proj_dim') !== dModel) {
        throw new ConfigError(
          `${f.source}: word_embed_proj_dim ${f.int('word_embed_proj_dim')} ≠ hidden_size ${dModel} is not supported.`,
        );
      }
      if (!f.bool('do_layer_norm_before', true)) {
        throw new ConfigError(`${f.source}: do_layer_norm_before=false is not supported; expected true.`);
      }
      if (!f.bool('enable_bias', true) || !f.bool('layer_norm_elementwise_affine', true)) {
        throw new ConfigError(
          `${f.source}: enable_bias=false or layer_norm_elementwise_affine=false is not supported.`,
        );
      }
      return {
        nLayers: f.int('num_hidden_layers', 12),
        dModel,
        nHeads,
        dHead: dHead(f, dModel, nHeads),
        dMlp: f.int('ffn_dim', 3072),
        nCtx: f.int('max_position_embeddings', 2048),
        // OPT's LayerNorms use PyTorch's default eps.
        eps: 1e-5,
        dVocab: f.int('vocab_size', 50272),
        actFn: actFn(f, 'activation_function', 'relu'),
        normalizationType: 'LN',
        positionalEmbeddingType: 'standard',
        useAttnScale: true,
        defaultPrependBos: true,
      };
    },
  },
};

/**
 * GPT-Neo's per-layer attention kinds: `attention_layers` when config.json has it, else
 * `attention_types` expanded (`[[["global", "local"], 12]]` repeats the pair 12 times).
 */
function neoAttentionLayers(f: HfFields, nLayers: number): ('global' | 'local')[] {
  let layers: unknown[] = [];
  const given = f.json.attention_layers;
  if (Array.isArray(given)) {
    layers = given;
  } else {
    const types = f.json.attention_types ?? [[['global', 'local'], nLayers / 2]];
    if (!Array.isArray(types)) {
      throw new ConfigError(
        `${f.source}: 'attention_types' is ${show(types)}; expected [[kinds, repeats], …].`,
      );
    }
    for (const item of types) {
      const [kinds, repeats] = Array.isArray(item) ? (item as unknown[]) : [];
      if (!Array.isArray(kinds) || !Number.isSafeInteger(repeats)) {
        throw new ConfigError(
          `${f.source}: 'attention_types' entry ${show(item)}; expected [kinds, repeats].`,
        );
      }
      for (let i = 0; i < (repeats as number); i++) layers.push(...(kinds as unknown[]));
    }
  }
  if (layers.length !== nLayers || !layers.every((k) => k === 'global' || k === 'local')) {
    throw new ConfigError(
      `${f.source}: attention layers ${show(layers)}; expected ${nLayers} entries, each 'global' or 'local'.`,
    );
  }
  return layers;
}

/** The architecture name a config.json declares (`architectures[0]`, else from `model_type`). */
export function hfArchitecture(json: HfConfigJson, source: string): string {
  const archs = json.architectures;
  if (Array.isArray(archs) && typeof archs[0] === 'string') return archs[0];
  if (typeof json.model_type === 'string') {
    const entry = Object.entries(HF_ARCHITECTURES).find(([, a]) =>
      a.modelTypes.includes(json.model_type as string),
    );
    if (entry) return entry[0];
    return `model_type '${json.model_type}'`;
  }
  throw new ConfigError(
    `${source}: has neither 'architectures' nor 'model_type'; cannot tell the model family.`,
  );
}

/**
 * Converts a parsed config.json to a lazylens config.
 * @param json the parsed config.json
 * @param options.source the file name used in errors; `modelName` for the result (default 'custom');
 *   `overrides` applied after conversion (e.g. `tokenizerPrependsBos`)
 * @throws ConfigError for an unsupported architecture (listing the supported ones) or a bad field.
 */
export function hfConfigToConfig(
  json: HfConfigJson,
  options: { source?: string; modelName?: string; overrides?: Partial<HookedTransformerConfig> } = {},
): HookedTransformerConfig {
  const source = options.source ?? 'config.json';
  const architecture = hfArchitecture(json, source);
  const entry = Object.hasOwn(HF_ARCHITECTURES, architecture) ? HF_ARCHITECTURES[architecture] : undefined;
  if (!entry) {
    throw new ConfigError(
      `${source}: architecture ${architecture.startsWith('model_type') ? architecture : `'${architecture}'`} ` +
        `is not supported; expected one of ${Object.keys(HF_ARCHITECTURES).join(', ')}.`,
    );
  }
  const partial = entry.convert(new HfFields(json, source));
  return makeConfig({
    ...partial,
    originalArchitecture: architecture,
    modelName: options.modelName ?? 'custom',
    ...options.overrides,
  });
}

/**
 * Reads `config.json` from a Hugging Face folder and converts it; `modelName` is the folder's name.
 * @throws ConfigError when the folder has no readable config.json, it is not JSON, or it is unsupported.
 */
export async function readHfConfig(
  folder: string,
  overrides?: Partial<HookedTransformerConfig>,
): Promise<HookedTransformerConfig> {
  const json = await readHfConfigJson(folder);
  return hfConfigToConfig(json, {
    source: join(folder, 'config.json'),
    modelName: basename(resolve(folder)),
    overrides,
  });
}

/** The parsed config.json of a folder. */
export async function readHfConfigJson(folder: string): Promise<HfConfigJson> {
  const path = join(folder, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'has no config.json' : `config.json cannot be read (${(e as Error).message})`;
    throw new ConfigError(`Folder ${folder} ${why}; expected a Hugging Face model folder.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConfigError(`${path} holds ${show(json)}; expected a JSON object.`);
  }
  return json as HfConfigJson;
}
