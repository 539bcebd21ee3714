/**
 * The weight side of a HookedTransformer: parameters under TransformerLens's names, TL's weight
 * properties (`W_Q`, `W_out`, … stacked over layers), unembedding directions and accumulated
 * biases, and the model's lifetime. Everything here is owned by the model: do not dispose it.
 */
import type * as tf from '@tensorflow/tfjs';
import type { HookedTransformerConfig } from '../core/config.js';
import type { StateDict } from '../core/stateDict.js';
import { LazylensError } from '../errors.js';
import { hostIds } from './hostIds.js';
import { ModelWeights, type StackedWeight } from './ModelWeights.js';

/** Parameters, TransformerLens's weight properties and disposal; {@link HookedTransformer} extends it. */
export abstract class TransformerWeights {
  protected readonly weights: ModelWeights;
  private disposed = false;

  /** Takes ownership of `params`. */
  protected constructor(
    /** The model's configuration (after weight processing: e.g. `LNPre` once LN is folded). */
    readonly cfg: HookedTransformerConfig,
    params: StateDict,
  ) {
    this.weights = new ModelWeights(cfg, params);
  }

  /** The id of a string that is exactly one token. */
  abstract toSingleToken(text: string): number;

  /**
   * A parameter under its TransformerLens name (owned by the model: do not dispose). For
   * grouped-query models `blocks.L.attn.W_K` (and `W_V`, `b_K`, `b_V`) give TL's
   * repeat-interleaved [n_heads, …] view of the stored `_W_K` [n_key_value_heads, …].
   * @param name a parameter name such as `blocks.0.attn.W_Q` or `unembed.W_U`.
   * @returns the parameter in TransformerLens's shape, e.g. `blocks.0.attn.W_Q` [n_heads, d_model, d_head],
   *   `blocks.0.mlp.W_in` [d_model, d_mlp], `unembed.W_U` [d_model, d_vocab_out].
   */
  getParam(name: string): tf.Tensor {
    this.assertLive();
    return this.weights.get(name);
  }

  /** The parameters under TransformerLens's names (owned by the model: do not dispose). */
  stateDict(): ReadonlyMap<string, tf.Tensor> {
    this.assertLive();
    return this.weights.params;
  }

  /** Token embedding [d_vocab, d_model]. */
  get W_E(): tf.Tensor {
    return this.getParam('embed.W_E');
  }
  /** Positional embedding [n_ctx, d_model] (standard positions only). */
  get W_pos(): tf.Tensor {
    return this.getParam('pos_embed.W_pos');
  }
  /** Unembedding [d_model, d_vocab_out]. */
  get W_U(): tf.Tensor {
    return this.getParam('unembed.W_U');
  }
  /** Unembedding bias [d_vocab_out]. */
  get b_U(): tf.Tensor {
    return this.getParam('unembed.b_U');
  }
  /** [n_layers, n_heads, d_model, d_head] */
  get W_Q(): tf.Tensor {
    return this.stacked('W_Q');
  }
  /** [n_layers, n_heads, d_model, d_head] */
  get W_K(): tf.Tensor {
    return this.stacked('W_K');
  }
  /** [n_layers, n_heads, d_model, d_head] */
  get W_V(): tf.Tensor {
    return this.stacked('W_V');
  }
  /** [n_layers, n_heads, d_head, d_model] */
  get W_O(): tf.Tensor {
    return this.stacked('W_O');
  }
  /** [n_layers, n_heads, d_head] */
  get b_Q(): tf.Tensor {
    return this.stacked('b_Q');
  }
  /** [n_layers, n_heads, d_head] */
  get b_K(): tf.Tensor {
    return this.stacked('b_K');
  }
  /** [n_layers, n_heads, d_head] */
  get b_V(): tf.Tensor {
    return this.stacked('b_V');
  }
  /** [n_layers, d_model] */
  get b_O(): tf.Tensor {
    return this.stacked('b_O');
  }
  /** [n_layers, d_model, d_mlp] */
  get W_in(): tf.Tensor {
    return this.stacked('W_in');
  }
  /** [n_layers, d_model, d_mlp], gated MLPs only (TL returns None otherwise; this throws). */
  get W_gate(): tf.Tensor {
    return this.stacked('W_gate');
  }
  /** [n_layers, d_mlp] */
  get b_in(): tf.Tensor {
    return this.stacked('b_in');
  }
  /** [n_layers, d_mlp, d_model] */
  get W_out(): tf.Tensor {
    return this.stacked('W_out');
  }
  /** [n_layers, d_model] */
  get b_out(): tf.Tensor {
    return this.stacked('b_out');
  }

  /** A per-layer parameter stacked over layers, built once and owned by the model. */
  private stacked(key: StackedWeight): tf.Tensor {
    this.assertLive();
    return this.weights.stacked(key);
  }

  /**
   * The unembedding direction(s) of `tokens`: `W_U[:, t]`. The caller owns the result.
   * @param tokens a string (one token), an id or a 0-d tensor gives [d_model]; ids [batch] or
   *   [batch, pos] give [..., d_model].
   */
  tokensToResidualDirections(tokens: string | number | number[] | number[][]): tf.Tensor {
    this.assertLive();
    const ids = typeof tokens === 'string' ? this.toSingleToken(tokens) : tokens;
    return this.weights.residualDirections(hostIds(ids, 'tokensToResidualDirections'));
  }

  /**
   * Σ of the biases written to the residual stream before block `layer` (b_O, and b_out when
   * `includeMlpBiases`), plus `b_O[layer]` when `mlpInput`. [d_model], owned by the caller.
   * @param layer the block whose input the biases reach (0 … n_layers).
   * @param mlpInput also count block `layer`'s attention bias (the MLP's input).
   * @param includeMlpBiases count the MLP output biases `b_out` (default true).
   */
  accumulatedBias(layer: number, mlpInput = false, includeMlpBiases = true): tf.Tensor {
    this.assertLive();
    return this.weights.accumulatedBias(layer, mlpInput, includeMlpBiases);
  }

  /** True once {@link dispose} ran. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Frees every parameter. */
  dispose(): void {
    if (this.disposed) return;
    this.weights.dispose();
    this.disposed = true;
  }

  protected assertLive(): void {
    if (this.disposed) throw new LazylensError('This HookedTransformer was disposed; its weights are gone.');
  }
}
