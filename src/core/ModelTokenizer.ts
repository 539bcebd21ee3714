/** What a HookedTransformer needs of a tokenizer (src/loading's LensTokenizer provides it). */
export interface ModelTokenizer {
  /** Token ids of `text`, without special tokens. */
  encode(text: string): number[];
  /** Text of `ids` (no clean-up of spaces). */
  decode(ids: readonly number[]): string;
  /** Each token decoded on its own, as TransformerLens's `to_str_tokens`. */
  decodeEach(ids: readonly number[]): string[];
  /** The beginning-of-sequence id, or null when the tokenizer has none. */
  readonly bosTokenId: number | null;
  /** The end-of-sequence id, or null when the tokenizer has none. */
  readonly eosTokenId: number | null;
  /** The padding id (the EOS id when the tokenizer has no pad token, as TransformerLens). */
  readonly padTokenId: number | null;
}
