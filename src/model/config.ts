/**
 * The configuration of a {@link HookedTransformer}: TransformerLens's `HookedTransformerConfig`
 * fields, camelCased, with the same defaults where TransformerLens has them.
 */
import { ConfigError } from '../errors.js';

export type NormalizationType = 'LN' | 'LNPre' | 'RMS' | 'RMSPre' | null;

/** Activation functions the MLP supports (TransformerLens's names). */
export type ActFn = 'gelu' | 'gelu_new' | 'gelu_fast' | 'relu' | 'silu' | 'solu_ln';

export type PositionalEmbeddingType = 'standard' | 'rotary' | 'shortformer' | 'alibi';

export interface HookedTransformerConfig {
  nLayers: number;
  dModel: number;
  nCtx: number;
  dHead: number;
  nHeads: number;
  /** null for attention-only models. */
  dMlp: number | null;
  dVocab: number;
  dVocabOut: number;
  actFn: ActFn | null;
  normalizationType: NormalizationType;
  eps: number;
  attnOnly: boolean;
  positionalEmbeddingType: PositionalEmbeddingType;
  /** When true, `blocks.L.attn.hook_result` [b,p,h,d] fires. */
  useAttnResult: boolean;
  /** Whether attention scores are divided by `attnScale`. */
  useAttnScale: boolean;
  /** sqrt(dHead) unless set. */
  attnScale: number;
  parallelAttnMlp: boolean;
  originalArchitecture: string | null;
  modelName: string;
  defaultPrependBos: boolean;
  /** Standard deviation of the normal initialization (TransformerLens: 0.8 / sqrt(dModel)). */
  initRange: number;
  seed: number | null;
  /** Layers' attention kinds for local-attention models (GPT-Neo). */
  attnTypes: ('global' | 'local')[] | null;
  windowSize: number | null;
  useLocalAttn: boolean;
  finalRms: boolean;
  gatedMlp: boolean;
  nKeyValueHeads: number | null;
  rotaryDim: number | null;
  rotaryBase: number;
  rotaryAdjacentPairs: boolean;
  tokenizerPrependsBos: boolean | null;
}

/** The fields a caller must give; everything else has TransformerLens's default. */
export type PartialConfig = Pick<HookedTransformerConfig, 'nLayers' | 'dModel' | 'nCtx' | 'dHead'> &
  Partial<HookedTransformerConfig>;

/** Fills TransformerLens's defaults into a partial config, the way `HookedTransformerConfig.__post_init__` does. */
export function makeConfig(partial: PartialConfig): HookedTransformerConfig {
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
    ...stripUndefined(partial),
  } as HookedTransformerConfig;
  if (partial.attnScale === undefined) cfg.attnScale = Math.sqrt(cfg.dHead);
  if (cfg.dVocabOut === -1) cfg.dVocabOut = cfg.dVocab;
  // Rotary models turn every dim of a head unless told otherwise (Llama; NeoX sets a fraction).
  if (cfg.positionalEmbeddingType === 'rotary' && cfg.rotaryDim === null) cfg.rotaryDim = cfg.dHead;
  checkConfig(cfg);
  return Object.freeze(cfg);
}

/** Combinations the forward pass cannot run, caught when the config is built. */
function checkConfig(cfg: HookedTransformerConfig): void {
  const r = cfg.rotaryDim;
  if (cfg.positionalEmbeddingType === 'rotary' && r !== null && (r <= 0 || r % 2 !== 0 || r > cfg.dHead)) {
    throw new ConfigError(`rotaryDim ${r} given; expected an even number in [2, dHead = ${cfg.dHead}].`);
  }
  const g = cfg.nKeyValueHeads;
  if (g !== null && (!Number.isSafeInteger(g) || g <= 0 || cfg.nHeads % g !== 0)) {
    throw new ConfigError(
      `nKeyValueHeads ${g} given; expected a positive divisor of nHeads = ${cfg.nHeads}.`,
    );
  }
  if (cfg.positionalEmbeddingType === 'shortformer' || cfg.positionalEmbeddingType === 'alibi') {
    throw new ConfigError(
      `positionalEmbeddingType '${cfg.positionalEmbeddingType}' is not supported; expected 'standard' or 'rotary'.`,
    );
  }
}

/** `o` without its undefined entries, so spreading it does not erase defaults. */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
