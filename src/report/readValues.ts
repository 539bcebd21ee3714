/**
 * What a visualisation draws arrives as plain nested arrays, a tf.Tensor or a Lazy; this reads
 * any of them into host numbers (asynchronously: webgpu in Node cannot read a tensor
 * synchronously) and checks the shape before anything is drawn.
 */
import * as tf from '@tensorflow/tfjs';
import { Lazy } from '../../graph/Lazy.js';
import { InvalidArgumentError, ShapeError } from '../errors.js';

/** Numbers to draw: nested arrays, a tensor, or a lazy expression (materialized here). */
export type NumericInput = tf.Tensor | Lazy | readonly unknown[];

/** Host values with their shape, and the labels along dim 0 when a Lazy carried them. */
export interface ReadValues {
  values: unknown;
  shape: number[];
  labels?: readonly string[];
}

function shapeOf(x: unknown, where: string, path: string): number[] {
  if (!Array.isArray(x)) return [];
  if (x.length === 0) return [0];
  const inner = shapeOf(x[0], where, `${path}[0]`);
  for (let i = 1; i < x.length; i++) {
    const s = shapeOf(x[i], where, `${path}[${i}]`);
    if (s.join() !== inner.join()) {
      throw new ShapeError(
        `${where}: ${path}[${i}] has shape [${s.join(', ')}]; expected [${inner.join(', ')}] like ${path}[0] (rows must be equal in length).`,
      );
    }
  }
  return [x.length, ...inner];
}

/** Reads `input` to nested arrays (a tensor with `await .array()`, a Lazy materialized). */
export async function readValues(input: unknown, where: string, what: string): Promise<ReadValues> {
  if (input instanceof tf.Tensor) {
    const t = input as tf.Tensor;
    return { values: await t.array(), shape: [...t.shape] };
  }
  if (input instanceof Lazy) {
    return { values: await input.array(), shape: [...input.shape], labels: input.labels };
  }
  if (Array.isArray(input)) return { values: input, shape: shapeOf(input, where, what) };
  const given = input === null ? 'null' : typeof input;
  throw new InvalidArgumentError(
    `${where}: ${what} given as ${given}; expected nested number arrays, a tf.Tensor or a Lazy.`,
  );
}

/**
 * Drops dims of size 1, first to last, until `rank` remain (a batch of one as a cache holds it, a
 * position sliced to one), or fails naming the shape that was given.
 */
export function squeezeTo(
  r: ReadValues,
  rank: number,
  where: string,
  what: string,
  expected: string,
): unknown {
  let { values } = r;
  const shape = [...r.shape];
  while (shape.length > rank) {
    const axis = shape.indexOf(1);
    if (axis < 0) break;
    shape.splice(axis, 1);
    values = dropAxis(values, axis);
  }
  if (shape.length !== rank) {
    throw new ShapeError(
      `${where}: ${what} of shape [${r.shape.join(', ')}] given; expected ${expected}` +
        ' (size-1 dims are dropped; slice the others first).',
    );
  }
  return values;
}

/** `x` without its size-1 dim `axis`. */
function dropAxis(x: unknown, axis: number): unknown {
  if (axis === 0) return (x as unknown[])[0];
  return (x as unknown[]).map((e) => dropAxis(e, axis - 1));
}

/** Checks every entry is a finite number (or null where `allowNull`), naming the first that is not. */
export function checkNumbers(values: unknown, where: string, what: string, allowNull = false): void {
  const walk = (x: unknown, path: string): void => {
    if (Array.isArray(x)) {
      x.forEach((e, i) => walk(e, `${path}[${i}]`));
      return;
    }
    if (x === null && allowNull) return;
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      const given = typeof x === 'number' ? String(x) : x === null ? 'null' : typeof x;
      throw new InvalidArgumentError(
        `${where}: ${path} is ${given}; expected a finite number${allowNull ? ' (or null for a cell left empty)' : ''}.`,
      );
    }
  };
  walk(values, what);
}

/** Checks `labels` is an array of `n` strings. */
export function checkLabels(labels: unknown, n: number, where: string, what: string, of: string): string[] {
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string')) {
    throw new InvalidArgumentError(
      `${where}: ${what} given as ${typeof labels}; expected an array of strings.`,
    );
  }
  if (labels.length !== n) {
    throw new ShapeError(`${where}: ${labels.length} ${what} given for ${n} ${of}; expected ${n}, one each.`);
  }
  return labels as string[];
}
