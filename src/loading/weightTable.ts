/**
 * A model family's Hugging Face → TransformerLens weight mapping, written as data: one
 * {@link WeightEntry} per TransformerLens parameter, saying which checkpoint tensor it comes
 * from, the shape that tensor must have, and the layout change on the way. One driver
 * ({@link convertCheckpoint}) reads every table, so adding a family means writing its table.
 */

/**
 * A size in a shape, as a sum of terms, each an optional integer factor and a dimension name, or
 * a bare integer: `d`, `3q`, `q+2kv`, `2+ctx`. Names (from the config):
 * - `d` d_model, `h` n_heads, `g` n_key_value_heads (n_heads when not grouped), `dh` d_head,
 * - `q` = h·dh and `kv` = g·dh (the widths of the query and key/value projections),
 * - `m` d_mlp, `ctx` n_ctx, `vocab` d_vocab, `vocabOut` d_vocab_out.
 */
export type Dim = string;

/**
 * Which part of a fused tensor an entry takes, along its output axis:
 * - `split`: consecutive blocks of the given sizes (`[q, kv, kv]` for a fused q|k|v projection),
 *   part `index` of them;
 * - `perHead`: per-head interleaving, output row `head·n·dh + index·dh + e` (GPT-NeoX's and
 *   BLOOM's `query_key_value`, which HF views as [.., heads, n, dh]).
 */
export type FusedPart = { split: Dim[]; index: number } | { perHead: number; index: number };

/**
 * The layout change from the checkpoint tensor to the TL parameter. Two-dimensional weights are
 * read as `nn.Linear`'s [out, in] (or Conv1D's [in, out], see {@link WeightEntry.layout}):
 * - `copy`: unchanged (embeddings, norm weights, biases);
 * - `transpose`: [out, in] → TL's [in, out] (MLP and unembedding weights);
 * - `heads`: [heads·dh, in] → [heads, in, dh] (W_Q, W_K, W_V);
 * - `headBias`: [heads·dh] → [heads, dh] (b_Q, b_K, b_V);
 * - `outHeads`: [out, h·dh] → [h, dh, out] (W_O).
 */
export type WeightOp = 'copy' | 'transpose' | 'heads' | 'headBias' | 'outHeads';

/** One TransformerLens parameter and where it comes from. */
export interface WeightEntry {
  /** The TL name; in {@link WeightTable.block} and `mlp`, relative to `blocks.{layer}.`. */
  tl: string;
  /**
   * The checkpoint name, without the family prefix; in block entries relative to the layer's
   * prefix. Absent: the TL parameter is zeros of the shape `shape` gives (TL's layout), for
   * biases the family does not have.
   */
  hf?: string;
  /** The checkpoint tensor's shape (or, without `hf`, the TL parameter's). */
  shape: Dim[];
  /** Default `copy`. */
  op?: WeightOp;
  /** How a 2-D weight is stored: `linear` [out, in] (default) or GPT-2's `conv1d` [in, out]. */
  layout?: 'linear' | 'conv1d';
  /** The part of a fused tensor this parameter is. */
  part?: FusedPart;
  /** Heads of a `heads` / `headBias` entry: `h` (default) or the key/value heads `g`. */
  heads?: 'h' | 'g';
  /** When the tensor is absent: `error` (default) or `zeros` (an optional bias). */
  ifAbsent?: 'error' | 'zeros';
  /** A top-level tensor read instead when `hf` is absent (a tied unembedding). */
  tiedTo?: string;
  /** Added to every element: Gemma's RMSNorm multiplies by (1 + w), TL's norms by w. */
  plus?: number;
  /** Every element multiplied by sqrt(d_model): Gemma scales its embeddings so. */
  timesSqrtD?: boolean;
}

/** A family's whole mapping. */
export interface WeightTable {
  /** The family's name, for messages (`GPT-2`). */
  family: string;
  /** Prefixes tried, in order, before the bare name (`transformer.`, `model.`). */
  prefixes: string[];
  /** The prefix of block `l`'s tensors is `${layers}${l}.` (`h.`, `layers.`). */
  layers: string;
  /** Top-level parameters read before the blocks (embeddings). */
  embed: WeightEntry[];
  /** Per-block parameters of the attention half (and its norm). */
  block: WeightEntry[];
  /** Per-block parameters of the MLP half; none may be present for attention-only configs. */
  mlp: WeightEntry[];
  /** Top-level parameters after the blocks (final norm, unembedding). */
  final: WeightEntry[];
  /** Checkpoint tensors that are buffers, not weights, matched against the unprefixed name. */
  ignore: RegExp[];
}

/**
 * Entries for a fused query/key/value projection whose rows interleave per head (`[h, 3, d_head]`
 * flattened, as GPT-NeoX and BLOOM store it): W_Q/W_K/W_V and their biases from `{module}.weight`
 * and `{module}.bias`.
 */
export function perHeadFusedQkv(module: string): WeightEntry[] {
  return ['Q', 'K', 'V'].flatMap((x, index) => [
    {
      tl: `attn.W_${x}`,
      hf: `${module}.weight`,
      shape: ['3q', 'd'],
      part: { perHead: 3, index },
      op: 'heads' as const,
    },
    {
      tl: `attn.b_${x}`,
      hf: `${module}.bias`,
      shape: ['3q'],
      part: { perHead: 3, index },
      op: 'headBias' as const,
    },
  ]);
}
