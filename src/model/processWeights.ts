/**
 * TransformerLens's weight processing, re-derived: each step changes the parameters but not the
 * model's log-probabilities (the logits change only by a per-position constant).
 */
import * as tf from '@tensorflow/tfjs';
import { deriveConfig, type HookedTransformerConfig } from '../core/config.js';
import { param } from './layers.js';
import { InvalidArgumentError } from '../errors.js';
import { kvParamName, type StateDict } from '../core/stateDict.js';

/** Weight-processing steps, as TransformerLens's `from_pretrained` flags. */
export interface ProcessingOptions {
  /** Fold each norm's weight (and LN's bias) into the layer that reads it; LN → LNPre, RMS → RMSPre. */
  foldLn?: boolean;
  /** Remove the d_model mean from every weight that writes to the residual stream (LN models only). */
  centerWritingWeights?: boolean;
  /** Remove the mean over the vocabulary from W_U and b_U (shifts every logit equally). */
  centerUnembed?: boolean;
  /** Move b_V into b_O: exact because each attention row sums to one. */
  foldValueBiases?: boolean;
}

/** TransformerLens's `from_pretrained` defaults. */
export const DEFAULT_PROCESSING: Required<ProcessingOptions> = {
  foldLn: true,
  centerWritingWeights: true,
  centerUnembed: true,
  foldValueBiases: true,
};

const isLnKind = (cfg: HookedTransformerConfig): boolean =>
  cfg.normalizationType === 'LN' || cfg.normalizationType === 'LNPre';

/** Mean over `axis` removed; keeps the shape. */
const centre = (t: tf.Tensor, axis: number): tf.Tensor => tf.sub(t, tf.mean(t, axis, true));

/** A layer that reads a norm's output: its weight, its bias (none for TL's gate), its d_model axis. */
interface Reader {
  weight: string;
  bias: string | undefined;
  axis: number;
}

/**
 * Folds the norm `prefix` into readers whose input (d_model) axis is `axis`, biases `readerBias`.
 * W' = w·W along the input axis, c' = c + b·W (LN only), then W' centred along the input axis
 * (LN only: a centred input makes the input mean irrelevant to the reader). RMS norms have no
 * bias and do not centre, so only the weight is folded.
 */
function foldNorm(sd: StateDict, cfg: HookedTransformerConfig, prefix: string, readers: Reader[]): void {
  const w = param(sd, `${prefix}.w`);
  const b = cfg.normalizationType === 'LN' ? param(sd, `${prefix}.b`) : undefined;
  for (const r of readers) {
    const W = param(sd, r.weight);
    const along = (v: tf.Tensor): tf.Tensor => {
      const shape = W.shape.map((n, i) => (i === r.axis ? n : 1));
      return tf.reshape(v, shape);
    };
    if (b && r.bias === undefined) {
      // TL scales the gate and drops the LN bias's path through it, silently changing the model.
      throw new InvalidArgumentError(
        `foldLn cannot fold ${prefix}'s bias into ${r.weight}, which has no bias; ` +
          'expected an RMS norm before a gated MLP. Load with foldLn: false.',
      );
    }
    if (b && r.bias) sd.set(r.bias, tf.add(param(sd, r.bias), tf.sum(tf.mul(W, along(b)), r.axis)));
    let folded = tf.mul(W, along(w));
    if (b) folded = centre(folded, r.axis);
    sd.set(r.weight, folded);
  }
  sd.delete(`${prefix}.w`);
  sd.delete(`${prefix}.b`);
}

/**
 * Returns the processed parameters and config. `params` is not modified; the result holds new
 * tensors for changed entries and the same tensors for unchanged ones — the caller decides
 * ownership (HookedTransformer disposes the originals it no longer references).
 */
export function processWeights(
  cfg: HookedTransformerConfig,
  params: StateDict,
  options: ProcessingOptions = DEFAULT_PROCESSING,
): {
  /** The config after processing (e.g. `LNPre` once LN is folded). */
  cfg: HookedTransformerConfig;
  /** The processed parameters under TransformerLens's names. */
  params: StateDict;
} {
  const opts = { ...DEFAULT_PROCESSING, ...options };
  const sd: StateDict = new Map(params);
  let outCfg = cfg;
  // Intermediates (means, products) are freed by tidy; the returned entries are kept.
  const kept = tf.tidy(() => {
    const affine = cfg.normalizationType === 'LN' || cfg.normalizationType === 'RMS';
    if (opts.foldLn && affine) {
      for (let l = 0; l < cfg.nLayers; l++) {
        const p = `blocks.${l}`;
        const attnReaders: Reader[] = [{ weight: `${p}.attn.W_Q`, bias: `${p}.attn.b_Q`, axis: 1 }];
        for (const m of ['K', 'V']) {
          attnReaders.push({
            weight: kvParamName(cfg, l, `W_${m}`),
            bias: kvParamName(cfg, l, `b_${m}`),
            axis: 1,
          });
        }
        foldNorm(sd, cfg, `${p}.ln1`, attnReaders);
        if (!cfg.attnOnly) {
          const mlpReaders: Reader[] = [{ weight: `${p}.mlp.W_in`, bias: `${p}.mlp.b_in`, axis: 0 }];
          if (cfg.gatedMlp) mlpReaders.push({ weight: `${p}.mlp.W_gate`, bias: undefined, axis: 0 });
          foldNorm(sd, cfg, `${p}.ln2`, mlpReaders);
        }
      }
      foldNorm(sd, cfg, 'ln_final', [{ weight: 'unembed.W_U', bias: 'unembed.b_U', axis: 0 }]);
      outCfg = deriveConfig(outCfg, (c) => {
        c.normalizationType = cfg.normalizationType === 'LN' ? 'LNPre' : 'RMSPre';
      });
    }
    if (opts.centerWritingWeights && isLnKind(cfg) && !cfg.finalRms) {
      const writers = ['embed.W_E', 'pos_embed.W_pos'];
      for (let l = 0; l < cfg.nLayers; l++) {
        writers.push(`blocks.${l}.attn.W_O`, `blocks.${l}.attn.b_O`);
        if (!cfg.attnOnly) writers.push(`blocks.${l}.mlp.W_out`, `blocks.${l}.mlp.b_out`);
      }
      for (const name of writers) if (sd.has(name)) sd.set(name, centre(param(sd, name), -1));
    }
    // A soft cap is not shift-invariant, so centring the logits would change the log-probs (TL
    // skips it for such models too).
    if (opts.centerUnembed && !(cfg.outputLogitsSoftCap > 0)) {
      sd.set('unembed.W_U', centre(param(sd, 'unembed.W_U'), -1));
      sd.set('unembed.b_U', centre(param(sd, 'unembed.b_U'), -1));
    }
    if (opts.foldValueBiases) {
      for (let l = 0; l < cfg.nLayers; l++) {
        const p = `blocks.${l}.attn`;
        const bVName = kvParamName(cfg, l, 'b_V');
        const bV = param(sd, bVName);
        const WO = param(sd, `${p}.W_O`);
        const [h, dh, d] = WO.shape;
        // Grouped-query: query head i reads value head ⌊i / (h/g)⌋, so b_V repeats per group.
        const g = bV.shape[0];
        const groupOf = Array.from({ length: h }, (_, i) => Math.floor(i / (h / g)));
        const perHead = g === h ? bV : tf.gather(bV, tf.tensor1d(groupOf, 'int32'), 0);
        // Σ_h b_V[h] · W_O[h] as one [1, h·dh] @ [h·dh, d] product
        const moved = tf.reshape(tf.matMul(tf.reshape(perHead, [1, h * dh]), tf.reshape(WO, [h * dh, d])), [
          d,
        ]);
        sd.set(`${p}.b_O`, tf.add(param(sd, `${p}.b_O`), moved));
        sd.set(bVName, tf.zerosLike(bV));
      }
    }
    return [...sd.values()].filter((t) => ![...params.values()].includes(t));
  });
  void kept;
  return { cfg: outCfg, params: sd };
}
