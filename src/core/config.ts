/**
 * The configuration of a {@link HookedTransformer}: TransformerLens's `HookedTransformerConfig`
 * fields, camelCased, with the same defaults where TransformerLens has them.
 */
import { produce, type Draft } from 'immer';
import { ConfigError } from '../errors.js';
import { checkConfig } from './checkConfig.js';

/** The normalization before each sublayer and the unembed: LayerNorm, RMSNorm, their weight-folded `Pre` forms (no gain/bias), or none. */
export type NormalizationType = 'LN' | 'LNPre' | 'RMS' | 'RMSPre' | null;

/** Activation functions the MLP supports (TransformerLens's names). */
export type ActFn = 'gelu' | 'gelu_new' | 'gelu_fast' | 'relu' | 'silu' | 'solu_ln';

/** How positions enter the model: learned `W_pos` (`standard`), rotary, and TransformerLens's other names. */
export type PositionalEmbeddingType = 'standard' | 'rotary' | 'shortformer' | 'alibi';

/** A model's hyperparameters: TransformerLens's `HookedTransformerConfig`, camelCased. Build one with {@link makeConfig}. */
export interface HookedTransformerConfig {
  /** Number of transformer blocks. */
  nLayers: number;
  /** Width of the residual stream. */
  dModel: number;
  /** Longest sequence the model accepts. */
  nCtx: number;
  /** Width of each attention head. */
  dHead: number;
  /** Attention heads per block (default `dModel / dHead`). */
  nHeads: number;
  /** null for attention-only models. */
  dMlp: number | null;
  /** Input vocabulary size. */
  dVocab: number;
  /** Output vocabulary size (default `dVocab`). */
  dVocabOut: number;
  /** The MLP's activation; null for attention-only models. */
  actFn: ActFn | null;
  /** Normalization kind (`LNPre`/`RMSPre` once the weights are folded). */
  normalizationType: NormalizationType;
  /** Added to the variance in every norm. */
  eps: number;
  /** Blocks have no MLP (and no `ln2`). */
  attnOnly: boolean;
  /** How positions enter the model. */
  positionalEmbeddingType: PositionalEmbeddingType;
  /** When true, `blocks.L.attn.hook_result` [b,p,h,d] fires. */
  useAttnResult: boolean;
  /** Whether attention scores are divided by `attnScale`. */
  useAttnScale: boolean;
  /** sqrt(dHead) unless set. */
  attnScale: number;
  /** Attention and MLP read the same residual (GPT-NeoX, GPT-J); no `hook_resid_mid` then. */
  parallelAttnMlp: boolean;
  /** The checkpoint's architecture name (`GPT2LMHeadModel`, `llama2.c`, …). */
  originalArchitecture: string | null;
  /** A name for printing. */
  modelName: string;
  /** Whether tokenizing text puts BOS first by default. */
  defaultPrependBos: boolean;
  /** Standard deviation of the normal initialization (TransformerLens: 0.8 / sqrt(dModel)). */
  initRange: number;
  /** Seed of the random initialization (`fromConfig`). */
  seed: number | null;
  /** Layers' attention kinds for local-attention models (GPT-Neo). */
  attnTypes: ('global' | 'local')[] | null;
  /** Width of local attention's window (GPT-Neo). */
  windowSize: number | null;
  /** Whether some layers use local attention (GPT-Neo). */
  useLocalAttn: boolean;
  /** The final norm is RMS even when blocks use LN. */
  finalRms: boolean;
  /** The MLP is gated (`W_gate`, as Llama's SwiGLU). */
  gatedMlp: boolean;
  /** Key/value heads for grouped-query attention; null when every head has its own. */
  nKeyValueHeads: number | null;
  /** How many dims of each head rotary embeddings rotate. */
  rotaryDim: number | null;
  /** Base of the rotary frequencies (10000 by default). */
  rotaryBase: number;
  /** Rotate adjacent pairs (llama2.c) instead of the two halves (Hugging Face). */
  rotaryAdjacentPairs: boolean;
  /** Whether the tokenizer adds BOS itself; null when unknown. */
  tokenizerPrependsBos: boolean | null;
  /**
   * Llama 3.x's "NTK by parts" rotary frequencies (Hugging Face `rope_scaling` type `llama3`):
   * low frequencies divided by `ntkByPartsFactor`, high ones kept, the band between blended.
   */
  useNtkByPartsRope: boolean;
  /** How much the low rotary frequencies are slowed (`rope_scaling.factor`). */
  ntkByPartsFactor: number;
  /** Wavelengths above `ntkOriginalCtxLen / ntkByPartsLowFreqFactor` are fully slowed. */
  ntkByPartsLowFreqFactor: number;
  /** Wavelengths below `ntkOriginalCtxLen / ntkByPartsHighFreqFactor` are kept. */
  ntkByPartsHighFreqFactor: number;
  /** The context length the model was first trained at (`original_max_position_embeddings`). */
  ntkOriginalCtxLen: number;
  /** When > 0, attention scores become `cap · tanh(scores / cap)` before masking (Gemma 2). */
  attnScoresSoftCap: number;
  /** When > 0, logits become `cap · tanh(logits / cap)` (Gemma 2). */
  outputLogitsSoftCap: number;
  /**
   * Each sublayer's output is normalized again (`ln1_post`, `ln2_post`) before it joins the
   * residual stream (Gemma 2). These norms keep their weights when the others are folded.
   */
  useNormalizationBeforeAndAfter: boolean;
  /** The token embedding passes through a LayerNorm (`embed.ln`) before `hook_embed` (BLOOM). */
  postEmbeddingLn: boolean;
}

/** Every config field, so a misspelt one is an error rather than ignored. */
const CONFIG_FIELDS: Readonly<Record<keyof HookedTransformerConfig, true>> = {
  nLayers: true,
  dModel: true,
  nCtx: true,
  dHead: true,
  nHeads: true,
  dMlp: true,
  dVocab: true,
  dVocabOut: true,
  actFn: true,
  normalizationType: true,
  eps: true,
  attnOnly: true,
  positionalEmbeddingType: true,
  useAttnResult: true,
  useAttnScale: true,
  attnScale: true,
  parallelAttnMlp: true,
  originalArchitecture: true,
  modelName: true,
  defaultPrependBos: true,
  initRange: true,
  seed: true,
  attnTypes: true,
  windowSize: true,
  useLocalAttn: true,
  finalRms: true,
  gatedMlp: true,
  nKeyValueHeads: true,
  rotaryDim: true,
  rotaryBase: true,
  rotaryAdjacentPairs: true,
  tokenizerPrependsBos: true,
  useNtkByPartsRope: true,
  ntkByPartsFactor: true,
  ntkByPartsLowFreqFactor: true,
  ntkByPartsHighFreqFactor: true,
  ntkOriginalCtxLen: true,
  attnScoresSoftCap: true,
  outputLogitsSoftCap: true,
  useNormalizationBeforeAndAfter: true,
  postEmbeddingLn: true,
};

/** The fields a caller must give; everything else has TransformerLens's default. */
export type PartialConfig = Pick<HookedTransformerConfig, 'nLayers' | 'dModel' | 'nCtx' | 'dHead'> &
  Partial<HookedTransformerConfig>;

/** Fills TransformerLens's defaults into a partial config, the way `HookedTransformerConfig.__post_init__` does. */
export function makeConfig(partial: PartialConfig): HookedTransformerConfig {
  if (partial === null || typeof partial !== 'object') {
    throw new ConfigError(`Config: given ${String(partial)}, expected an object of config fields.`);
  }
  for (const key of Object.keys(partial)) {
    if (!Object.hasOwn(CONFIG_FIELDS, key)) {
      throw new ConfigError(
        `Config: unknown field '${key}' given; expected one of ${Object.keys(CONFIG_FIELDS).join(', ')}.`,
      );
    }
  }
  const nHeads = partial.nHeads ?? Math.floor(partial.dModel / partial.dHead);
  const attnOnly = partial.attnOnly ?? false;
  const dVocab = partial.dVocab ?? -1;
  const cfg: HookedTransformerConfig = {
    nHeads,
    dMlp: attnOnly ? (partial.dMlp ?? null) : (partial.dMlp ?? partial.dModel * 4),
    dVocab,
    dVocabOut: partial.dVocabOut ?? dVocab,
    actFn: partial.actFn ?? (attnOnly ? null : 'gelu_new'),
    normalizationType: partial.normalizationType === undefined ? 'LN' : partial.normalizationType,
    eps: 1e-5,
    attnOnly,
    positionalEmbeddingType: 'standard',
    useAttnResult: false,
    useAttnScale: true,
    attnScale: Math.sqrt(partial.dHead),
    parallelAttnMlp: false,
    originalArchitecture: null,
    modelName: 'custom',
    defaultPrependBos: true,
    initRange: 0.8 / Math.sqrt(partial.dModel),
    seed: null,
    attnTypes: null,
    windowSize: null,
    useLocalAttn: false,
    finalRms: false,
    gatedMlp: false,
    nKeyValueHeads: null,
    rotaryDim: null,
    rotaryBase: 10000,
    rotaryAdjacentPairs: false,
    tokenizerPrependsBos: null,
    useNtkByPartsRope: false,
    ntkByPartsFactor: 8,
    ntkByPartsLowFreqFactor: 1,
    ntkByPartsHighFreqFactor: 4,
    ntkOriginalCtxLen: 8192,
    attnScoresSoftCap: -1,
    outputLogitsSoftCap: -1,
    useNormalizationBeforeAndAfter: false,
    postEmbeddingLn: false,
    ...stripUndefined(partial),
  } as HookedTransformerConfig;
  if (partial.attnScale === undefined) cfg.attnScale = Math.sqrt(cfg.dHead);
  if (cfg.dVocabOut === -1) cfg.dVocabOut = cfg.dVocab;
  // Rotary models turn every dim of a head unless told otherwise (Llama; NeoX sets a fraction).
  if (cfg.positionalEmbeddingType === 'rotary' && cfg.rotaryDim === null) cfg.rotaryDim = cfg.dHead;
  checkConfig(cfg);
  return Object.freeze(cfg);
}

/** `o` without its undefined entries, so spreading it does not erase defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A config derived from `cfg` by `recipe`, which edits a draft: `cfg` itself never changes, the
 * result is checked like a new config and frozen, and fields the recipe left alone are shared.
 * Weight processing (LN folded → `LNPre`) and loaders (a tokenizer's BOS habit, `useAttnResult`)
 * derive configs this way.
 * @example
 * ```ts
 * const cfg = makeConfig({ nLayers: 1, dModel: 16, nCtx: 8, dHead: 4, dVocab: 20 });
 * const withResults = deriveConfig(cfg, (c) => { c.useAttnResult = true; });
 * cfg.useAttnResult;           // false
 * withResults.useAttnResult;   // true
 * ```
 */
export function deriveConfig(
  cfg: HookedTransformerConfig,
  recipe: (draft: Draft<HookedTransformerConfig>) => void,
): HookedTransformerConfig {
  const out = produce(cfg, recipe);
  if (out !== cfg) checkConfig(out);
  return out;
}
