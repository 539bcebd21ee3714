// Loading the PyTorch goldens (scripts/goldens/make_gpt2_golden.py) for comparisons in tests.
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { loadSafetensorsFile, type SafetensorsFile } from '../../src/loading/safetensors.js';

export const GPT2_TINY = fileURLToPath(new URL('../fixtures/gpt2-tiny', import.meta.url));
const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/gpt2-tiny-golden', import.meta.url));

const memo = new Map<string, Promise<SafetensorsFile>>();

/** `raw` (no weight processing) or `processed` (TransformerLens's defaults) golden tensors. */
export function golden(kind: 'raw' | 'processed'): Promise<SafetensorsFile> {
  let file = memo.get(kind);
  if (!file) {
    file = loadSafetensorsFile(`${GOLDEN_DIR}/${kind}.safetensors`);
    memo.set(kind, file);
  }
  return file;
}

/** A golden tensor as a tf tensor (the caller disposes it). */
export function goldenTensor(file: SafetensorsFile, name: string): tf.Tensor {
  const t = file.tensors.get(name);
  if (!t) throw new Error(`golden has no tensor ${name}`);
  return tf.tensor(t.data, t.shape, t.data instanceof Int32Array ? 'int32' : 'float32');
}

/** The golden state dict (entries `state.<name>`) as tf tensors, for fromStateDict. */
export function goldenStateDict(file: SafetensorsFile): Map<string, tf.Tensor> {
  const sd = new Map<string, tf.Tensor>();
  for (const name of file.tensors.keys()) {
    if (name.startsWith('state.')) sd.set(name.slice('state.'.length), goldenTensor(file, name));
  }
  return sd;
}

/**
 * Max |a − b| over entries, treating equal infinities as equal (masked attention scores are −inf
 * on both sides) and any other non-finite mismatch as Infinity.
 */
export async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  if (a.shape.join() !== b.shape.join())
    throw new Error(`shapes differ: [${a.shape.join()}] vs [${b.shape.join()}]`);
  const [x, y] = [await a.data(), await b.data()];
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === y[i]) continue;
    const d = Math.abs(x[i] - y[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}
