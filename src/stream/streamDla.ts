/**
 * `streamDla`: the streaming core of `lazylens dla --prompts data.jsonl --out results.jsonl`.
 * Reads prompts from JSON Lines, attributes each prompt's answer logit at its last real token to
 * the model's components, writes one line per prompt with its top components, and returns the
 * mean attribution of every component over all prompts.
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { lastValueFrom } from 'rxjs';
import type { ActivationCache } from '../cache/ActivationCache.js';
import type * as g from '../../graph/index.js';
import type { CacheBatch, PromptRecord, StreamCachesOptions, StreamModel } from './CacheBatch.js';
import { positiveInt } from './leasedBatches.js';
import { answerIds, lastTokenDla } from './lastTokenDla.js';
import { meanOver } from './meanOver.js';
import { progress, type ProgressInfo } from './progress.js';
import { readJsonl } from './readJsonl.js';
import { STREAM_CACHES_KEYS, streamCaches } from './streamCaches.js';
import { useBatch } from './useBatch.js';
import { InvalidArgumentError } from '../errors.js';
import { checkOptions, type OptionKeys } from '../core/checkOptions.js';

/** Which components to attribute to. */
export type DlaComponents = 'layers' | 'heads' | 'neurons';

export interface StreamDlaOptions extends StreamCachesOptions {
  /**
   * 'layers': embed, pos_embed and each attention / MLP output (`decomposeResid`); 'heads' (default):
   * every head, each MLP output, embed, pos_embed and the biases (`getFullResidDecomposition`
   * without neurons); 'neurons': every head and every MLP neuron.
   */
  components?: DlaComponents;
  /** Components per output line, largest |attribution| first. Default 5. */
  topK?: number;
  /**
   * As `streamCaches`' option, with another default here: 8 (windows of 8 batches, grouped by
   * length). The lines are written in the input's order either way; 1 keeps the input's batches.
   */
  groupByLength?: number;
  /** Called after each batch and once at the end. */
  onProgress?: (info: ProgressInfo) => void;
}

/** One output line: the record's own fields, then where and what was attributed. */
export interface DlaLine {
  /** Index of the prompt in the input (non-blank lines, from 0). */
  index: number;
  /** The answer token's id (the record's `answer`, else the model's top prediction). */
  answerId: number;
  /** Position of the prompt's last real token. */
  position: number;
  /** Σ of every component's attribution. */
  total: number;
  /** The components with the largest |attribution|, largest first. */
  top: {
    /** The component's label (`L1H0`, `0_mlp_out`, …). */
    component: string;
    /** Its direct logit attribution to the answer. */
    attribution: number;
  }[];
  [field: string]: unknown;
}

/** Mean attribution per component over all prompts. */
export interface DlaTable {
  /** One label per component. */
  labels: string[];
  /** Mean attribution of each component over every prompt. */
  mean: number[];
  /** Number of prompts averaged. */
  prompts: number;
}

/**
 * Batches per window within which `streamDla` groups prompts by length by default: for prompts
 * of 32–64 tokens in batches of 8 (the DLA benchmark's), 21% of a batch's rows were padding in
 * the input's order and 3% with windows of 8 batches.
 */
const DEFAULT_LENGTH_WINDOW = 8;

const STREAM_DLA_KEYS = {
  ...STREAM_CACHES_KEYS,
  components: true,
  topK: true,
  onProgress: true,
} as const satisfies OptionKeys<StreamDlaOptions>;

const STACKS: Record<DlaComponents, (c: ActivationCache, ps: g.SliceInput) => g.Lazy> = {
  layers: (c, ps) => c.decomposeResid({ posSlice: ps }),
  heads: (c, ps) => c.getFullResidDecomposition({ posSlice: ps, expandNeurons: false }),
  neurons: (c, ps) => c.getFullResidDecomposition({ posSlice: ps, expandNeurons: true }),
};

/**
 * Only the activations the stack and the final LN scale need. Heads are read from `hook_z`: the
 * planner projects each head's z through W_O at the last positions alone, so a model run with
 * `useAttnResult` need not form its per-head results at every position.
 */
const NEEDS: Record<DlaComponents, RegExp> = {
  layers: /^(hook_embed|hook_pos_embed|ln_final\.hook_scale)$|hook_(attn|mlp)_out$/,
  heads: /^(hook_embed|hook_pos_embed|ln_final\.hook_scale)$|hook_mlp_out$|attn\.hook_z$/,
  neurons: /^(hook_embed|hook_pos_embed|ln_final\.hook_scale)$|mlp\.hook_post$|attn\.hook_z$/,
};

interface BatchDla {
  value: number[][]; // [components, batch]
  size: number;
  /** Each row's prompt index. */
  indices: readonly number[];
  records: readonly PromptRecord[];
  answers: number[];
  positions: readonly number[];
  labels: readonly string[];
}

function lineOf(d: BatchDla, row: number, topK: number): DlaLine {
  const attrs = d.value.map((r) => r[row]);
  const order = attrs.map((_, i) => i).sort((a, b) => Math.abs(attrs[b]) - Math.abs(attrs[a]));
  return {
    ...d.records[row],
    index: d.indices[row],
    answerId: d.answers[row],
    position: d.positions[row],
    total: attrs.reduce((s, v) => s + v, 0),
    top: order.slice(0, topK).map((i) => ({ component: d.labels[i] ?? String(i), attribution: attrs[i] })),
  };
}

/**
 * Streams `jsonlPath` (one `{ "prompt": …, "answer"?: …, … }` or JSON string per line) through
 * `model`, writes one JSON line per prompt to `outPath` (its fields, `index`, `answerId`,
 * `position`, `total`, and the `topK` components by |attribution|) and resolves to the mean
 * attribution per component. Prompts are grouped by length within windows of `groupByLength`
 * batches (default 8) so that batches pad less; lines are written in the input's order, each as
 * soon as every prompt before it is done: on an error (a `StreamError` naming the prompt) every
 * line before the first prompt not attributed is already in `outPath`.
 * @param model a HookedTransformer (or anything with its `runWithCache`, `cfg`, `tokenizer`).
 * @param jsonlPath the JSON Lines file of prompts.
 * @param outPath where the per-prompt lines are written (created or replaced).
 * @param options which components, how many per line, progress, and the options of
 *   `streamCaches` (see {@link StreamDlaOptions}).
 * @example
 * ```ts
 * import { HookedTransformer, streamDla } from 'lazylens';
 * import { mkdtempSync, writeFileSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 *
 * const dir = mkdtempSync(join(tmpdir(), 'lazylens-dla-'));
 * const input = join(dir, 'in.jsonl');
 * writeFileSync(input, '{"prompt": "cat dog sun cat dog", "answer": "sun"}\n"red ball red"\n');
 * const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
 * const table = await streamDla(model, input, join(dir, 'out.jsonl'), { components: 'layers' });
 * table.labels;   // ['embed', 'pos_embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out']
 * model.dispose();
 * ```
 */
export async function streamDla(
  model: StreamModel,
  jsonlPath: string,
  outPath: string,
  options: StreamDlaOptions = {},
): Promise<DlaTable> {
  checkOptions(options, STREAM_DLA_KEYS, 'streamDla');
  const components = options.components ?? 'heads';
  if (!(components in STACKS))
    throw new InvalidArgumentError(
      `components '${String(components)}' given; expected 'layers', 'heads' or 'neurons'.`,
    );
  const topK = positiveInt(options.topK, 5, 'topK');
  const { components: _c, topK: _k, onProgress, ...streamOptions } = options;
  const needs = NEEDS[components];
  let labels: readonly string[] = [];
  let prompts = 0;
  // Lines of prompts done out of order (grouped by length), until the ones before them are done.
  const pending = new Map<number, string>();
  let nextLine = 0;
  // Opened first: an unwritable outPath fails before any prompt runs.
  const out = (await open(outPath, 'w')).createWriteStream({ encoding: 'utf8' });
  let writeError: { error: unknown } | undefined;
  out.on('error', (error) => (writeError ??= { error }));
  const close = (): Promise<void> => new Promise<void>((resolve) => out.end(resolve));
  let table: DlaTable;
  const write = async (text: string): Promise<void> => {
    if (writeError) throw writeError.error;
    if (!out.write(text)) await once(out, 'drain');
  };
  try {
    const mean = await lastValueFrom(
      // The answers, predictions and attributions are read at each prompt's last token only, so
      // the final block runs there alone.
      streamCaches(model, readJsonl(jsonlPath), {
        namesFilter: (name: string) => needs.test(name),
        logits: 'last',
        ...streamOptions,
        groupByLength: streamOptions.groupByLength ?? DEFAULT_LENGTH_WINDOW,
        finalBlockAtLastToken:
          streamOptions.finalBlockAtLastToken ?? (streamOptions.logits ?? 'last') === 'last',
      }).pipe(
        // Writing inside the batch's hold: a slow disk holds the producer back too.
        useBatch(async (b: CacheBatch<PromptRecord>): Promise<BatchDla> => {
          const answers = answerIds(b);
          const lazy = lastTokenDla(b, { answers, stack: STACKS[components] });
          const value = (await lazy.array()) as number[][];
          labels = lazy.labels ?? [];
          const { size, indices, records, lastPositions } = b;
          const d = { value, size, indices, records, answers, positions: lastPositions, labels };
          for (let row = 0; row < d.size; row++) {
            pending.set(indices[row], `${JSON.stringify(lineOf(d, row, topK))}\n`);
          }
          let text = '';
          for (let line = pending.get(nextLine); line !== undefined; line = pending.get(nextLine)) {
            text += line;
            pending.delete(nextLine++);
          }
          if (text) await write(text);
          prompts += d.size;
          return d;
        }),
        progress(onProgress ?? (() => undefined)),
        meanOver({ axis: 1 }),
      ),
      { defaultValue: [] },
    );
    if (pending.size > 0) throw new Error(`internal: ${pending.size} lines left unwritten`);
    table = { labels: [...labels], mean: mean as number[], prompts };
  } catch (e) {
    await close(); // the stream's own error wins over a failure to write the file
    throw e;
  }
  await close();
  if (writeError) throw writeError.error;
  return table;
}
