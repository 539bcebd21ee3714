/**
 * TransformerLens's `get_act_name`: turns shorthand into a full hook name, byte-compatible with
 * TransformerLens so names pasted from Python work unchanged.
 *
 * | shorthand | layer | layerType | full name |
 * |---|---|---|---|
 * | `embed`, `pos_embed`, `tokens` | – | – | `hook_embed`, … |
 * | `resid_pre`, `resid_mid`, `resid_post`, `attn_out`, `mlp_out` | 2 | – | `blocks.2.hook_resid_pre`, … |
 * | `q`, `k`, `v`, `z`, `rot_q`, `rot_k`, `result`, `pattern` (alias `attn`), `attn_scores` (alias `attn_logits`) | 2 | any | `blocks.2.attn.hook_q`, … |
 * | `pre` (`mlp_pre`), `post` (`mlp_post`), `mid` (`mlp_mid`), `pre_linear` | 2 | any | `blocks.2.mlp.hook_pre`, … |
 * | `scale`, `normalized` | – | – | `ln_final.hook_scale`, … |
 * | `scale`, `normalized` | 2 | `ln1` / `ln2` | `blocks.2.ln1.hook_scale`, … |
 * | `k6`, `pre5`, `scale4ln1`, `z10` (name, layer and type in one string) | – | – | `blocks.6.attn.hook_k`, … |
 *
 * Layer types: `a`/`attn`/`attention` → `attn`, `m`/`mlp` → `mlp`, `b`/`block`/`blocks` → none;
 * any other type (e.g. `ln1`) is used verbatim. Names with a `.` or starting `hook_` pass through.
 *
 * @example
 * ```ts
 * import { getActName } from 'lazylens';
 * getActName('resid_pre', 0);        // 'blocks.0.hook_resid_pre'
 * getActName('k6');                  // 'blocks.6.attn.hook_k'
 * getActName('scale', 4, 'ln1');     // 'blocks.4.ln1.hook_scale'
 * ```
 */
const NAME_ALIASES: Readonly<Record<string, string>> = {
  attn: 'pattern',
  attn_logits: 'attn_scores',
  key: 'k',
  query: 'q',
  value: 'v',
  mlp_pre: 'pre',
  mlp_mid: 'mid',
  mlp_post: 'post',
};

const LAYER_TYPE_ALIASES: Readonly<Record<string, string>> = {
  a: 'attn',
  m: 'mlp',
  b: '',
  block: '',
  blocks: '',
  attention: 'attn',
};

const ATTN_NAMES = new Set(['k', 'v', 'q', 'z', 'rot_k', 'rot_q', 'result', 'pattern', 'attn_scores']);
const MLP_NAMES = new Set(['pre', 'post', 'mid', 'pre_linear']);

/** Full TransformerLens hook name for `name` at `layer` (of `layerType`), as `get_act_name`. */
export function getActName(name: string, layer?: number | null, layerType?: string | null): string {
  let layerPart: string | undefined = layer === null || layer === undefined ? undefined : String(layer);
  let type: string | undefined = layerType ?? undefined;
  if ((name.includes('.') || name.startsWith('hook_')) && layerPart === undefined && type === undefined) {
    return name;
  }
  // "k6", "scale4ln1": letters, digits, optional type (TL's regex, anchored at the start only).
  const m = /^([a-z]+)(\d+)([a-z]?.*)/.exec(name);
  if (m) [, name, layerPart, type] = m;
  name = NAME_ALIASES[name] ?? name;
  let full = layerPart !== undefined ? `blocks.${layerPart}.` : '';
  if (ATTN_NAMES.has(name)) type = 'attn';
  else if (MLP_NAMES.has(name)) type = 'mlp';
  else if (type !== undefined && type in LAYER_TYPE_ALIASES) type = LAYER_TYPE_ALIASES[type];
  if (type) full += `${type}.`;
  full += `hook_${name}`;
  if ((name === 'scale' || name === 'normalized') && layerPart === undefined) full = `ln_final.${full}`;
  return full;
}
