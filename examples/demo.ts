/**
 * The README's main job, until the project ships its own trained model (issue 5): load the golden
 * GPT-2 checkpoint, run a prompt with the cache, print the top next tokens and what was cached.
 *
 * Run: npm run demo [-- "your prompt"]
 */
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { HookedTransformer, currentBackend } from '../src/index.js';

const folder = fileURLToPath(new URL('../test/fixtures/gpt2-tiny', import.meta.url));
const prompt = process.argv[2] ?? 'The cat sat on the';

const model = await HookedTransformer.fromPretrained(folder);
const { logits, cache } = await model.runWithCache(prompt);
const strTokens = model.toStrTokens(prompt);
console.log(
  `model ${model.cfg.modelName} (${model.cfg.nLayers} layers, d_model ${model.cfg.dModel}) on ${currentBackend()}`,
);
console.log(`prompt tokens: ${strTokens.map((s) => JSON.stringify(s)).join(' ')}`);

const last = (logits.shape[1] ?? 1) - 1;
const probs = tf.tidy(() => tf.softmax(logits.slice([0, last, 0], [1, 1, -1]).reshape([-1])));
const { values, indices } = tf.topk(probs, 5);
const [p, ids] = [await values.data(), await indices.data()];
console.log('\ntop next tokens (random-weight test model, so expect noise):');
for (let i = 0; i < ids.length; i++) {
  console.log(`  ${JSON.stringify(model.toString([ids[i]])).padEnd(12)} p=${p[i].toFixed(4)}`);
}
console.log(`\n${cache.size} cached activations, e.g.:`);
for (const [name, t] of [...cache].slice(0, 12)) console.log(`  ${name.padEnd(32)} [${t.shape.join(', ')}]`);
console.log('  …');

tf.dispose([logits, probs, values, indices]);
cache.dispose();
model.dispose();
