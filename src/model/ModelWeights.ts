/**
 * A model's parameters and the tensors derived from them (TransformerLens's stacked weight
 * properties, grouped-query heads repeated out, unembedding directions, accumulated biases).
 * Derived tensors are built once and owned here, so `model.W_Q` twice is one tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { BadLayerError, CheckpointError, InvalidArgumentError, TokenError } from '../errors.js';
import type { HookedTransformerConfig } from '../core/config.js';
import { param } from './layers.js';
import { expectedParamShapes, type StateDict } from '../core/stateDict.js';
import { buildProjectionWeights, type ProjectionWeights } from './projectionWeights.js';

/** TransformerLens's stacked properties and the per-layer parameter each stacks. */
export const STACKED = {
  W_Q: 'attn.W_Q',
  W_K: 'attn.W_K',
  W_V: 'attn.W_V',
  W_O: 'attn.W_O',
  b_Q: 'attn.b_Q',
  b_K: 'attn.b_K',
  b_V: 'attn.b_V',
  b_O: 'attn.b_O',
  W_in: 'mlp.W_in',
  W_gate: 'mlp.W_gate',
  b_in: 'mlp.b_in',
  W_out: 'mlp.W_out',
  b_out: 'mlp.b_out',
} as const;

export type StackedWeight = keyof typeof STACKED;

export class ModelWeights {
  private readonly derived = new Map<string, tf.Tensor>();
  /** The query, key and value weights as the forward multiplies by them; see projectionWeights.ts. */
  readonly projections: ProjectionWeights;

  /** Takes ownership of `params`. */
  constructor(
    private readonly cfg: HookedTransformerConfig,
    readonly params: StateDict,
  ) {
    this.projections = buildProjectionWeights(params);
  }

  /**
   * A parameter under its TransformerLens name. For grouped-query models the key/value weights
   * are TL's repeat-interleaved [n_heads, …] view of the stored `_W_K` [n_key_value_heads, …].
   */
  get(name: string): tf.Tensor {
    const grouped = /^blocks\.(\d+)\.attn\.([Wb]_[KV])$/.exec(name);
    if (grouped && this.cfg.nKeyValueHeads !== null) {
      return this.memo(name, () => {
        const stored = param(this.params, `blocks.${grouped[1]}.attn._${grouped[2]}`);
        return repeatHeads(stored, this.cfg.nHeads);
      });
    }
    return param(this.params, name);
  }

  /** A per-layer parameter stacked over layers: [n_layers, …]. */
  stacked(key: StackedWeight): tf.Tensor {
    const suffix = STACKED[key];
    if (this.cfg.attnOnly && suffix.startsWith('mlp.')) {
      throw new InvalidArgumentError(`${key} does not exist: this model is attention-only.`);
    }
    if (key === 'W_gate' && !this.cfg.gatedMlp) {
      throw new InvalidArgumentError('W_gate does not exist: this model has no gated MLP.');
    }
    return this.memo(key, () =>
      tf.stack(Array.from({ length: this.cfg.nLayers }, (_, l) => this.get(`blocks.${l}.${suffix}`))),
    );
  }

  /** `W_U[:, ids]`: [...ids.shape, d_model], owned by the caller. */
  residualDirections(ids: number | number[] | number[][]): tf.Tensor {
    checkIds([ids].flat(2), this.cfg.dVocabOut);
    return tf.tidy(() => {
      const t = tf.tensor(ids, undefined, 'int32');
      // Gathered columns, then transposed: transposing all of W_U first would copy it whole.
      const dirs = tf.transpose(tf.gather(this.get('unembed.W_U'), tf.reshape(t, [-1]), 1));
      return tf.reshape(dirs, [...t.shape, this.cfg.dModel]);
    });
  }

  /** Σ of the biases written to the residual stream before block `layer`; see HookedTransformer. */
  accumulatedBias(layer: number, mlpInput: boolean, includeMlpBiases: boolean): tf.Tensor {
    const n = this.cfg.nLayers;
    if (!Number.isInteger(layer) || layer < 0 || layer > n || (mlpInput && layer === n)) {
      throw new BadLayerError(
        `accumulatedBias layer ${layer} given; expected an integer in [0, ${mlpInput ? n - 1 : n}].`,
      );
    }
    return tf.tidy(() => {
      let total: tf.Tensor = tf.zeros([this.cfg.dModel]);
      for (let l = 0; l < layer; l++) {
        total = tf.add(total, this.get(`blocks.${l}.attn.b_O`));
        if (includeMlpBiases && !this.cfg.attnOnly) total = tf.add(total, this.get(`blocks.${l}.mlp.b_out`));
      }
      if (mlpInput) total = tf.add(total, this.get(`blocks.${layer}.attn.b_O`));
      return total;
    });
  }

  /** Frees the parameters and everything derived from them. */
  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    for (const t of this.derived.values()) t.dispose();
    for (const t of this.projections.values()) t.dispose();
    this.derived.clear();
  }

  private memo(key: string, build: () => tf.Tensor): tf.Tensor {
    let t = this.derived.get(key);
    if (!t) {
      // keep(): a memo may be built inside another memo's tidy (stacking grouped W_K per layer).
      t = tf.keep(tf.tidy(build));
      this.derived.set(key, t);
    }
    return t;
  }
}

/** [g, …] → [h, …]: row i is group ⌊i / (h/g)⌋ (TL's repeat_interleave of key/value heads). */
function repeatHeads(t: tf.Tensor, nHeads: number): tf.Tensor {
  const g = t.shape[0];
  const rows = Array.from({ length: nHeads }, (_, i) => Math.floor(i / (nHeads / g)));
  return tf.gather(t, tf.tensor1d(rows, 'int32'));
}

function checkIds(ids: readonly number[], vocab: number): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) {
      throw new TokenError(`Token id ${id} given; expected an integer in [0, ${vocab - 1}].`);
    }
  }
}

/** @throws CheckpointError naming the first parameter that is missing or of the wrong shape. */
export function validateStateDict(cfg: HookedTransformerConfig, params: StateDict): void {
  for (const [name, shape] of expectedParamShapes(cfg)) {
    const t = params.get(name);
    if (!t)
      throw new CheckpointError(`Parameter '${name}' is missing; expected shape [${shape.join(', ')}].`);
    if (t.shape.join() !== shape.join()) {
      throw new CheckpointError(
        `Parameter '${name}' has shape [${t.shape.join(', ')}]; expected [${shape.join(', ')}].`,
      );
    }
  }
}
