/**
 * Hugging Face GPT-2 weights -> TransformerLens's state dict, as TransformerLens's
 * `convert_gpt2_weights`. GPT-2 stores its linear layers as Conv1D, i.e. [in, out]; q, k and v
 * are concatenated on the out axis of `c_attn`, each head-major ((head, d_head) flattened).
 */
import { CheckpointError } from '../errors.js';
import type { HookedTransformerConfig } from '../core/config.js';
import type { SafetensorsTensor } from './safetensors.js';
import { HfTensorSource, copyArray, transposeArray } from './hfTensors.js';
import type { HostArray, StateDict } from './toTensor.js';

/** What a converter needs to know about where the weights came from, for error messages. */
export interface ConvertOptions {
  /** The file or folder the tensors were read from. */
  source?: string;
}

type Cfg = Pick<
  HookedTransformerConfig,
  'nLayers' | 'dModel' | 'nHeads' | 'dHead' | 'dMlp' | 'nCtx' | 'dVocab'
> &
  Partial<Pick<HookedTransformerConfig, 'dVocabOut' | 'attnOnly'>>;

/**
 * Converts GPT-2 weights (names with or without the `transformer.` prefix) to TransformerLens's
 * names and layouts. Returns new host arrays; the input is not modified and no tf tensor is made.
 * Buffers (`attn.bias`, `attn.masked_bias`) are ignored; `unembed.W_U` is `lm_head.weight`ᵀ when
 * present, else tied to `wte`; `unembed.b_U` is zeros. With `cfg.attnOnly` (lazylens's `attn_only`
 * config extension) the blocks have no `ln_2`/`mlp` tensors.
 * @throws CheckpointError naming the tensor and the source when one is missing, not float, of the
 *   wrong shape, or when the checkpoint has more layers than the config.
 */
export function convertGpt2(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: Cfg,
  options: ConvertOptions = {},
): StateDict {
  const src = new HfTensorSource(tensors, options.source ?? 'checkpoint', ['transformer.']);
  const { nLayers, dModel: d, nHeads: h, dHead: dh, nCtx, dVocab } = cfg;
  const m = cfg.dMlp ?? 4 * d;
  const vOut = cfg.dVocabOut ?? dVocab;
  if (h * dh !== d) {
    throw new CheckpointError(`GPT-2 needs nHeads·dHead = dModel; config gives ${h}·${dh} ≠ ${d}.`);
  }
  src.checkLayerCount(nLayers, /^(?:transformer\.)?h\.(\d+)\./);

  const sd: StateDict = new Map();
  const wte = src.get('wte.weight', [dVocab, d], 'embed.W_E');
  sd.set('embed.W_E', copyArray(wte));
  src.copyTo(sd, 'wpe.weight', 'pos_embed.W_pos', [nCtx, d]);

  for (let l = 0; l < nLayers; l++) {
    const p = `h.${l}.`;
    const b = `blocks.${l}.`;
    src.copyTo(sd, `${p}ln_1.weight`, `${b}ln1.w`, [d]);
    src.copyTo(sd, `${p}ln_1.bias`, `${b}ln1.b`, [d]);

    const qkv = src.get(`${p}attn.c_attn.weight`, [d, 3 * d], `${b}attn.W_Q/W_K/W_V`);
    const qkvBias = src.get(`${p}attn.c_attn.bias`, [3 * d], `${b}attn.b_Q/b_K/b_V`);
    ['Q', 'K', 'V'].forEach((name, which) => {
      sd.set(`${b}attn.W_${name}`, splitHeads(qkv.data, d, h, dh, which));
      sd.set(`${b}attn.b_${name}`, {
        shape: [h, dh],
        data: qkvBias.data.slice(which * d, (which + 1) * d),
      });
    });
    // c_proj is [(head, d_head), d] in Conv1D layout: W_O [h, dh, d] is the same memory.
    const wO = src.get(`${p}attn.c_proj.weight`, [d, d], `${b}attn.W_O`);
    sd.set(`${b}attn.W_O`, { shape: [h, dh, d], data: wO.data.slice() });
    src.copyTo(sd, `${p}attn.c_proj.bias`, `${b}attn.b_O`, [d]);

    // lazylens's attn_only extension: no ln_2 and no MLP, so none may be in the checkpoint.
    if (cfg.attnOnly) {
      src.checkAbsent(
        [`${p}ln_2.`, `${p}mlp.`],
        'the config is attention-only (attn_only: true); expected no MLP or ln_2 weights',
      );
      continue;
    }
    src.copyTo(sd, `${p}ln_2.weight`, `${b}ln2.w`, [d]);
    src.copyTo(sd, `${p}ln_2.bias`, `${b}ln2.b`, [d]);
    src.copyTo(sd, `${p}mlp.c_fc.weight`, `${b}mlp.W_in`, [d, m]);
    src.copyTo(sd, `${p}mlp.c_fc.bias`, `${b}mlp.b_in`, [m]);
    src.copyTo(sd, `${p}mlp.c_proj.weight`, `${b}mlp.W_out`, [m, d]);
    src.copyTo(sd, `${p}mlp.c_proj.bias`, `${b}mlp.b_out`, [d]);
  }

  src.copyTo(sd, 'ln_f.weight', 'ln_final.w', [d]);
  src.copyTo(sd, 'ln_f.bias', 'ln_final.b', [d]);
  const head = src.has('lm_head.weight') ? src.get('lm_head.weight', [vOut, d], 'unembed.W_U') : wte;
  if (head === wte && vOut !== dVocab) {
    throw new CheckpointError(
      `${src.source}: no lm_head.weight, and the tied wte.weight has ${dVocab} rows; expected dVocabOut = ${vOut}.`,
    );
  }
  sd.set('unembed.W_U', transposeArray(head));
  sd.set('unembed.b_U', { shape: [vOut], data: new Float32Array(vOut) });
  return sd;
}

/** Part `which` (0 q, 1 k, 2 v) of a [d, 3d] Conv1D weight, as [h, d, dh]. */
function splitHeads(
  w: Float32Array,
  d: number,
  h: number,
  dh: number,
  which: number,
): HostArray<Float32Array> {
  const out = new Float32Array(h * d * dh);
  for (let head = 0; head < h; head++) {
    for (let i = 0; i < d; i++) {
      const from = i * 3 * d + which * d + head * dh;
      out.set(w.subarray(from, from + dh), (head * d + i) * dh);
    }
  }
  return { shape: [h, d, dh], data: out };
}
