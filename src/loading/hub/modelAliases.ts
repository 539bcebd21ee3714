/**
 * TransformerLens's official model names and their aliases, for the families lazylens loads
 * (GPT-2, GPT-Neo, GPT-NeoX/Pythia, Llama), so `fromPretrained('gpt2-small')` or
 * `fromPretrained('pythia-70m')` finds the same Hub repository TransformerLens would.
 * Lookup ignores case, as TransformerLens's does.
 */

/** `[official Hub repo id, ...aliases]`, one row per model. */
type Row = readonly [official: string, ...aliases: string[]];

const GPT2: readonly Row[] = [
  ['gpt2', 'gpt2-small'],
  ['gpt2-medium'],
  ['gpt2-large'],
  ['gpt2-xl'],
  ['distilgpt2', 'distillgpt2', 'distill-gpt2', 'distil-gpt2', 'gpt2-xs'],
  // Stanford CRFM's Mistral runs: five seeds each of GPT-2 small and medium.
  ...stanford('small', [
    ['alias', 21, 'a'],
    ['battlestar', 49, 'b'],
    ['caprica', 81, 'c'],
    ['darkmatter', 343, 'd'],
    ['expanse', 777, 'e'],
  ]),
  ...stanford('medium', [
    ['arwen', 21, 'a'],
    ['beren', 49, 'b'],
    ['celebrimbor', 81, 'c'],
    ['durin', 343, 'd'],
    ['eowyn', 777, 'e'],
  ]),
];

function stanford(size: 'small' | 'medium', runs: readonly (readonly [string, number, string])[]): Row[] {
  // TransformerLens calls the small runs `gpt2-mistral-small-x` and the medium ones `gpt2-medium-small-x`.
  const other = size === 'small' ? 'mistral-small' : 'medium-small';
  return runs.map(([name, seed, letter]) => [
    `stanford-crfm/${name}-gpt2-${size}-x${seed}`,
    `stanford-gpt2-${size}-${letter}`,
    `${name}-gpt2-${size}-x${seed}`,
    `gpt2-${other}-${letter}`,
    `gpt2-stanford-${size}-${letter}`,
  ]);
}

const GPT_NEO: readonly Row[] = [
  ['EleutherAI/gpt-neo-125M', 'gpt-neo-125M', 'gpt-neo-small', 'neo-small', 'neo'],
  ['EleutherAI/gpt-neo-1.3B', 'gpt-neo-1.3B', 'gpt-neo-medium', 'neo-medium'],
  ['EleutherAI/gpt-neo-2.7B', 'gpt-neo-2.7B', 'gpt-neo-large', 'neo-large'],
  ...(
    [
      ['1M', '1M'],
      ['3M', '3M'],
      ['8M', '8M'],
      ['28M', '28M'],
      ['33M', '33M'],
      ['1Layer-21M', '1L-21M'],
      ['2Layers-33M', '2L-33M'],
    ] as const
  ).flatMap(([repo, alias]): Row[] => [
    [`roneneldan/TinyStories-${repo}`, `tiny-stories-${alias}`],
    // The 1-layer instruct repository is spelled 'Instuct' on the Hub.
    [
      `roneneldan/TinyStories-${repo === '1Layer-21M' ? 'Instuct' : 'Instruct'}-${repo}`,
      `tiny-stories-instruct-${alias}`,
    ],
  ]),
];

/** Pythia sizes with the names they had before EleutherAI renamed them (TransformerLens keeps both). */
const PYTHIA_SIZES = [
  ['70m', '19m'],
  ['160m', '125m'],
  ['410m', '350m'],
  ['1b', '800m'],
  ['1.4b', '1.3b'],
  ['2.8b', '2.7b'],
  ['6.9b', '6.7b'],
  ['12b', '13b'],
] as const;

const GPT_NEOX: readonly Row[] = [
  ['EleutherAI/gpt-neox-20b', 'gpt-neox-20b', 'gpt-neox', 'neox'],
  ['EleutherAI/pythia-14m', 'pythia-14m'],
  ['EleutherAI/pythia-31m', 'pythia-31m'],
  ...PYTHIA_SIZES.flatMap(([size, old]) =>
    ['', '-deduped', '-deduped-v0', '-v0'].map((variant): Row => {
      const short: string[] = [];
      if (size === '70m' && variant === '') short.push('pythia');
      if (size === '70m' && variant === '-v0') short.push('pythia-v0');
      return [
        `EleutherAI/pythia-${size}${variant}`,
        `pythia-${size}${variant}`,
        ...short,
        `EleutherAI/pythia-${old}${variant}`,
        `pythia-${old}${variant}`,
      ];
    }),
  ),
  ...[1, 2, 3].map((seed): Row => [
    `EleutherAI/pythia-160m-seed${seed}`,
    `pythia-160m-seed${seed}`,
    `EleutherAI/pythia-125m-seed${seed}`,
    `pythia-125m-seed${seed}`,
  ]),
];

const LLAMA: readonly Row[] = [
  ['meta-llama/Llama-2-7b-hf', 'Llama-2-7b'],
  ['meta-llama/Llama-2-7b-chat-hf', 'Llama-2-7b-chat'],
  ['meta-llama/Llama-2-13b-hf', 'Llama-2-13b'],
  ['meta-llama/Llama-2-13b-chat-hf', 'Llama-2-13b-chat'],
  ['meta-llama/Llama-2-70b-chat-hf', 'Llama-2-70b-chat', 'meta-llama-2-70b-chat-hf'],
  ['meta-llama/Meta-Llama-3-8B'],
  ['meta-llama/Meta-Llama-3-8B-Instruct'],
  ['meta-llama/Meta-Llama-3-70B'],
  ['meta-llama/Meta-Llama-3-70B-Instruct'],
  ['meta-llama/Llama-3.1-8B'],
  ['meta-llama/Llama-3.1-8B-Instruct'],
  ['meta-llama/Llama-3.1-70B'],
  ['meta-llama/Llama-3.1-70B-Instruct'],
  ['meta-llama/Llama-3.2-1B'],
  ['meta-llama/Llama-3.2-1B-Instruct'],
  ['meta-llama/Llama-3.2-3B'],
  ['meta-llama/Llama-3.2-3B-Instruct'],
  ['meta-llama/Llama-3.3-70B-Instruct'],
  ['codellama/CodeLlama-7b-hf', 'CodeLlamallama-2-7b'],
  ['codellama/CodeLlama-7b-Instruct-hf', 'CodeLlama-7b-instruct'],
  ['codellama/CodeLlama-7b-Python-hf', 'CodeLlama-7b-python'],
  [
    'deepseek-ai/DeepSeek-R1-Distill-Llama-8B',
    'deepseek-r1-distill-llama-8b',
    'deepseek-r1-distill-llama-8b-chat',
  ],
  [
    'deepseek-ai/DeepSeek-R1-Distill-Llama-70B',
    'deepseek-r1-distill-llama-70b',
    'deepseek-r1-distill-llama-70b-chat',
  ],
];

/** Every row, by family. */
export const MODEL_TABLE: Readonly<Record<'gpt2' | 'gptNeo' | 'gptNeoX' | 'llama', readonly Row[]>> = {
  gpt2: GPT2,
  gptNeo: GPT_NEO,
  gptNeoX: GPT_NEOX,
  llama: LLAMA,
};

let byLowerName: Map<string, string> | undefined;

function aliasMap(): Map<string, string> {
  if (byLowerName) return byLowerName;
  const map = new Map<string, string>();
  for (const rows of Object.values(MODEL_TABLE)) {
    for (const [official, ...aliases] of rows) {
      for (const name of [official, ...aliases]) map.set(name.toLowerCase(), official);
    }
  }
  byLowerName = map;
  return map;
}

/**
 * The Hub repository TransformerLens means by `name` (an official name or an alias, any case),
 * or undefined for a name not in the table: `'gpt2-small'` gives `'gpt2'`, `'pythia-70m'` gives
 * `'EleutherAI/pythia-70m'`.
 */
export function officialModelName(name: string): string | undefined {
  return aliasMap().get(name.toLowerCase());
}

/** Every official name and alias in the table (for "did you mean" suggestions). */
export function knownModelNames(): string[] {
  return Object.values(MODEL_TABLE).flatMap((rows) => rows.flat());
}
