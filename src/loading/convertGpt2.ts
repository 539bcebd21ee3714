/**
 * Hugging Face GPT-2 weights -> TransformerLens's state dict, as TransformerLens's
 * `convert_gpt2_weights`. GPT-2 stores its linear layers as Conv1D, i.e. [in, out]; q, k and v
 * are concatenated on the out axis of `c_attn`, each head-major ((head, d_head) flattened).
 */
import { CheckpointError, closestNames } from '../errors.js';
import type { HookedTransformerConfig } from '../model/config.js';
import type { SafetensorsTensor } from './safetensors.js';
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
  const src = new Source(tensors, options.source ?? 'checkpoint');
  const { nLayers, dModel: d, nHeads: h, dHead: dh, nCtx, dVocab } = cfg;
  const m = cfg.dMlp ?? 4 * d;
  const vOut = cfg.dVocabOut ?? dVocab;
  if (h * dh !== d) {
    throw new CheckpointError(`GPT-2 needs nHeads·dHead = dModel; config gives ${h}·${dh} ≠ ${d}.`);
  }
  src.checkLayerCount(nLayers);

  const sd: StateDict = new Map();
  const wte = src.get('wte.weight', [dVocab, d], 'embed.W_E');
  sd.set('embed.W_E', copy(wte));
  sd.set('pos_embed.W_pos', copy(src.get('wpe.weight', [nCtx, d], 'pos_embed.W_pos')));

  for (let l = 0; l < nLayers; l++) {
    const p = `h.${l}.`;
    const b = `blocks.${l}.`;
    sd.set(`${b}ln1.w`, copy(src.get(`${p}ln_1.weight`, [d], `${b}ln1.w`)));
    sd.set(`${b}ln1.b`, copy(src.get(`${p}ln_1.bias`, [d], `${b}ln1.b`)));

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
    sd.set(`${b}attn.b_O`, copy(src.get(`${p}attn.c_proj.bias`, [d], `${b}attn.b_O`)));

    // lazylens's attn_only extension: no ln_2 and no MLP, so none may be in the checkpoint.
    if (cfg.attnOnly) {
      src.checkAbsent(`${p}ln_2.`, `${p}mlp.`);
      continue;
    }
    sd.set(`${b}ln2.w`, copy(src.get(`${p}ln_2.weight`, [d], `${b}ln2.w`)));
    sd.set(`${b}ln2.b`, copy(src.get(`${p}ln_2.bias`, [d], `${b}ln2.b`)));
    sd.set(`${b}mlp.W_in`, copy(src.get(`${p}mlp.c_fc.weight`, [d, m], `${b}mlp.W_in`)));
    sd.set(`${b}mlp.b_in`, copy(src.get(`${p}mlp.c_fc.bias`, [m], `${b}mlp.b_in`)));
    sd.set(`${b}mlp.W_out`, copy(src.get(`${p}mlp.c_proj.weight`, [m, d], `${b}mlp.W_out`)));
    sd.set(`${b}mlp.b_out`, copy(src.get(`${p}mlp.c_proj.bias`, [d], `${b}mlp.b_out`)));
  }

  sd.set('ln_final.w', copy(src.get('ln_f.weight', [d], 'ln_final.w')));
  sd.set('ln_final.b', copy(src.get('ln_f.bias', [d], 'ln_final.b')));
  const head = src.has('lm_head.weight') ? src.get('lm_head.weight', [vOut, d], 'unembed.W_U') : wte;
  if (head === wte && vOut !== dVocab) {
    throw new CheckpointError(
      `${src.source}: no lm_head.weight, and the tied wte.weight has ${dVocab} rows; expected dVocabOut = ${vOut}.`,
    );
  }
  sd.set('unembed.W_U', transpose(head.data, vOut, d));
  sd.set('unembed.b_U', { shape: [vOut], data: new Float32Array(vOut) });
  return sd;
}

/** Looks tensors up under both naming schemes and checks dtype and shape. */
class Source {
  constructor(
    private readonly tensors: ReadonlyMap<string, SafetensorsTensor>,
    readonly source: string,
  ) {}

  private resolve(name: string): string | undefined {
    for (const candidate of [`transformer.${name}`, name]) if (this.tensors.has(candidate)) return candidate;
    return undefined;
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  get(name: string, shape: number[], purpose: string): HostArray<Float32Array> {
    const found = this.resolve(name);
    if (found === undefined) {
      const near = closestNames(`transformer.${name}`, this.tensors.keys());
      const hint = near.length
        ? ` Closest names present: ${near.join(', ')}.`
        : ' The checkpoint has no tensors.';
      throw new CheckpointError(
        `${this.source}: missing tensor '${name}' (or 'transformer.${name}'), needed for ${purpose}.${hint}`,
      );
    }
    const t = this.tensors.get(found)!;
    if (!(t.data instanceof Float32Array)) {
      throw new CheckpointError(
        `${this.source}: tensor '${found}' has integer dtype ${t.dtype}; expected a float.`,
      );
    }
    if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new CheckpointError(
        `${this.source}: tensor '${found}' has shape [${t.shape.join(', ')}]; expected [${shape.join(', ')}] ` +
          `for ${purpose} (from the config).`,
      );
    }
    return { shape: t.shape, data: t.data };
  }

  /** Fails when a tensor name starts with one of `prefixes` (weights the config says do not exist). */
  checkAbsent(...prefixes: string[]): void {
    for (const name of this.tensors.keys()) {
      const bare = name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
      if (prefixes.some((p) => bare.startsWith(p))) {
        throw new CheckpointError(
          `${this.source}: has tensor '${name}', but the config is attention-only (attn_only: true); ` +
            'expected no MLP or ln_2 weights.',
        );
      }
    }
  }

  /** A checkpoint with blocks past nLayers means the config and the weights disagree. */
  checkLayerCount(nLayers: number): void {
    let most = -1;
    for (const name of this.tensors.keys()) {
      const match = /^(?:transformer\.)?h\.(\d+)\./.exec(name);
      if (match) most = Math.max(most, Number(match[1]));
    }
    if (most >= nLayers) {
      throw new CheckpointError(
        `${this.source}: has weights for layer ${most}; expected layers 0..${nLayers - 1} (config nLayers = ${nLayers}).`,
      );
    }
  }
}

function copy(a: HostArray<Float32Array>): HostArray<Float32Array> {
  return { shape: [...a.shape], data: a.data.slice() };
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

/** [rows, cols] -> [cols, rows]. */
function transpose(w: Float32Array, rows: number, cols: number): HostArray<Float32Array> {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  }
  return { shape: [cols, rows], data: out };
}
