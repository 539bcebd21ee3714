/**
 * The built-in prompt (a random sequence of the model's words, repeated twice, from a fixed seed)
 * and the answer that a repeated sequence predicts (the token that followed the last token's
 * previous occurrence: what an induction head copies).
 */
import type { HookedTransformer } from '../model/HookedTransformer.js';
import { mulberry32 } from '../util/mulberry32.js';

/** Used when the model's vocabulary has too few whole words to draw from (e.g. byte-level BPE). */
export const FALLBACK_PROMPT = 'The cat sat on the mat. The cat sat on the';

/** Words per half of the built-in prompt (fewer when n_ctx is small). */
const HALF = 10;
/** Ids scanned for whole-word tokens: enough for a word-level vocabulary, cheap for a large BPE one. */
const SCAN = 4000;
const SEED = 5;

/**
 * `HALF` distinct lowercase words of the model's vocabulary in a seeded random order, written
 * twice with the last word left off (`w1 … wN w1 … wN-1`, so the answer is `wN`), if the tokenizer reads that text back as exactly those tokens;
 * otherwise {@link FALLBACK_PROMPT}.
 */
export function builtinPrompt(model: HookedTransformer): string {
  const tok = model.tokenizer;
  if (!tok) return FALLBACK_PROMPT;
  const half = Math.min(HALF, Math.floor((model.cfg.nCtx - 1) / 2));
  const words: { id: number; text: string }[] = [];
  for (let id = 0; id < Math.min(model.cfg.dVocab, SCAN); id++) {
    const text = tok.decode([id]);
    if (!/^[a-z]{2,}$/.test(text)) continue;
    const ids = tok.encode(text);
    if (ids.length === 1 && ids[0] === id) words.push({ id, text });
  }
  if (half < 2 || words.length < half) return FALLBACK_PROMPT;
  const random = mulberry32(SEED);
  // Partial Fisher–Yates: the first `half` entries become a uniform sample without replacement.
  for (let i = 0; i < half; i++) {
    const j = i + Math.floor(random() * (words.length - i));
    [words[i], words[j]] = [words[j], words[i]];
  }
  const seq = words.slice(0, half);
  // The repeat stops one word short, so the next token is the one induction predicts.
  const all = [...seq, ...seq.slice(0, -1)];
  const text = all.map((w) => w.text).join(' ');
  const expected = all.map((w) => w.id);
  const got = tok.encode(text);
  const same = got.length === expected.length && got.every((id, i) => id === expected[i]);
  return same ? text : FALLBACK_PROMPT;
}

/**
 * The token a repeated sequence predicts next: find the last token's latest earlier occurrence
 * and return the token after it. Undefined when the last token has not occurred before.
 */
export function repeatPrediction(ids: readonly number[]): number | undefined {
  const last = ids.length - 1;
  for (let j = last - 1; j >= 0; j--) if (ids[j] === ids[last]) return ids[j + 1];
  return undefined;
}

/**
 * For each position i, the position an induction head attends to: one after the latest earlier
 * occurrence of token i (undefined when token i has not occurred before).
 */
export function inductionTargets(ids: readonly number[]): (number | undefined)[] {
  return ids.map((id, i) => {
    for (let j = i - 1; j >= 0; j--) if (ids[j] === id) return j + 1;
    return undefined;
  });
}
