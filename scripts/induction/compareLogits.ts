/**
 * Loads a model folder through lazylens and prints the largest |Δlogit| against logits computed
 * elsewhere (the PyTorch trainer's own forward pass), so a trainer can check its export:
 *
 *   npx tsx scripts/induction/compareLogits.ts models/induction-mlp-2l logits.json
 *
 * logits.json: `{ "tokens": number[][], "logits": number[][][] }` (tokens include the BOS).
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { selectBackend } from '../../src/backend/index.js';
import { HookedTransformer } from '../../src/model/HookedTransformer.js';

const [dir, file] = process.argv.slice(2);
if (!dir || !file) throw new Error('usage: compareLogits.ts <model folder> <logits.json>');
const { tokens, logits } = JSON.parse(await readFile(file, 'utf8')) as {
  tokens: number[][];
  logits: number[][][];
};
await selectBackend({ backend: 'wasm' });
const model = await HookedTransformer.fromPretrainedNoProcessing(dir);
const ours = await model.forward(tokens);
const theirs = tf.tensor3d(logits);
const diff = tf.max(tf.abs(tf.sub(ours, theirs)));
console.log((await diff.data())[0]);
tf.dispose([ours, theirs, diff]);
model.dispose();
