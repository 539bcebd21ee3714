// Shared helpers for the graph suites: a seeded PRNG, a leaf source that invents tensors on demand,
// and a magnitude-scaled comparison of two tensors.
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { leaf, type LeafSource, type Node } from '../../graph/index.js';

/** mulberry32: small, fast, seedable; enough for shapes and test values. */
export function rng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

/**
 * A source that makes a random tensor for each leaf it declares (values in [-1, 1), or in [0.5, 1.5)
 * for `positive` leaves such as LN scales). Dispose it to free them.
 */
export class RandomSource implements LeafSource {
  readonly label = 'random';
  disposed = false;
  private readonly tensors = new Map<string, tf.Tensor>();
  private readonly r: ReturnType<typeof rng>;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  resolve(name: string): tf.Tensor | undefined {
    return this.tensors.get(name);
  }
  leaf(shape: readonly number[], dims?: readonly string[], positive = false): Node {
    const name = `x${this.tensors.size}`;
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Float32Array.from({ length: n }, () =>
      positive ? 0.5 + this.r.next() : 2 * this.r.next() - 1,
    );
    this.tensors.set(name, tf.tensor(values, [...shape]));
    return leaf(name, this, { shape, dims });
  }
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
    this.disposed = true;
  }
}

/** Expects `a ≈ b` elementwise within a tolerance scaled to b's magnitude, then disposes both. */
export async function expectClose(a: tf.Tensor, b: tf.Tensor, rel = 1e-4): Promise<void> {
  try {
    expect(a.shape).toEqual(b.shape);
    const [x, y] = [await a.data(), await b.data()];
    const scale = Math.max(1, ...Array.from(y, Math.abs));
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
    expect(worst, `max abs diff vs scale ${scale}`).toBeLessThanOrEqual(rel * scale * 10);
  } finally {
    a.dispose();
    b.dispose();
  }
}
