// The circuit goldens written by scripts/goldens/make_circuits_golden.py, as tf tensors.
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSafetensorsFile, type SafetensorsFile } from '../../src/loading/safetensors.js';

const DIR = fileURLToPath(new URL('../fixtures/circuits-golden', import.meta.url));

let file: Promise<SafetensorsFile> | undefined;

/** The golden meta.json (tokens of the head-detection sequence and its cases). */
export const META = JSON.parse(readFileSync(`${DIR}/meta.json`, 'utf8')) as {
  tokens: number[];
  detect_cases: {
    key: string;
    pattern: 'previousTokenHead' | 'duplicateTokenHead' | 'inductionHead';
    errorMeasure: 'mul' | 'abs';
    excludeBos: boolean;
    excludeCurrentToken: boolean;
  }[];
};

/** A golden tensor (the caller disposes it). */
export async function g(name: string): Promise<tf.Tensor> {
  file ??= loadSafetensorsFile(`${DIR}/circuits.safetensors`);
  const t = (await file).tensors.get(name);
  if (!t) throw new Error(`circuit golden has no tensor ${name}`);
  return tf.tensor(t.data, t.shape, 'float32');
}

/** Max |a − b|, after checking the shapes agree. */
export async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0];
  d.dispose();
  return v;
}

/** Max distance between two sets of complex numbers [..., n], matched greedily per row (order-free). */
export async function maxEigDiff(
  re: tf.Tensor,
  im: tf.Tensor,
  goldRe: tf.Tensor,
  goldIm: tf.Tensor,
): Promise<number> {
  expect(re.shape).toEqual(goldRe.shape);
  const n = re.shape[re.rank - 1];
  const [a, b, c, d] = await Promise.all([re.data(), im.data(), goldRe.data(), goldIm.data()]);
  let worst = 0;
  for (let row = 0; row < a.length / n; row++) {
    const used = new Set<number>();
    for (let i = 0; i < n; i++) {
      let best = Infinity;
      let bestJ = -1;
      for (let j = 0; j < n; j++) {
        if (used.has(j)) continue;
        const dist = Math.hypot(a[row * n + j] - c[row * n + i], b[row * n + j] - d[row * n + i]);
        if (dist < best) [best, bestJ] = [dist, j];
      }
      used.add(bestJ);
      worst = Math.max(worst, best);
    }
  }
  return worst;
}
