import { HookedTransformer, detectHead } from './src/index.ts';
import { WORDS } from './scripts/induction/words.ts';
const model = await HookedTransformer.fromPretrained('induction-2l');
let s = 7; const rnd = () => { s = (s * 16807) % 2147483647; return s / 2147483647; };
const words = Array.from({ length: 20 }, () => WORDS[Math.floor(rnd() * WORDS.length)]);
const text = [...words, ...words].join(' ');
for (const p of ['previousTokenHead', 'duplicateTokenHead', 'inductionHead'] as const) {
  for (const m of ['mul', 'abs'] as const) {
    const t = await detectHead(model, text, p, { errorMeasure: m, excludeBos: false });
    console.log(p, m, JSON.stringify((await t.array() as number[][]).map(r => r.map(x => +x.toFixed(3)))));
  }
}
