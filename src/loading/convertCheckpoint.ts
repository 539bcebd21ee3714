/**
 * The one Hugging Face → TransformerLens weight converter: it reads a family's
 * {@link WeightTable} and applies it to a checkpoint, checking every tensor's dtype and shape
 * against the config, and failing on tensors the table does not account for.
 */
import type { HookedTransformerConfig } from '../core/config.js';
import { HfTensorSource } from './hfTensors.js';
import type { SafetensorsTensor } from './safetensors.js';
import type { HostArray, StateDict } from './toTensor.js';
import type { Dim, FusedPart, WeightEntry, WeightTable } from './weightTable.js';

/** What a converter needs to know about where the weights came from, for error messages. */
export interface ConvertOptions {
  /** The file or folder the tensors were read from. */
  source?: string;
}

/** The config fields a conversion reads. */
export type ConvertConfig = Pick<
  HookedTransformerConfig,
  'nLayers' | 'dModel' | 'nHeads' | 'dHead' | 'dMlp' | 'nCtx' | 'dVocab'
> &
  Partial<Pick<HookedTransformerConfig, 'dVocabOut' | 'attnOnly' | 'nKeyValueHeads'>>;

/**
 * Converts a checkpoint's tensors to TransformerLens's names and layouts by `table`. Returns new
 * host arrays (the input is not modified and no tf tensor is made). Grouped-query models
 * (`nKeyValueHeads` set) get their key/value parameters under TL's `_W_K`, `_b_K`, `_W_V`, `_b_V`.
 * @throws CheckpointError naming the tensor and the source when one is missing, not float or of
 *   the wrong shape; when the checkpoint has more layers than the config; when an attention-only
 *   config meets MLP weights; and when a tensor is left over that no TL parameter comes from.
 */
export function convertCheckpoint(
  table: WeightTable,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  cfg: ConvertConfig,
  options: ConvertOptions = {},
): StateDict {
  const src = new HfTensorSource(tensors, options.source ?? 'checkpoint', table.prefixes);
  const dims = dimSizes(cfg);
  const grouped = cfg.nKeyValueHeads !== undefined && cfg.nKeyValueHeads !== null;
  const layerPattern = new RegExp(
    `^(?:${table.prefixes.map(escapeRegExp).join('|')})?${escapeRegExp(table.layers)}(\\d+)\\.`,
  );
  src.checkLayerCount(cfg.nLayers, layerPattern);

  const sd: StateDict = new Map();
  const put = (
    entry: WeightEntry,
    group: readonly WeightEntry[],
    hfPrefix: string,
    tlPrefix: string,
  ): void => {
    const name = tlPrefix + tlName(entry.tl, grouped);
    sd.set(name, convertEntry(src, entry, hfPrefix, purpose(entry, group, tlPrefix, grouped), dims));
  };
  for (const entry of table.embed) put(entry, table.embed, '', '');
  for (let l = 0; l < cfg.nLayers; l++) {
    const hfPrefix = `${table.layers}${l}.`;
    for (const entry of table.block) put(entry, table.block, hfPrefix, `blocks.${l}.`);
    if (cfg.attnOnly) {
      // lazylens's attn_only extension: no MLP half, so none of its weights may be present.
      src.checkAbsent(
        table.mlp.flatMap((e) => (e.hf === undefined ? [] : [hfPrefix + e.hf])),
        'the config is attention-only (attn_only: true); expected no MLP or ln_2 weights',
      );
      continue;
    }
    for (const entry of table.mlp) put(entry, table.mlp, hfPrefix, `blocks.${l}.`);
  }
  for (const entry of table.final) put(entry, table.final, '', '');
  src.checkAllUsed(table.ignore, `${table.family}'s weight table`);
  return sd;
}

/** TL keeps grouped keys and values (n_key_value_heads of them) under underscored names. */
function tlName(tl: string, grouped: boolean): string {
  return grouped && /^attn\.[Wb]_[KV]$/.test(tl) ? tl.replace('.', '._') : tl;
}

/**
 * What a checkpoint tensor is needed for, in messages: the TL name, or for a fused tensor every
 * TL parameter taken from it (`blocks.0.attn.W_Q/W_K/W_V`).
 */
function purpose(
  entry: WeightEntry,
  group: readonly WeightEntry[],
  tlPrefix: string,
  grouped: boolean,
): string {
  const names = entry.part ? group.filter((e) => e.hf === entry.hf).map((e) => tlName(e.tl, grouped)) : [];
  if (names.length < 2) return tlPrefix + tlName(entry.tl, grouped);
  return tlPrefix + [names[0], ...names.slice(1).map((n) => n.slice(n.lastIndexOf('.') + 1))].join('/');
}

/** The sizes the table's dimension names stand for. */
function dimSizes(cfg: ConvertConfig): Record<string, number> {
  const g = cfg.nKeyValueHeads ?? cfg.nHeads;
  return {
    d: cfg.dModel,
    h: cfg.nHeads,
    g,
    dh: cfg.dHead,
    q: cfg.nHeads * cfg.dHead,
    kv: g * cfg.dHead,
    m: cfg.dMlp ?? 4 * cfg.dModel,
    ctx: cfg.nCtx,
    vocab: cfg.dVocab,
    vocabOut: cfg.dVocabOut ?? cfg.dVocab,
  };
}

/** The size a {@link Dim} expression stands for (`q+2kv` → h·dh + 2·g·dh). */
export function dimSize(expr: Dim, dims: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const term of expr.split('+')) {
    const match = /^(\d*)([a-zA-Z]*)$/.exec(term.trim());
    const name = match?.[2] ?? '';
    if (!match || (match[1] === '' && name === '') || (name !== '' && !(name in dims))) {
      throw new Error(
        `internal: weight table dimension '${expr}' is not a sum of ${Object.keys(dims).join(', ')}`,
      );
    }
    const factor = match[1] === '' ? 1 : Number(match[1]);
    total += name === '' ? factor : factor * dims[name];
  }
  return total;
}

/** One entry: read (or zero-fill), select the fused part, change the layout, then plus / times. */
function convertEntry(
  src: HfTensorSource,
  entry: WeightEntry,
  hfPrefix: string,
  needed: string,
  dims: Record<string, number>,
): HostArray<Float32Array> {
  const shape = entry.shape.map((e) => dimSize(e, dims));
  let input: HostArray<Float32Array> | undefined;
  if (entry.hf !== undefined) {
    const name = hfPrefix + entry.hf;
    if (src.has(name)) input = src.get(name, shape, needed);
    else if (entry.tiedTo !== undefined) {
      input = src.get(entry.tiedTo, shape, `${needed} (tied: the checkpoint has no ${name})`);
    } else if (entry.ifAbsent !== 'zeros') input = src.get(name, shape, needed); // throws, naming it
  }
  const heads = dims[entry.heads ?? 'h'];
  const out =
    input === undefined
      ? zerosFor(entry, shape, heads, dims)
      : relayout(entry, input, heads, dims.dh, rowMap(entry.part, shape, entry.layout, dims));
  if (entry.plus !== undefined) for (let i = 0; i < out.data.length; i++) out.data[i] += entry.plus;
  if (entry.timesSqrtD) {
    const s = Math.sqrt(dims.d);
    for (let i = 0; i < out.data.length; i++) out.data[i] *= s;
  }
  return out;
}

/** Zeros in the TL shape the entry's op would give the checkpoint shape. */
function zerosFor(
  entry: WeightEntry,
  shape: number[],
  heads: number,
  dims: Record<string, number>,
): HostArray<Float32Array> {
  if (entry.hf === undefined) return zeros(shape);
  const part = rowMap(entry.part, shape, entry.layout, dims);
  const rows = part.size;
  const outShape = ((): number[] => {
    switch (entry.op ?? 'copy') {
      case 'copy':
        return [rows, ...shape.slice(1)];
      case 'headBias':
        return [heads, dims.dh];
      case 'transpose':
      case 'heads':
      case 'outHeads':
        throw new Error(`internal: ${entry.tl}: only copied or per-head biases may be absent`);
    }
  })();
  return zeros(outShape);
}

function zeros(shape: number[]): HostArray<Float32Array> {
  return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

/** The rows of the output axis an entry reads: `size` of them, part row i at full row `of(i)`. */
interface RowMap {
  size: number;
  of: (i: number) => number;
}

function rowMap(
  part: FusedPart | undefined,
  shape: number[],
  layout: WeightEntry['layout'],
  dims: Record<string, number>,
): RowMap {
  const total = layout === 'conv1d' ? shape[1] : shape[0];
  if (part === undefined) return { size: total, of: (i) => i };
  if ('split' in part) {
    const sizes = part.split.map((e) => dimSize(e, dims));
    const offset = sizes.slice(0, part.index).reduce((a, b) => a + b, 0);
    return { size: sizes[part.index], of: (i) => offset + i };
  }
  const { perHead: n, index } = part;
  const dh = dims.dh;
  return {
    size: total / n,
    of: (i) => Math.floor(i / dh) * n * dh + index * dh + (i % dh),
  };
}

/** The entry's layout change on `input`, reading output rows through `rows`. */
function relayout(
  entry: WeightEntry,
  input: HostArray<Float32Array>,
  heads: number,
  dh: number,
  rows: RowMap,
): HostArray<Float32Array> {
  const op = entry.op ?? 'copy';
  const src = input.data;
  if (input.shape.length !== 2 || op === 'copy' || op === 'headBias') {
    // Rows of whatever follows the first axis (a bias's rows are single numbers).
    if (entry.layout === 'conv1d') throw new Error(`internal: ${entry.tl}: conv1d layout needs a 2-D op`);
    const rowLen = input.shape.slice(1).reduce((a, b) => a * b, 1);
    const out = new Float32Array(rows.size * rowLen);
    for (let i = 0; i < rows.size; i++)
      out.set(src.subarray(rows.of(i) * rowLen, (rows.of(i) + 1) * rowLen), i * rowLen);
    if (op === 'headBias') return { shape: [heads, dh], data: checkSize(entry, out, heads * dh) };
    if (op !== 'copy') throw new Error(`internal: ${entry.tl}: op '${op}' needs a 2-D tensor`);
    return { shape: [rows.size, ...input.shape.slice(1)], data: out };
  }
  // A 2-D weight seen as [out, in] whatever its storage: element (r, c) is at r·rs + c·cs.
  const conv = entry.layout === 'conv1d';
  const [outDim, inDim] = conv ? [input.shape[1], input.shape[0]] : [input.shape[0], input.shape[1]];
  const rs = conv ? 1 : inDim;
  const cs = conv ? outDim : 1;
  const n = rows.size;
  const out = new Float32Array(n * inDim);
  switch (op) {
    case 'transpose': // [n, in] → [in, n]
      for (let i = 0; i < n; i++) {
        const r = rows.of(i) * rs;
        for (let c = 0; c < inDim; c++) out[c * n + i] = src[r + c * cs];
      }
      return { shape: [inDim, n], data: out };
    case 'heads': // [heads·dh, in] → [heads, in, dh]
      checkSize(entry, out, heads * dh * inDim);
      for (let i = 0; i < n; i++) {
        const r = rows.of(i) * rs;
        const head = Math.floor(i / dh);
        const e = i % dh;
        for (let c = 0; c < inDim; c++) out[(head * inDim + c) * dh + e] = src[r + c * cs];
      }
      return { shape: [heads, inDim, dh], data: out };
    case 'outHeads': // [out, h·dh] → [h·dh, out] = [h, dh, out]
      if (entry.part !== undefined) throw new Error(`internal: ${entry.tl}: outHeads takes no part`);
      checkSize(entry, out, heads * dh * outDim);
      for (let o = 0; o < outDim; o++) {
        for (let c = 0; c < inDim; c++) out[c * outDim + o] = src[o * rs + c * cs];
      }
      return { shape: [heads, dh, outDim], data: out };
  }
}

function checkSize(entry: WeightEntry, data: Float32Array, want: number): Float32Array {
  if (data.length !== want) {
    throw new Error(
      `internal: ${entry.tl}: the table's shape gives ${data.length} values; its heads need ${want}`,
    );
  }
  return data;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
