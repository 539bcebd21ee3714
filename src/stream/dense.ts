/**
 * Flat n-d arrays of numbers for the reducers: nested arrays in, arithmetic on a flat buffer,
 * nested arrays out. Reductions accumulate in float64.
 */
import { InvalidArgumentError } from '../errors.js';
import type { NestedNumbers } from './materialize.js';

export interface Dense {
  shape: number[];
  data: Float64Array;
}

/** A nested array (or number) as a Dense. @throws InvalidArgumentError when it is ragged. */
export function fromNested(x: NestedNumbers): Dense {
  const shape: number[] = [];
  for (let v: NestedNumbers = x; Array.isArray(v); v = v[0]) shape.push(v.length);
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let i = 0;
  const walk = (v: NestedNumbers, d: number): void => {
    if (d === shape.length) {
      if (typeof v !== 'number') throw new InvalidArgumentError('Expected numbers at the innermost level.');
      data[i++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d])
      throw new InvalidArgumentError(`Ragged array at depth ${d}; expected length ${shape[d]}.`);
    for (const e of v) walk(e, d + 1);
  };
  walk(x, 0);
  return { shape, data };
}

/** Back to nested arrays. */
export function toNested(x: Dense): NestedNumbers {
  let i = 0;
  const build = (d: number): NestedNumbers =>
    d === x.shape.length ? x.data[i++] : Array.from({ length: x.shape[d] }, () => build(d + 1));
  return build(0);
}

/** A normalized axis of `shape` (negative counts from the end). */
export function axisOf(shape: readonly number[], axis: number): number {
  const a = axis < 0 ? axis + shape.length : axis;
  if (!Number.isInteger(a) || a < 0 || a >= shape.length)
    throw new InvalidArgumentError(
      `axis ${axis} given for shape [${shape.join(', ')}]; expected a valid axis.`,
    );
  return a;
}

/** Sum over `axis`. */
export function sumAxis(x: Dense, axis: number): Dense {
  const a = axisOf(x.shape, axis);
  const outer = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
  const n = x.shape[a];
  const inner = x.shape.slice(a + 1).reduce((p, q) => p * q, 1);
  const data = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let k = 0; k < n; k++)
      for (let j = 0; j < inner; j++) data[o * inner + j] += x.data[(o * n + k) * inner + j];
  return { shape: [...x.shape.slice(0, a), ...x.shape.slice(a + 1)], data };
}

/** `acc += w · x` elementwise, in place. @throws InvalidArgumentError when the shapes differ. */
export function addInto(acc: Dense, x: Dense, w = 1): void {
  if (acc.shape.join() !== x.shape.join())
    throw new InvalidArgumentError(
      `Batch results of shape [${x.shape.join(', ')}] and [${acc.shape.join(', ')}]; expected the same shape.`,
    );
  for (let i = 0; i < acc.data.length; i++) acc.data[i] += w * x.data[i];
}

/** Joins `xs` along `axis` (every other dim must agree). */
export function concatAxis(xs: readonly Dense[], axis: number): Dense {
  const a = axisOf(xs[0].shape, axis);
  const rest = (s: readonly number[]): string => [...s.slice(0, a), ...s.slice(a + 1)].join();
  for (const x of xs)
    if (x.shape.length !== xs[0].shape.length || rest(x.shape) !== rest(xs[0].shape))
      throw new InvalidArgumentError(
        `Cannot concatenate [${x.shape.join(', ')}] with [${xs[0].shape.join(', ')}] on axis ${axis}.`,
      );
  const outer = xs[0].shape.slice(0, a).reduce((p, q) => p * q, 1);
  const inner = xs[0].shape.slice(a + 1).reduce((p, q) => p * q, 1);
  const total = xs.reduce((n, x) => n + x.shape[a], 0);
  const data = new Float64Array(outer * total * inner);
  let off = 0;
  for (const x of xs) {
    const n = x.shape[a];
    for (let o = 0; o < outer; o++)
      data.set(x.data.subarray(o * n * inner, (o + 1) * n * inner), (o * total + off) * inner);
    off += n;
  }
  return { shape: [...xs[0].shape.slice(0, a), total, ...xs[0].shape.slice(a + 1)], data };
}
