/**
 * Reads Karpathy's llama2.c checkpoints (`.bin`) into a Llama-family config and a
 * TransformerLens-named state dict.
 *
 * Two float32 layouts exist (llama2.c's export.py):
 * - version 0 ("legacy"): seven int32 fields (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *   vocab_size, seq_len), then token embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3,
 *   rms_final, two legacy RoPE tables [seq_len, head_size/2], and the classifier only when
 *   vocab_size is negative (positive means it is shared with the embedding);
 * - version 1: a 256-byte header (magic "ak42", version 1, the seven fields with a positive
 *   vocab_size, a shared-classifier byte), then the norms first, then the same matrices.
 * Version 2 (int8) is refused. Every matrix is row-major [out, in] (`y = W x`).
 *
 * llama2.c rotates adjacent pairs (2j, 2j+1) of each head, where Hugging Face Llama rotates
 * halves, so the config says `rotaryAdjacentPairs: true` and the weights are used unpermuted.
 */
import { access, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError } from '../errors.js';
import { makeConfig, type HookedTransformerConfig } from '../core/config.js';
import { kvParamName } from '../core/stateDict.js';
import { checkFinite } from './checkFinite.js';
import { linearToHeads, linearToOutHeads, transposeArray, zerosArray } from './hfTensors.js';
import { Llama2cTokenizer } from './Llama2cTokenizer.js';
import type { HostArray, StateDict } from './toTensor.js';

/** The fields of a llama2.c header. */
export interface Llama2cHeader {
  version: 0 | 1;
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Always positive (version 0 stores a negative size to flag a separate classifier). */
  vocabSize: number;
  seqLen: number;
  /** Whether the output classifier is the token embedding (no `wcls` in the file). */
  sharedClassifier: boolean;
  /** Bytes before the first weight. */
  headerBytes: number;
}

const MAGIC = 0x616b3432; // "ak42" read as a little-endian uint32
const V1_HEADER_BYTES = 256;
// Sizes beyond this are certainly not a llama2.c header (and would overflow the size arithmetic).
const MAX_FIELD = 1 << 20;

/**
 * Parses and validates the header.
 * @throws CheckpointError for a file too short for a header, an unsupported version, or fields
 *   that cannot describe a model (non-positive sizes, heads that do not divide dim, …).
 */
export function parseLlama2cHeader(bytes: Uint8Array, source: string): Llama2cHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const v1 = bytes.length >= 4 && view.getUint32(0, true) === MAGIC;
  const need = v1 ? V1_HEADER_BYTES : 28;
  if (bytes.length < need) {
    throw new CheckpointError(
      `${source}: file has ${bytes.length} bytes; expected at least ${need} for a llama2.c header. Truncated?`,
    );
  }
  if (v1) {
    const version = view.getInt32(4, true);
    if (version !== 1) {
      throw new CheckpointError(
        `${source}: llama2.c checkpoint version ${version}; expected version 0 or 1 (float32). ` +
          'Version 2 (int8-quantized) is not supported.',
      );
    }
  }
  const at = v1 ? 8 : 0;
  const field = (i: number): number => view.getInt32(at + 4 * i, true);
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = [0, 1, 2, 3, 4, 5, 6].map(field);
  const sharedClassifier = v1 ? bytes[at + 28] !== 0 : rawVocab > 0;
  const header: Llama2cHeader = {
    version: v1 ? 1 : 0,
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    vocabSize: Math.abs(rawVocab),
    seqLen,
    sharedClassifier,
    headerBytes: need,
  };
  const named = {
    dim,
    hidden_dim: hiddenDim,
    n_layers: nLayers,
    n_heads: nHeads,
    n_kv_heads: nKvHeads,
    seq_len: seqLen,
  };
  for (const [name, value] of Object.entries({ ...named, vocab_size: header.vocabSize })) {
    if (value <= 0 || value > MAX_FIELD || (name === 'vocab_size' && v1 && rawVocab < 0)) {
      throw new CheckpointError(
        `${source}: header field ${name} is ${name === 'vocab_size' ? rawVocab : value}; expected a positive size. ` +
          'Is this a llama2.c checkpoint?',
      );
    }
  }
  if (dim % nHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw new CheckpointError(
      `${source}: dim ${dim} and n_heads ${nHeads} give head size ${dim / nHeads}; expected an even integer.`,
    );
  }
  if (nHeads % nKvHeads !== 0) {
    throw new CheckpointError(`${source}: n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}.`);
  }
  return header;
}

/** Version 0's RoPE tables, which the model never reads (so their values are not checked). */
const UNUSED_ROPE = ['freq_cos', 'freq_sin'] as const;

/** The float arrays of a checkpoint, in file order, each with its shape. */
function layout(h: Llama2cHeader): { name: string; shape: number[] }[] {
  const { dim: d, hiddenDim: m, nLayers: L, nHeads, nKvHeads, vocabSize: V, seqLen } = h;
  const dh = d / nHeads;
  const kv = nKvHeads * dh;
  const norms = [
    { name: 'rms_att', shape: [L, d] },
    { name: 'rms_ffn', shape: [L, d] },
    { name: 'rms_final', shape: [d] },
  ];
  const matrices = [
    { name: 'wq', shape: [L, nHeads * dh, d] },
    { name: 'wk', shape: [L, kv, d] },
    { name: 'wv', shape: [L, kv, d] },
    { name: 'wo', shape: [L, d, nHeads * dh] },
  ];
  const ffn = [
    { name: 'w1', shape: [L, m, d] },
    { name: 'w2', shape: [L, d, m] },
    { name: 'w3', shape: [L, m, d] },
  ];
  const embed = { name: 'embed', shape: [V, d] };
  const cls = h.sharedClassifier ? [] : [{ name: 'wcls', shape: [V, d] }];
  if (h.version === 1) return [...norms, embed, ...matrices, ...ffn, ...cls];
  return [
    embed,
    norms[0],
    ...matrices,
    norms[1],
    ...ffn,
    norms[2],
    // RoPE tables of old exports: read past, never used (the model computes its own angles).
    { name: UNUSED_ROPE[0], shape: [seqLen, dh / 2] },
    { name: UNUSED_ROPE[1], shape: [seqLen, dh / 2] },
    ...cls,
  ];
}

/** The byte size a file with this header must have. */
export function expectedLlama2cBytes(h: Llama2cHeader): number {
  const floats = layout(h).reduce((n, a) => n + a.shape.reduce((x, y) => x * y, 1), 0);
  return h.headerBytes + 4 * floats;
}

/** The Llama-family config a header describes (TransformerLens's names; llama2.c's constants). */
export function llama2cConfig(h: Llama2cHeader, modelName: string): HookedTransformerConfig {
  const dHead = h.dim / h.nHeads;
  return makeConfig({
    nLayers: h.nLayers,
    dModel: h.dim,
    nHeads: h.nHeads,
    dHead,
    nKeyValueHeads: h.nKvHeads === h.nHeads ? null : h.nKvHeads,
    dMlp: h.hiddenDim,
    dVocab: h.vocabSize,
    nCtx: h.seqLen,
    eps: 1e-5, // run.c's rmsnorm
    actFn: 'silu',
    normalizationType: 'RMS',
    finalRms: true,
    gatedMlp: true,
    positionalEmbeddingType: 'rotary',
    rotaryDim: dHead,
    rotaryBase: 10000,
    rotaryAdjacentPairs: true,
    useAttnScale: true,
    defaultPrependBos: true,
    originalArchitecture: 'llama2.c',
    modelName,
  });
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function floats(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const start = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer.slice(start, start + 4 * count));
  const view = new DataView(bytes.buffer, start, 4 * count);
  return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
}

/** Layer `l` of a stacked array [L, ...rest], as its own host array. */
function layer(a: HostArray<Float32Array>, l: number): HostArray<Float32Array> {
  const rest = a.shape.slice(1);
  const n = rest.reduce((x, y) => x * y, 1);
  return { shape: rest, data: a.data.slice(l * n, (l + 1) * n) };
}

/**
 * Reads a whole llama2.c checkpoint.
 * @param bytes the file's bytes
 * @param options.source the path, for errors; options.modelName the model's name;
 *   options.allowNonFinite accepts NaN and ±Inf in the weights (by default the first array
 *   holding one fails the load, named)
 * @throws CheckpointError for a bad header, a file whose size does not match its header
 *   (naming both sizes), or non-finite weights.
 */
export function readLlama2cCheckpoint(
  bytes: Uint8Array,
  options: Llama2cReadOptions = {},
): { cfg: HookedTransformerConfig; stateDict: StateDict; header: Llama2cHeader } {
  const source = options.source ?? 'llama2.c checkpoint';
  const h = parseLlama2cHeader(bytes, source);
  const expected = expectedLlama2cBytes(h);
  if (bytes.length !== expected) {
    throw new CheckpointError(
      `${source}: file is ${bytes.length} bytes, but its header (version ${h.version}, dim ${h.dim}, ` +
        `hidden_dim ${h.hiddenDim}, n_layers ${h.nLayers}, n_heads ${h.nHeads}, n_kv_heads ${h.nKvHeads}, ` +
        `vocab_size ${h.vocabSize} ${h.sharedClassifier ? 'shared' : 'with its own classifier'}, ` +
        `seq_len ${h.seqLen}) implies ${expected} bytes. The file is truncated, padded or not this model.`,
    );
  }
  const arrays = new Map<string, HostArray<Float32Array>>();
  let offset = h.headerBytes;
  for (const { name, shape } of layout(h)) {
    const count = shape.reduce((x, y) => x * y, 1);
    const data = floats(bytes, offset, count);
    if (!options.allowNonFinite && !(UNUSED_ROPE as readonly string[]).includes(name)) {
      checkFinite(name, data, source);
    }
    arrays.set(name, { shape, data });
    offset += 4 * count;
  }
  const cfg = llama2cConfig(h, options.modelName ?? 'llama2c');
  const get = (name: string): HostArray<Float32Array> => arrays.get(name)!;
  const { nHeads, dHead: dh, dModel: d } = cfg;
  const sd: StateDict = new Map();
  sd.set('embed.W_E', get('embed'));
  for (let l = 0; l < cfg.nLayers; l++) {
    const b = `blocks.${l}.`;
    sd.set(`${b}ln1.w`, layer(get('rms_att'), l));
    sd.set(`${b}attn.W_Q`, linearToHeads(layer(get('wq'), l), nHeads, dh));
    sd.set(`${b}attn.b_Q`, zerosArray([nHeads, dh]));
    for (const m of ['K', 'V']) {
      const w = layer(get(`w${m.toLowerCase()}`), l);
      sd.set(kvParamName(cfg, l, `W_${m}`), linearToHeads(w, h.nKvHeads, dh));
      sd.set(kvParamName(cfg, l, `b_${m}`), zerosArray([h.nKvHeads, dh]));
    }
    sd.set(`${b}attn.W_O`, linearToOutHeads(layer(get('wo'), l), nHeads, dh));
    sd.set(`${b}attn.b_O`, zerosArray([d]));
    sd.set(`${b}ln2.w`, layer(get('rms_ffn'), l));
    // w1 is the gate, w3 the up projection, w2 the down projection: w2(silu(w1 x) · w3 x).
    sd.set(`${b}mlp.W_gate`, transposeArray(layer(get('w1'), l)));
    sd.set(`${b}mlp.W_in`, transposeArray(layer(get('w3'), l)));
    sd.set(`${b}mlp.b_in`, zerosArray([h.hiddenDim]));
    sd.set(`${b}mlp.W_out`, transposeArray(layer(get('w2'), l)));
    sd.set(`${b}mlp.b_out`, zerosArray([d]));
  }
  sd.set('ln_final.w', get('rms_final'));
  sd.set('unembed.W_U', transposeArray(get(h.sharedClassifier ? 'embed' : 'wcls')));
  sd.set('unembed.b_U', zerosArray([h.vocabSize]));
  return { cfg, stateDict: sd, header: h };
}

/** How a llama2.c checkpoint is read. */
export interface Llama2cReadOptions {
  /** The path, for errors. */
  source?: string;
  /** The model's name in its config. */
  modelName?: string;
  /** Accept NaN and ±Inf in the weights (such a model computes NaN logits). */
  allowNonFinite?: boolean;
}

/** A llama2.c model as loaded: config, unprocessed weights, and its tokenizer when one was found. */
export interface LoadedLlama2c {
  cfg: HookedTransformerConfig;
  stateDict: StateDict;
  tokenizer?: Llama2cTokenizer;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads a llama2.c checkpoint and its tokenizer: `tokenizerPath` when given, else `tokenizer.bin`
 * beside the checkpoint, else `tok{vocab_size}.bin` beside it (llama2.c's name for custom
 * vocabularies, e.g. tok512.bin). Without any, the model takes token ids only. With
 * `allowNonFinite`, NaN and ±Inf in the weights are accepted.
 * @throws CheckpointError for an unreadable, corrupt, non-finite or mismatched checkpoint, or a
 *   tokenizer whose vocabulary size differs from the model's.
 */
export async function loadLlama2c(
  checkpointPath: string,
  tokenizerPath?: string,
  options: { allowNonFinite?: boolean } = {},
): Promise<LoadedLlama2c> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(checkpointPath);
  } catch (e) {
    throw new CheckpointError(`Cannot read llama2.c checkpoint ${checkpointPath}: ${(e as Error).message}`);
  }
  const modelName = basename(checkpointPath).replace(/\.bin$/, '');
  const { cfg, stateDict } = readLlama2cCheckpoint(bytes, {
    source: checkpointPath,
    modelName,
    allowNonFinite: options.allowNonFinite,
  });
  const dir = dirname(checkpointPath);
  let tokPath = tokenizerPath;
  if (tokPath === undefined) {
    for (const candidate of [join(dir, 'tokenizer.bin'), join(dir, `tok${cfg.dVocab}.bin`)]) {
      if (await exists(candidate)) {
        tokPath = candidate;
        break;
      }
    }
  }
  if (tokPath === undefined) return { cfg, stateDict };
  const tokenizer = await Llama2cTokenizer.fromFile(tokPath, cfg.dVocab);
  return { cfg, stateDict, tokenizer };
}
