/**
 * config.json → TransformerLens config for the Llama-shaped families: RMSNorm, rotary
 * embeddings on the two halves of each head, gated MLPs and (optionally) grouped-query
 * attention. Llama 1–3.x, Qwen2 / Qwen2.5, Mistral, Gemma, Gemma 2 and Phi-3 differ in the
 * fields below; their weights are read by the tables in convertLlama.ts and convertGemma.ts.
 */
import { ConfigError } from '../errors.js';
import type { PartialConfig } from '../core/config.js';
import { HfFields, actFn, dHead, noRopeScaling, show, type HfArchitecture } from './hfFields.js';

/** What every Llama-shaped family reads the same way (defaults are LlamaConfig's). */
function llamaShape(f: HfFields): PartialConfig {
  const dModel = f.int('hidden_size', 4096);
  const nHeads = f.int('num_attention_heads', 32);
  const dh = f.optionalInt('head_dim') ?? dHead(f, dModel, nHeads);
  const nKv = f.optionalInt('num_key_value_heads') ?? nHeads;
  if (nHeads % nKv !== 0) {
    throw new ConfigError(
      `${f.source}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKv}.`,
    );
  }
  if (f.bool('mlp_bias', false)) {
    throw new ConfigError(`${f.source}: mlp_bias=true is not supported (TL's gated MLP has no gate bias).`);
  }
  return {
    nLayers: f.int('num_hidden_layers', 32),
    dModel,
    nHeads,
    dHead: dh,
    // As TL: only a real grouping makes grouped-query attention (and `_W_K` parameters).
    nKeyValueHeads: nKv === nHeads ? null : nKv,
    dMlp: f.int('intermediate_size', 11008),
    nCtx: f.int('max_position_embeddings', 2048),
    eps: f.num('rms_norm_eps', 1e-6),
    dVocab: f.int('vocab_size', 32000),
    actFn: actFn(f, 'hidden_act', 'silu'),
    normalizationType: 'RMS',
    finalRms: true,
    gatedMlp: true,
    positionalEmbeddingType: 'rotary',
    rotaryDim: dh,
    rotaryBase: f.num('rope_theta', 10000),
    rotaryAdjacentPairs: false,
    useAttnScale: true,
    defaultPrependBos: true,
  };
}

/**
 * `rope_scaling`: none, or Llama 3.x's `llama3` rule (TL's NTK-by-parts fields). Other kinds
 * (linear, dynamic, yarn, longrope) change the angles differently and are refused.
 */
function ropeScaling(f: HfFields): Partial<PartialConfig> {
  const scaling = f.json.rope_scaling;
  if (scaling === undefined || scaling === null) return {};
  if (typeof scaling !== 'object' || Array.isArray(scaling)) {
    throw new ConfigError(`${f.source}: 'rope_scaling' is ${show(scaling)}; expected an object or null.`);
  }
  const s = scaling as Record<string, unknown>;
  const kind = s.rope_type ?? s.type;
  if (kind === 'default') return {};
  if (kind !== 'llama3') {
    throw new ConfigError(
      `${f.source}: rope_scaling ${show(scaling)} is not supported; expected none or rope_type 'llama3'.`,
    );
  }
  const sub = new HfFields(s, `${f.source} rope_scaling`);
  return {
    useNtkByPartsRope: true,
    ntkByPartsFactor: sub.num('factor'),
    ntkByPartsLowFreqFactor: sub.num('low_freq_factor'),
    ntkByPartsHighFreqFactor: sub.num('high_freq_factor'),
    ntkOriginalCtxLen: sub.int('original_max_position_embeddings'),
  };
}

/** Mistral-style sliding-window attention on every layer: keys more than `window − 1` back are hidden. */
function slidingWindowAllLayers(f: HfFields, nLayers: number): Partial<PartialConfig> {
  const window = f.optionalInt('sliding_window');
  if (window === undefined) return {};
  return { useLocalAttn: true, windowSize: window, attnTypes: Array<'local'>(nLayers).fill('local') };
}

/** The Llama-shaped architectures, keyed by `architectures[0]`. */
export const LLAMA_LIKE_ARCHITECTURES: Readonly<Record<string, HfArchitecture>> = {
  LlamaForCausalLM: {
    modelTypes: ['llama'],
    convert(f) {
      return { ...llamaShape(f), ...ropeScaling(f) };
    },
  },
  Qwen2ForCausalLM: {
    modelTypes: ['qwen2'],
    convert(f) {
      // Qwen2's window applies only from layer max_window_layers on; nothing released uses it.
      if (f.bool('use_sliding_window', false)) {
        throw new ConfigError(`${f.source}: use_sliding_window=true is not supported; expected false.`);
      }
      noRopeScaling(f);
      const base = llamaShape(f);
      // Qwen's tokenizer has no BOS token and TL marks it as prepending BOS itself (so TL adds
      // none): text is tokenized without BOS by default.
      return { ...base, defaultPrependBos: false };
    },
  },
  MistralForCausalLM: {
    modelTypes: ['mistral'],
    convert(f) {
      noRopeScaling(f);
      const base = llamaShape(f);
      return { ...base, ...slidingWindowAllLayers(f, base.nLayers) };
    },
  },
  Phi3ForCausalLM: {
    modelTypes: ['phi3'],
    convert(f) {
      noRopeScaling(f);
      const base = llamaShape(f);
      const factor = f.json.partial_rotary_factor ?? 1;
      if (factor !== 1) {
        throw new ConfigError(
          `${f.source}: partial_rotary_factor ${show(factor)} is not supported; expected 1.`,
        );
      }
      return { ...base, ...slidingWindowAllLayers(f, base.nLayers) };
    },
  },
  GemmaForCausalLM: {
    modelTypes: ['gemma'],
    convert(f) {
      noRopeScaling(f);
      return gemmaShape(f);
    },
  },
  Gemma2ForCausalLM: {
    modelTypes: ['gemma2'],
    convert(f) {
      noRopeScaling(f);
      const base = gemmaShape(f);
      const window = f.int('sliding_window', 4096);
      return {
        ...base,
        // Scores are scaled by query_pre_attn_scalar^-1/2, not d_head^-1/2.
        attnScale: Math.sqrt(f.num('query_pre_attn_scalar', 256)),
        attnScoresSoftCap: optionalCap(f, 'attn_logit_softcapping', 50),
        outputLogitsSoftCap: optionalCap(f, 'final_logit_softcapping', 30),
        useNormalizationBeforeAndAfter: true,
        useLocalAttn: true,
        windowSize: window,
        attnTypes: gemma2LayerTypes(f, base.nLayers),
      };
    },
  },
};

/**
 * Gemma: Llama's shape with a GeGLU MLP (tanh-approximated GELU, `hidden_activation`), always-
 * tied embeddings, and d_head from `head_dim`. The √d_model embedding scale and the (1 + w)
 * RMSNorm weights are folded into the weights by the converter, as TL does.
 */
function gemmaShape(f: HfFields): PartialConfig {
  const base = llamaShape(f);
  const act =
    f.json.hidden_activation === undefined || f.json.hidden_activation === null
      ? 'gelu_pytorch_tanh'
      : f.str('hidden_activation');
  const fields = { ...f.json, hidden_act: act };
  const withAct = new HfFields(fields, f.source);
  return { ...base, actFn: actFn(withAct, 'hidden_act', 'gelu_pytorch_tanh') };
}

/** A soft cap that may be null (off): -1 then, as TL. */
function optionalCap(f: HfFields, name: string, fallback: number): number {
  if (f.json[name] === null) return -1;
  return f.num(name, fallback);
}

/**
 * Gemma 2's per-layer attention kinds: `layer_types` when given (`sliding_attention` /
 * `full_attention`), else Hugging Face's rule that even layers use the sliding window.
 */
function gemma2LayerTypes(f: HfFields, nLayers: number): ('global' | 'local')[] {
  const given = f.json.layer_types;
  if (given === undefined || given === null) {
    return Array.from({ length: nLayers }, (_, i) => (i % 2 === 0 ? 'local' : 'global'));
  }
  if (
    !Array.isArray(given) ||
    given.length !== nLayers ||
    !given.every((t) => t === 'sliding_attention' || t === 'full_attention')
  ) {
    throw new ConfigError(
      `${f.source}: 'layer_types' is ${show(given)}; expected ${nLayers} entries, each 'sliding_attention' or 'full_attention'.`,
    );
  }
  return given.map((t) => (t === 'sliding_attention' ? 'local' : 'global'));
}
