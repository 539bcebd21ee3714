/** Shape helpers shared by the circuit tools: broadcasting leading dims and describing shapes in errors. */
import { InvalidArgumentError } from '../errors.js';

/** `[2, 3]` → `'[2, 3]'`, for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy-style broadcast of two leading shapes; `what` names the operation in the error. */
export function broadcastShapes(a: readonly number[], b: readonly number[], what: string): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new InvalidArgumentError(
        `${what}: given leading dims ${fmtShape(a)} and ${fmtShape(b)}, expected shapes that broadcast.`,
      );
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** The product of a shape's entries (1 for `[]`). */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** True when both shapes have the same entries. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
