/**
 * Every field of a {@link HookedTransformerConfig} checked when the config is built, so a bad
 * value fails there with a message naming the field, what was given and what was expected,
 * instead of as a tfjs shape error (or a wrong model) later.
 */
import { ConfigError } from '../errors.js';
import type { HookedTransformerConfig } from './config.js';

const NORMALIZATION_TYPES = ['LN', 'LNPre', 'RMS', 'RMSPre', null] as const;
/** The activations the forward pass implements (`solu_ln` is TransformerLens's, not ours yet). */
const SUPPORTED_ACT_FNS = ['gelu', 'gelu_new', 'gelu_fast', 'relu', 'silu'] as const;
const POSITIONAL_TYPES = ['standard', 'rotary', 'alibi'] as const;
const BOOLEAN_FIELDS = [
  'attnOnly',
  'useAttnResult',
  'useAttnScale',
  'parallelAttnMlp',
  'defaultPrependBos',
  'useLocalAttn',
  'finalRms',
  'gatedMlp',
  'rotaryAdjacentPairs',
  'useNtkByPartsRope',
  'useNormalizationBeforeAndAfter',
  'postEmbeddingLn',
] as const;

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  return String(value);
}

function fail(field: string, value: unknown, expected: string): never {
  throw new ConfigError(`Config field ${field}: given ${show(value)}, expected ${expected}.`);
}

function positiveInt(field: string, value: unknown, note = ''): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail(field, value, `a positive integer${note}`);
  }
}

function positiveNumber(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    fail(field, value, 'a finite number > 0');
}

function oneOf(field: string, value: unknown, allowed: readonly unknown[]): void {
  if (!allowed.includes(value)) fail(field, value, `one of ${allowed.map(show).join(', ')}`);
}

/** @throws ConfigError naming the first field whose value the model cannot be built or run with. */
export function checkConfig(cfg: HookedTransformerConfig): void {
  positiveInt('nLayers', cfg.nLayers);
  positiveInt('dModel', cfg.dModel);
  positiveInt('nCtx', cfg.nCtx);
  positiveInt('dHead', cfg.dHead);
  positiveInt('nHeads', cfg.nHeads, ' (by default dModel / dHead, rounded down)');
  // −1 is TransformerLens's "not known yet" (set from the tokenizer); models need a real size.
  if (cfg.dVocab !== -1) positiveInt('dVocab', cfg.dVocab, ' (or −1 before the tokenizer sets it)');
  if (cfg.dVocabOut !== -1) positiveInt('dVocabOut', cfg.dVocabOut, ' (or −1 before the tokenizer sets it)');
  for (const field of BOOLEAN_FIELDS) {
    if (typeof cfg[field] !== 'boolean') fail(field, cfg[field], 'true or false');
  }
  if (cfg.attnOnly) {
    if (cfg.dMlp !== null) positiveInt('dMlp', cfg.dMlp, ' or null');
    if (cfg.actFn !== null) oneOf('actFn', cfg.actFn, [...SUPPORTED_ACT_FNS, null]);
  } else {
    positiveInt('dMlp', cfg.dMlp, ' (the model has an MLP: attnOnly is false)');
    oneOf('actFn', cfg.actFn, SUPPORTED_ACT_FNS);
  }
  oneOf('normalizationType', cfg.normalizationType, NORMALIZATION_TYPES);
  positiveNumber('eps', cfg.eps);
  oneOf('positionalEmbeddingType', cfg.positionalEmbeddingType, POSITIONAL_TYPES);
  positiveNumber('attnScale', cfg.attnScale);
  if (typeof cfg.initRange !== 'number' || !Number.isFinite(cfg.initRange) || cfg.initRange < 0) {
    fail('initRange', cfg.initRange, 'a finite number ≥ 0');
  }
  if (cfg.seed !== null && !Number.isSafeInteger(cfg.seed)) fail('seed', cfg.seed, 'an integer or null');
  if (typeof cfg.modelName !== 'string') fail('modelName', cfg.modelName, 'a string');
  if (cfg.originalArchitecture !== null && typeof cfg.originalArchitecture !== 'string') {
    fail('originalArchitecture', cfg.originalArchitecture, 'a string or null');
  }
  if (cfg.tokenizerPrependsBos !== null && typeof cfg.tokenizerPrependsBos !== 'boolean') {
    fail('tokenizerPrependsBos', cfg.tokenizerPrependsBos, 'true, false or null');
  }
  const types = cfg.attnTypes;
  if (
    types !== null &&
    (!Array.isArray(types) ||
      types.length !== cfg.nLayers ||
      !types.every((t) => t === 'global' || t === 'local'))
  ) {
    fail('attnTypes', types, `null or ${cfg.nLayers} entries (nLayers), each 'global' or 'local'`);
  }
  if (cfg.windowSize !== null) positiveInt('windowSize', cfg.windowSize, ' or null');
  positiveNumber('rotaryBase', cfg.rotaryBase);
  const r = cfg.rotaryDim;
  if (cfg.positionalEmbeddingType === 'rotary' && r !== null && (r <= 0 || r % 2 !== 0 || r > cfg.dHead)) {
    throw new ConfigError(`rotaryDim ${r} given; expected an even number in [2, dHead = ${cfg.dHead}].`);
  }
  if (cfg.useNtkByPartsRope && !(cfg.ntkByPartsLowFreqFactor < cfg.ntkByPartsHighFreqFactor)) {
    throw new ConfigError(
      `ntkByPartsLowFreqFactor ${cfg.ntkByPartsLowFreqFactor} and ntkByPartsHighFreqFactor ` +
        `${cfg.ntkByPartsHighFreqFactor} given; expected low < high.`,
    );
  }
  if (cfg.useNormalizationBeforeAndAfter && cfg.normalizationType === null) {
    throw new ConfigError(
      'useNormalizationBeforeAndAfter given with normalizationType null; expected a norm kind.',
    );
  }
  const g = cfg.nKeyValueHeads;
  if (g !== null && (!Number.isSafeInteger(g) || g <= 0 || cfg.nHeads % g !== 0)) {
    throw new ConfigError(
      `nKeyValueHeads ${g} given; expected a positive divisor of nHeads = ${cfg.nHeads}.`,
    );
  }
}
