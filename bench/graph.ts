/**
 * Logit attribution of a full per-neuron residual decomposition (TransformerLens's
 * `logit_attrs(get_full_resid_decomposition(expand_neurons=True, apply_ln=True))`) at GPT-2-small
 * shape — 12 layers × 3072 neurons + 144 heads + embed, pos_embed, bias = 37,011 components — on
 * synthetic random tensors on wasm: the planned graph versus the naive one (materialize the
 * [components, batch, pos, d_model] stack, then dot with a direction).
 *
 * Peak bytes: the executor polls `tf.memory().numBytes` inside every op (after the op's tfjs calls,
 * before its temporaries are freed) and after it, and reports the highest value above the level at
 * the start of the run (`ExecStats.peakBytes`). `tf.profile`'s peakBytes is printed as a cross-check.
 * Leaves (cache tensors and weights) exist before the run and are not counted.
 *
 * The naive run at full size needs ~29 GB (the cost model's estimate is printed); wasm's heap stops
 * at 4 GiB, so naive runs at scaled sizes (fewer layers, smaller batch × pos) and planned runs at
 * every size, including full.
 *
 * Run: npx tsx bench/graph.ts
 */
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as g from '../graph/index.js';
import { selectBackend } from '../src/backend/index.js';

/** Model and input sizes of one run. */
export interface DecompositionSize {
  readonly layers: number;
  readonly heads: number;
  readonly dHead: number;
  readonly dMlp: number;
  readonly dModel: number;
  readonly batch: number;
  readonly pos: number;
}

/** GPT-2 small with batch 4, pos 64. */
export const GPT2_SMALL: DecompositionSize = {
  layers: 12,
  heads: 12,
  dHead: 64,
  dMlp: 3072,
  dModel: 768,
  batch: 4,
  pos: 64,
};

/** Every leaf the decomposition reads, with its shape; `cache` leaves vs `weights` leaves. */
export function leafShapes(
  s: DecompositionSize,
  perPosition = false,
): {
  cache: Map<string, number[]>;
  weights: Map<string, number[]>;
} {
  const { batch: b, pos: p, heads: h, dHead: dh, dMlp: m, dModel: d } = s;
  const cache = new Map<string, number[]>([
    ['hook_embed', [b, p, d]],
    ['hook_pos_embed', [b, p, d]],
    ['ln_final.hook_scale', [b, p, 1]],
  ]);
  const weights = new Map<string, number[]>([
    ['bias', [d]],
    // One logit direction, or one per (batch, pos) as logit attribution of next tokens uses.
    ['direction', perPosition ? [b, p, d] : [d]],
  ]);
  for (let l = 0; l < s.layers; l++) {
    cache.set(`blocks.${l}.attn.hook_z`, [b, p, h, dh]);
    cache.set(`blocks.${l}.mlp.hook_post`, [b, p, m]);
    weights.set(`blocks.${l}.attn.W_O`, [h, dh, d]);
    weights.set(`blocks.${l}.mlp.W_out`, [m, d]);
  }
  return { cache, weights };
}

/**
 * The logit-attribution graph as the ActivationCache builds it: head results (z·W_O per head) and
 * neuron results (post[..., None] * W_out) rearranged to [component, batch, pos, d_model], joined with
 * embed, pos_embed and the broadcast bias, LN-applied with the cached final scale, dotted with a
 * direction. Leaves are declared with shapes, so this builds without any tensor.
 */
export function buildLogitAttribution(
  s: DecompositionSize,
  cache: g.LeafSource,
  weights: g.LeafSource,
  perPosition = false,
): g.Lazy {
  const { cache: cs, weights: ws } = leafShapes(s, perPosition);
  const bp = ['batch', 'pos'];
  const dims: Record<string, string[]> = {
    hook_embed: [...bp, 'd_model'],
    hook_pos_embed: [...bp, 'd_model'],
    'ln_final.hook_scale': [...bp, g.ANON],
  };
  const c = (name: string): g.Node =>
    g.leaf(name, cache, { shape: cs.get(name) ?? [], dims: dims[name] ?? undefined });
  const w = (name: string): g.Node => g.leaf(name, weights, { shape: ws.get(name) ?? [] });
  const { batch: b, pos: p, dModel: d } = s;
  const parts: g.Node[] = [];
  const labels: string[] = [];
  for (let l = 0; l < s.layers; l++) {
    const head = g.einsum('...hd,hdm->...hm', c(`blocks.${l}.attn.hook_z`), w(`blocks.${l}.attn.W_O`));
    parts.push(g.transpose(head, [2, 0, 1, 3]));
    for (let h = 0; h < s.heads; h++) labels.push(`L${l}H${h}`);
  }
  for (let l = 0; l < s.layers; l++) {
    const post = c(`blocks.${l}.mlp.hook_post`);
    const neurons = g.mul(g.reshape(post, [b, p, s.dMlp, 1]), w(`blocks.${l}.mlp.W_out`));
    parts.push(g.transpose(neurons, [2, 0, 1, 3]));
    for (let n = 0; n < s.dMlp; n++) labels.push(`L${l}N${n}`);
  }
  parts.push(g.reshape(c('hook_embed'), [1, b, p, d]), g.reshape(c('hook_pos_embed'), [1, b, p, d]));
  parts.push(g.broadcast(w('bias'), [1, b, p, d]));
  labels.push('embed', 'pos_embed', 'bias');
  const stack = new g.Lazy(g.concat(parts, { labels }));
  return stack.applyLn(c('ln_final.hook_scale')).dot(w('direction'));
}

/** Makes random tensors for every leaf (scales positive); the returned sources own them. */
function syntheticSources(
  s: DecompositionSize,
  perPosition: boolean,
): { cache: g.TensorSource; weights: g.TensorSource } {
  const { cache, weights } = leafShapes(s, perPosition);
  let seed = 1;
  const make = (name: string, shape: number[]): [string, tf.Tensor] => [
    name,
    name.endsWith('hook_scale')
      ? tf.randomUniform(shape, 0.5, 2, 'float32', seed++)
      : tf.randomNormal(shape, 0, 0.1, 'float32', seed++),
  ];
  return {
    cache: new g.TensorSource(
      'cache',
      [...cache].map(([n, sh]) => make(n, sh)),
      true,
    ),
    weights: new g.TensorSource(
      'weights',
      [...weights].map(([n, sh]) => make(n, sh)),
      true,
    ),
  };
}

interface Run {
  seconds: number;
  peakBytes: number;
  profilePeak: number;
  out: Float32Array;
}

async function run(lazy: g.Lazy, options: g.PlanOptions, repeats: number): Promise<Run> {
  let best = Infinity;
  let peakBytes = 0;
  let out: Float32Array = new Float32Array(0);
  for (let i = 0; i < repeats; i++) {
    const stats = { peakBytes: 0, steps: 0 };
    const t0 = performance.now();
    const t = lazy.tensor({ plan: options, stats });
    out = (await t.data()) as Float32Array;
    best = Math.min(best, (performance.now() - t0) / 1000);
    t.dispose();
    peakBytes = Math.max(peakBytes, stats.peakBytes);
  }
  const profile = await tf.profile(() => lazy.tensor({ plan: options }).dispose());
  return { seconds: best, peakBytes, profilePeak: profile.peakBytes, out };
}

const mib = (n: number): string => (n / 2 ** 20).toFixed(n < 2 ** 20 ? 3 : 1);

/** Runs the sizes and prints a markdown table. */
export async function main(): Promise<void> {
  await selectBackend({ backend: 'wasm' });
  const full = GPT2_SMALL;
  // [label, size, run naive too, one direction per (batch, pos)]
  const sizes: [string, DecompositionSize, boolean, boolean][] = [
    ['1 layer, batch 1, pos 16', { ...full, layers: 1, batch: 1, pos: 16 }, true, false],
    ['2 layers, batch 1, pos 32', { ...full, layers: 2, batch: 1, pos: 32 }, true, false],
    ['12 layers, batch 1, pos 4', { ...full, batch: 1, pos: 4 }, true, false],
    ['12 layers, batch 1, pos 8', { ...full, batch: 1, pos: 8 }, true, false],
    ['12 layers, batch 1, pos 8, per-position directions', { ...full, batch: 1, pos: 8 }, true, true],
    ['full: 12 layers, batch 4, pos 64', full, false, false],
    ['full, per-position directions', full, false, true],
  ];
  const rows: string[] = [
    '| size | components | naive est. peak | naive peak (measured) | naive time | planned peak (measured) | planned time | peak ratio | speed-up | max abs diff |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, size, withNaive, perPosition] of sizes) {
    const { cache, weights } = syntheticSources(size, perPosition);
    try {
      const lazy = buildLogitAttribution(size, cache, weights, perPosition);
      const naivePlan = lazy.plan(g.PlanOptions.none());
      const planned = await run(lazy, g.PlanOptions.all(), 5);
      let naive: Run | undefined;
      if (withNaive) naive = await run(lazy, g.PlanOptions.none(), 2);
      let diff = 0;
      if (naive)
        for (let i = 0; i < naive.out.length; i++)
          diff = Math.max(diff, Math.abs(naive.out[i] - planned.out[i]));
      const comps = lazy.shape[0];
      rows.push(
        [
          name,
          comps,
          `${mib(naivePlan.naiveCost.peakBytes)} MiB`,
          naive ? `${mib(naive.peakBytes)} MiB (profile ${mib(naive.profilePeak)})` : 'does not fit in wasm',
          naive ? `${naive.seconds.toFixed(2)} s` : '—',
          `${mib(planned.peakBytes)} MiB (profile ${mib(planned.profilePeak)})`,
          `${planned.seconds.toFixed(3)} s`,
          naive
            ? `${(naive.peakBytes / planned.peakBytes).toFixed(0)}×`
            : `${(naivePlan.naiveCost.peakBytes / planned.peakBytes).toFixed(0)}× (vs est.)`,
          naive ? `${(naive.seconds / planned.seconds).toFixed(1)}×` : '—',
          naive ? diff.toExponential(1) : '—',
        ]
          .join(' | ')
          .replace(/^/, '| ') + ' |',
      );
      console.error(`done: ${name}`);
    } finally {
      cache.dispose();
      weights.dispose();
    }
  }
  console.log(rows.join('\n'));
  console.log(
    [
      '',
      'Times: best of 5 (planned, including planning) and best of 2 (naive). Peaks: the executor polls',
      'tf.memory().numBytes inside and after every op, minus the level at the start (leaves excluded);',
      "tf.memory() counts a reshaped view as new bytes, so both peaks are upper bounds. 'profile' is",
      "tf.profile's peakBytes. The naive estimate is the cost model's (the stack, then its centered and",
      'scaled copies); at full size the stack alone is 37011 x 4 x 64 x 768 x 4 B = 29 GB, past wasm',
      '4 GiB heap, so naive runs at scaled sizes: fewer layers and/or a smaller batch x pos, d_model 768',
      'and d_mlp 3072 kept.',
    ].join('\n'),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
