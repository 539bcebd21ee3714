/**
 * TransformerLens's hook points for the families lazylens runs, in execution order, with the
 * shape of the activation each one sees. The table is documentation and a runtime check.
 */
import { LazylensError } from '../errors.js';
import type { HookedTransformerConfig } from './config.js';

/** Symbolic dims an activation can have. */
export type HookDim =
  | 'batch'
  | 'pos'
  | 'd_model'
  | 'head'
  /** Key/value heads: n_key_value_heads for grouped-query attention, else n_heads. */
  | 'kv_head'
  | 'd_head'
  | 'query'
  | 'key'
  | 'd_mlp'
  | 'one';

/** Named dims of every hook point, keyed by the name after `blocks.L.` (or the full name at top level). */
export const HOOK_DIMS: Readonly<Record<string, readonly HookDim[]>> = {
  'embed.ln.hook_scale': ['batch', 'pos', 'one'],
  'embed.ln.hook_normalized': ['batch', 'pos', 'd_model'],
  hook_embed: ['batch', 'pos', 'd_model'],
  hook_pos_embed: ['batch', 'pos', 'd_model'],
  hook_resid_pre: ['batch', 'pos', 'd_model'],
  'ln1.hook_scale': ['batch', 'pos', 'one'],
  'ln1.hook_normalized': ['batch', 'pos', 'd_model'],
  'attn.hook_q': ['batch', 'pos', 'head', 'd_head'],
  'attn.hook_k': ['batch', 'pos', 'kv_head', 'd_head'],
  'attn.hook_v': ['batch', 'pos', 'kv_head', 'd_head'],
  'attn.hook_rot_q': ['batch', 'pos', 'head', 'd_head'],
  'attn.hook_rot_k': ['batch', 'pos', 'kv_head', 'd_head'],
  'attn.hook_attn_scores': ['batch', 'head', 'query', 'key'],
  'attn.hook_pattern': ['batch', 'head', 'query', 'key'],
  'attn.hook_z': ['batch', 'pos', 'head', 'd_head'],
  'attn.hook_result': ['batch', 'pos', 'head', 'd_model'],
  'ln1_post.hook_scale': ['batch', 'pos', 'one'],
  'ln1_post.hook_normalized': ['batch', 'pos', 'd_model'],
  hook_attn_out: ['batch', 'pos', 'd_model'],
  hook_resid_mid: ['batch', 'pos', 'd_model'],
  'ln2.hook_scale': ['batch', 'pos', 'one'],
  'ln2.hook_normalized': ['batch', 'pos', 'd_model'],
  'mlp.hook_pre': ['batch', 'pos', 'd_mlp'],
  'mlp.hook_pre_linear': ['batch', 'pos', 'd_mlp'],
  'mlp.hook_post': ['batch', 'pos', 'd_mlp'],
  'ln2_post.hook_scale': ['batch', 'pos', 'one'],
  'ln2_post.hook_normalized': ['batch', 'pos', 'd_model'],
  hook_mlp_out: ['batch', 'pos', 'd_model'],
  hook_resid_post: ['batch', 'pos', 'd_model'],
  'ln_final.hook_scale': ['batch', 'pos', 'one'],
  'ln_final.hook_normalized': ['batch', 'pos', 'd_model'],
};

const hasNorm = (cfg: HookedTransformerConfig): boolean => cfg.normalizationType !== null;

/** The hook names inside block `layer`, in the order they fire. */
export function blockHookNames(cfg: HookedTransformerConfig, layer: number): string[] {
  const p = `blocks.${layer}.`;
  const names = [`${p}hook_resid_pre`];
  if (hasNorm(cfg)) names.push(`${p}ln1.hook_scale`, `${p}ln1.hook_normalized`);
  names.push(`${p}attn.hook_q`, `${p}attn.hook_k`, `${p}attn.hook_v`);
  // Rotary models turn q and k after their hooks fire (TL: hook_rot_q / hook_rot_k).
  if (cfg.positionalEmbeddingType === 'rotary') names.push(`${p}attn.hook_rot_q`, `${p}attn.hook_rot_k`);
  names.push(`${p}attn.hook_attn_scores`, `${p}attn.hook_pattern`, `${p}attn.hook_z`);
  if (cfg.useAttnResult) names.push(`${p}attn.hook_result`);
  // Gemma 2: the output norms fire before hook_attn_out / hook_mlp_out.
  const post = (norm: string): string[] =>
    cfg.useNormalizationBeforeAndAfter ? [`${p}${norm}.hook_scale`, `${p}${norm}.hook_normalized`] : [];
  names.push(...post('ln1_post'), `${p}hook_attn_out`);
  if (!cfg.attnOnly) {
    if (!cfg.parallelAttnMlp) names.push(`${p}hook_resid_mid`);
    if (hasNorm(cfg)) names.push(`${p}ln2.hook_scale`, `${p}ln2.hook_normalized`);
    names.push(`${p}mlp.hook_pre`);
    // Gated MLPs (Llama) fire the up projection between the gate and the product.
    if (cfg.gatedMlp) names.push(`${p}mlp.hook_pre_linear`);
    names.push(`${p}mlp.hook_post`, ...post('ln2_post'), `${p}hook_mlp_out`);
  }
  names.push(`${p}hook_resid_post`);
  return names;
}

/** Every hook name the model fires on a full forward pass, in execution order. */
export function allHookNames(cfg: HookedTransformerConfig): string[] {
  // BLOOM's embedding LayerNorm fires before hook_embed, which sees its output.
  const names = cfg.postEmbeddingLn ? ['embed.ln.hook_scale', 'embed.ln.hook_normalized'] : [];
  names.push('hook_embed');
  if (cfg.positionalEmbeddingType === 'standard') names.push('hook_pos_embed');
  for (let l = 0; l < cfg.nLayers; l++) names.push(...blockHookNames(cfg, l));
  if (hasNorm(cfg)) names.push('ln_final.hook_scale', 'ln_final.hook_normalized');
  return names;
}

/** The dims of hook `name` (any layer), or undefined for a name that is not a hook point. */
export function hookDims(name: string): readonly HookDim[] | undefined {
  return HOOK_DIMS[name.replace(/^blocks\.\d+\./, '')];
}

/**
 * The position axis of hook `name`, counted from the end: −2 for residual-shaped activations,
 * −3 for per-head ones ([..., pos, head, d]), and the query axis (−2) for attention scores and
 * patterns. `runWithCache({ posSlice })` and every cache method slice positions on this axis.
 * @throws LazylensError for a name that is not a hook point.
 */
export function posAxis(name: string): number {
  const dims = hookDims(name);
  const at = dims ? dims.findIndex((d) => d === 'pos' || d === 'query') : -1;
  if (!dims || at < 0) throw new LazylensError(`Hook '${name}' given; it has no position axis.`);
  return at - dims.length;
}

/** The concrete shape hook `name` has for a batch of `batch` sequences of `pos` tokens. */
export function hookShape(cfg: HookedTransformerConfig, name: string, batch: number, pos: number): number[] {
  const dims = hookDims(name);
  if (!dims) throw new Error(`not a hook point: ${name}`);
  const size: Record<HookDim, number> = {
    batch,
    pos,
    query: pos,
    key: pos,
    d_model: cfg.dModel,
    head: cfg.nHeads,
    kv_head: cfg.nKeyValueHeads ?? cfg.nHeads,
    d_head: cfg.dHead,
    d_mlp: cfg.dMlp ?? 0,
    one: 1,
  };
  return dims.map((d) => size[d]);
}
