/**
 * Python-style slicing of one dimension, the engine's `Slice`, with Python's rules for negative,
 * out-of-range and stepped indices. The library re-exports it as TransformerLens's `Slice`. Unlike
 * TransformerLens, booleans are rejected (Python treats `True` as the int 1 and silently inserts an
 * axis) and `indices()` always returns normalized indices.
 */
import { SliceError } from './errors.js';

/** A Python range `start:stop:step`; absent or null parts take Python's defaults. */
export interface SliceRange {
  /** First index (negative counts from the end); 0, or the end for a negative step, by default. */
  readonly start?: number | null;
  /** Index to stop before (negative counts from the end); the end by default. */
  readonly stop?: number | null;
  /** Stride, non-zero; 1 by default. */
  readonly step?: number | null;
}

/**
 * What a slice can be built from: `null`/`undefined` (everything), a number (one index, drops the
 * dim; negative counts from the end), an index list, a `{ start, stop, step }` range, or a `Slice`.
 */
export type SliceInput = null | undefined | number | readonly number[] | Int32Array | SliceRange | Slice;

/** How a slice selects: everything, one index (collapsing the dim), a range or an index list. */
export type SliceMode = 'identity' | 'int' | 'range' | 'array';

function checkInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new SliceError(`Slice ${what}: given ${describe(value)}, expected an integer.`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function optionalInt(value: number | null | undefined, what: string): number | null {
  return value === null || value === undefined ? null : checkInt(value, what);
}

/** An immutable one-dimension selection with Python semantics. */
export class Slice {
  private constructor(
    /** How this slice selects. */
    readonly mode: SliceMode,
    /** The index for mode `int`. */
    readonly index: number,
    /** The range for mode `range`. */
    readonly range: {
      /** First index, normalized later against the dim's size; null for Python's default. */
      readonly start: number | null;
      /** Index to stop before; null for Python's default. */
      readonly stop: number | null;
      /** Stride, non-zero. */
      readonly step: number;
    },
    /** The index list for mode `array`. */
    readonly list: readonly number[],
  ) {
    Object.freeze(this);
  }

  /** The slice that keeps everything. */
  static readonly all: Slice = new Slice('identity', 0, { start: null, stop: null, step: 1 }, []);

  /** Builds a slice from any {@link SliceInput}; rejects booleans, non-integers and a zero step. */
  static from(input: SliceInput): Slice {
    if (input instanceof Slice) return input;
    if (input === null || input === undefined) return Slice.all;
    if (typeof input === 'boolean') {
      throw new SliceError(
        `Slice: given boolean ${String(input)}, expected null, an integer, an index list or a range.`,
      );
    }
    if (typeof input === 'number') return new Slice('int', checkInt(input, 'index'), Slice.all.range, []);
    if (input instanceof Int32Array || Array.isArray(input)) {
      const list = Array.from(input as ArrayLike<unknown>, (v, i) => checkInt(v, `index list entry ${i}`));
      return new Slice('array', 0, Slice.all.range, Object.freeze(list));
    }
    if (typeof input === 'object') {
      const r = input as SliceRange;
      const known = new Set(['start', 'stop', 'step']);
      const extra = Object.keys(r).filter((k) => !known.has(k));
      if (extra.length > 0) {
        throw new SliceError(`Slice range: given keys ${extra.join(', ')}, expected only start, stop, step.`);
      }
      const step = optionalInt(r.step, 'step') ?? 1;
      if (step === 0) throw new SliceError('Slice range: given step 0, expected a non-zero step.');
      const range = Object.freeze({
        start: optionalInt(r.start, 'start'),
        stop: optionalInt(r.stop, 'stop'),
        step,
      });
      return new Slice('range', 0, range, []);
    }
    throw new SliceError(
      `Slice: given ${describe(input)}, expected null, an integer, an index list or a range.`,
    );
  }

  /** `Slice.unwrap(3)` is the list `[3]`: the same element, but the dim survives (as TL's `unwrap`). */
  static unwrap(input: SliceInput): Slice {
    const s = Slice.from(input);
    return s.mode === 'int' ? Slice.from([s.index]) : s;
  }

  /** Whether applying this slice removes the dimension (an integer index). */
  get collapses(): boolean {
    return this.mode === 'int';
  }

  /**
   * The selected indices of a dimension of length `n`, normalized to `0 ≤ i < n`, in order.
   * Throws {@link SliceError} for an integer or list index outside `[-n, n)`.
   */
  indices(n: number): number[] {
    switch (this.mode) {
      case 'identity':
        return Array.from({ length: n }, (_, i) => i);
      case 'int':
        return [normalizeIndex(this.index, n)];
      case 'array':
        return this.list.map((i) => normalizeIndex(i, n));
      case 'range':
        return rangeIndices(this.range.start, this.range.stop, this.range.step, n);
      default:
        return this.mode satisfies never;
    }
  }

  /** How long the dimension is after slicing (0 when it collapses). */
  length(n: number): number {
    return this.collapses ? 0 : this.indices(n).length;
  }

  /** Whether this slice keeps a dimension of length `n` exactly as it is. */
  isIdentity(n: number): boolean {
    if (this.mode === 'identity') return true;
    if (this.mode === 'int') return false;
    const idx = this.indices(n);
    return idx.length === n && idx.every((v, i) => v === i);
  }

  /** When the selected indices of length `n` are `start, start+1, …`, that start; else undefined. */
  contiguousStart(n: number): number | undefined {
    const idx = this.indices(n);
    if (idx.length === 0) return undefined;
    return idx.every((v, i) => v === idx[0] + i) ? idx[0] : undefined;
  }

  /** Python-like text: `:`, `3`, `1:5:2`, `[0, 3]`. Also the interning key. */
  toString(): string {
    switch (this.mode) {
      case 'identity':
        return ':';
      case 'int':
        return String(this.index);
      case 'array':
        return `[${this.list.join(', ')}]`;
      case 'range': {
        const { start, stop, step } = this.range;
        const head = `${start ?? ''}:${stop ?? ''}`;
        return step === 1 ? head : `${head}:${step}`;
      }
      default:
        return this.mode satisfies never;
    }
  }
}

/** Maps a possibly negative index into `[0, n)`; out of range is an error, as in Python. */
export function normalizeIndex(i: number, n: number): number {
  const j = i < 0 ? i + n : i;
  if (j < 0 || j >= n) {
    throw new SliceError(
      `Slice index: given ${i} for a dimension of length ${n}, expected -${n} <= index < ${n}.`,
    );
  }
  return j;
}

// Python's slice.indices(): negative bounds count from the end, then clamp to the valid window,
// whose edges depend on the step's sign.
function rangeIndices(start: number | null, stop: number | null, step: number, n: number): number[] {
  const clamp = (v: number | null, dflt: number): number => {
    if (v === null) return dflt;
    let w = v < 0 ? v + n : v;
    if (w < 0) w = step > 0 ? 0 : -1;
    if (w >= n) w = step > 0 ? n : n - 1;
    return w;
  };
  const lo = clamp(start, step > 0 ? 0 : n - 1);
  const hi = clamp(stop, step > 0 ? n : -1);
  const out: number[] = [];
  for (let i = lo; step > 0 ? i < hi : i > hi; i += step) out.push(i);
  return out;
}
