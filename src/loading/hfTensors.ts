/**
 * What the Hugging Face weight converters share: looking tensors up under a family's name
 * prefixes with dtype and shape checks, and the layout changes between PyTorch `nn.Linear`
 * weights ([out, in]) and TransformerLens's per-head layouts.
 */
import { CheckpointError } from '../errors.js';
import { closestNames } from '../util/closestNames.js';
import type { SafetensorsTensor } from './safetensors.js';
import type { HostArray } from './toTensor.js';

/** A checkpoint's tensors, looked up under any of a family's prefixes (e.g. `model.` or none). */
export class HfTensorSource {
  /**
   * @param tensors the checkpoint's tensors by name
   * @param source the file the tensors came from, for error messages
   * @param prefixes prefixes tried in order before the bare name (e.g. `['gpt_neox.']`)
   */
  /** The checkpoint names read so far, for {@link checkAllUsed}. */
  private readonly used = new Set<string>();

  constructor(
    private readonly tensors: ReadonlyMap<string, SafetensorsTensor>,
    readonly source: string,
    private readonly prefixes: readonly string[],
  ) {}

  private resolve(name: string): string | undefined {
    for (const candidate of [...this.prefixes.map((p) => p + name), name]) {
      if (this.tensors.has(candidate)) return candidate;
    }
    return undefined;
  }

  /** Whether `name` is present under one of the prefixes or bare. */
  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /**
   * The float tensor `name` with the given shape.
   * @throws CheckpointError naming the tensor, what it is for and the closest names present when
   *   it is missing; naming the dtype or both shapes when those are wrong.
   */
  get(name: string, shape: readonly number[], purpose: string): HostArray<Float32Array> {
    const found = this.resolve(name);
    if (found === undefined) {
      const tried = [...this.prefixes.map((p) => `'${p}${name}'`), `'${name}'`].join(' or ');
      const near = closestNames(this.prefixes[0] ? this.prefixes[0] + name : name, this.tensors.keys());
      const hint = near.length
        ? ` Closest names present: ${near.join(', ')}.`
        : ' The checkpoint has no tensors.';
      throw new CheckpointError(`${this.source}: missing tensor ${tried}, needed for ${purpose}.${hint}`);
    }
    this.used.add(found);
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
    return { shape: [...t.shape], data: t.data };
  }

  /** Copies tensor `name` (checked against `shape`) into `sd` under TransformerLens's name `tlName`. */
  copyTo(
    sd: Map<string, HostArray<Float32Array>>,
    name: string,
    tlName: string,
    shape: readonly number[],
  ): void {
    sd.set(tlName, copyArray(this.get(name, shape, tlName)));
  }

  /** As {@link copyTo} for an `nn.Linear` weight [out, in]: stores its transpose [in, out]. */
  transposeTo(
    sd: Map<string, HostArray<Float32Array>>,
    name: string,
    tlName: string,
    shape: readonly number[],
  ): void {
    sd.set(tlName, transposeArray(this.get(name, shape, tlName)));
  }

  /**
   * Fails when a tensor (under any prefix) starts with one of `names`: weights the config says do
   * not exist. `why` completes the message.
   */
  checkAbsent(names: readonly string[], why: string): void {
    for (const name of this.tensors.keys()) {
      const prefix = this.prefixes.find((p) => name.startsWith(p)) ?? '';
      if (names.some((n) => name.slice(prefix.length).startsWith(n))) {
        throw new CheckpointError(`${this.source}: has tensor '${name}', but ${why}.`);
      }
    }
  }

  /**
   * Fails when a tensor was never read and is not a known buffer (`ignore` is matched against the
   * name without its prefix): a weight the conversion would silently drop, so the checkpoint is
   * not of the family the config names, or a variant of it not supported. `what` names the mapping.
   */
  checkAllUsed(ignore: readonly RegExp[], what: string): void {
    for (const name of this.tensors.keys()) {
      if (this.used.has(name)) continue;
      const prefix = this.prefixes.find((p) => name.startsWith(p)) ?? '';
      if (ignore.some((re) => re.test(name.slice(prefix.length)))) continue;
      throw new CheckpointError(
        `${this.source}: has tensor '${name}', which no TransformerLens weight comes from; expected only ` +
          `the tensors ${what} names (a variant of the architecture lazylens does not support?).`,
      );
    }
  }

  /**
   * Fails when the checkpoint holds blocks past `nLayers`: the config and the weights disagree.
   * @param layerPattern matches a block's tensor name; group 1 is the layer index
   */
  checkLayerCount(nLayers: number, layerPattern: RegExp): void {
    let most = -1;
    for (const name of this.tensors.keys()) {
      const match = layerPattern.exec(name);
      if (match) most = Math.max(most, Number(match[1]));
    }
    if (most >= nLayers) {
      throw new CheckpointError(
        `${this.source}: has weights for layer ${most}; expected layers 0..${nLayers - 1} (config nLayers = ${nLayers}).`,
      );
    }
  }
}

/** A copy (the converters never alias the reader's buffers). */
export function copyArray(a: HostArray<Float32Array>): HostArray<Float32Array> {
  return { shape: [...a.shape], data: a.data.slice() };
}

/** A zero array: TL's biases for layers Hugging Face builds without one. */
export function zerosArray(shape: number[]): HostArray<Float32Array> {
  return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

/** [rows, cols] → [cols, rows]: an `nn.Linear` weight [out, in] becomes TL's [in, out]. */
export function transposeArray(a: HostArray<Float32Array>): HostArray<Float32Array> {
  const [rows, cols] = a.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = a.data[r * cols + c];
  }
  return { shape: [cols, rows], data: out };
}

/**
 * Per-head input weights from an `nn.Linear` weight: output row `rowOf(head, e)` (e < dh) of
 * `w` [out, d] becomes `W[head, :, e]`, giving TL's [heads, d, dh]. The default row order is
 * head-major (`head·dh + e`), as separate q/k/v projections store it.
 */
export function linearToHeads(
  w: HostArray<Float32Array>,
  heads: number,
  dh: number,
  rowOf: (head: number, e: number) => number = (head, e) => head * dh + e,
): HostArray<Float32Array> {
  const d = w.shape[1];
  const out = new Float32Array(heads * d * dh);
  for (let head = 0; head < heads; head++) {
    for (let e = 0; e < dh; e++) {
      const row = rowOf(head, e) * d;
      for (let i = 0; i < d; i++) out[(head * d + i) * dh + e] = w.data[row + i];
    }
  }
  return { shape: [heads, d, dh], data: out };
}

/** Per-head biases: entry `rowOf(head, e)` of a bias [out] becomes `b[head, e]` ([heads, dh]). */
export function biasToHeads(
  b: HostArray<Float32Array>,
  heads: number,
  dh: number,
  rowOf: (head: number, e: number) => number = (head, e) => head * dh + e,
): HostArray<Float32Array> {
  const out = new Float32Array(heads * dh);
  for (let head = 0; head < heads; head++) {
    for (let e = 0; e < dh; e++) out[head * dh + e] = b.data[rowOf(head, e)];
  }
  return { shape: [heads, dh], data: out };
}

/** The output projection: `nn.Linear` weight [d, heads·dh] → TL's W_O [heads, dh, d]. */
export function linearToOutHeads(
  w: HostArray<Float32Array>,
  heads: number,
  dh: number,
): HostArray<Float32Array> {
  const t = transposeArray(w); // [heads·dh, d], head-major rows: already W_O's memory order
  return { shape: [heads, dh, w.shape[0]], data: t.data };
}
