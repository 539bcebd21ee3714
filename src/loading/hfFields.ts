/**
 * Typed access to a Hugging Face `config.json`'s fields, and the conversions every architecture
 * entry shares (activation names, d_head).
 */
import { ConfigError } from '../errors.js';
import type { ActFn, PartialConfig } from '../core/config.js';

/** A parsed `config.json`. */
export type HfConfigJson = Record<string, unknown>;

/** How one Hugging Face architecture maps onto TransformerLens's config. */
export interface HfArchitecture {
  /** `model_type` values that name this architecture when `architectures` is absent. */
  modelTypes: readonly string[];
  /** The TransformerLens config fields, before `makeConfig` fills the defaults. */
  convert(fields: HfFields): PartialConfig;
}

/** Typed access to a config.json's fields with Hugging Face's class defaults; errors name the file. */
export class HfFields {
  constructor(
    readonly json: HfConfigJson,
    readonly source: string,
  ) {}

  /** A positive integer field, or `fallback` when absent (as the HF config class would default it). */
  int(name: string, fallback?: number): number {
    const v = this.json[name] ?? fallback;
    if (!Number.isSafeInteger(v) || (v as number) <= 0) {
      throw new ConfigError(`${this.source}: '${name}' is ${show(v)}; expected a positive integer.`);
    }
    return v as number;
  }

  /** A positive number field, or `fallback` when absent. */
  num(name: string, fallback?: number): number {
    const v = this.json[name] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`${this.source}: '${name}' is ${show(v)}; expected a positive number.`);
    }
    return v;
  }

  /** An optional positive integer: null or absent gives undefined. */
  optionalInt(name: string): number | undefined {
    return this.json[name] === null || this.json[name] === undefined ? undefined : this.int(name);
  }

  str(name: string, fallback?: string): string {
    const v = this.json[name] ?? fallback;
    if (typeof v !== 'string') {
      throw new ConfigError(`${this.source}: '${name}' is ${show(v)}; expected a string.`);
    }
    return v;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.json[name] ?? fallback;
    if (typeof v !== 'boolean') {
      throw new ConfigError(`${this.source}: '${name}' is ${show(v)}; expected true or false.`);
    }
    return v;
  }
}

// Hugging Face activation names -> TransformerLens's. gelu_pytorch_tanh is the same tanh
// approximation as gelu_new.
const ACT_FNS: Record<string, ActFn> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu: 'gelu',
  gelu_fast: 'gelu_fast',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

export function actFn(fields: HfFields, name: string, fallback: string): ActFn {
  const given = fields.str(name, fallback);
  const act = ACT_FNS[given];
  if (!act) {
    throw new ConfigError(
      `${fields.source}: ${name} '${given}' is not supported; expected one of ${Object.keys(ACT_FNS).join(', ')}.`,
    );
  }
  return act;
}

export function dHead(fields: HfFields, dModel: number, nHeads: number): number {
  if (dModel % nHeads !== 0) {
    throw new ConfigError(
      `${fields.source}: hidden size ${dModel} is not divisible by the number of heads ${nHeads}.`,
    );
  }
  return dModel / nHeads;
}

/** A value as it appears in messages: JSON, or `missing`. */
export function show(v: unknown): string {
  return v === undefined ? 'missing' : JSON.stringify(v);
}

/** RoPE scaling variants (linear, dynamic, llama3, yarn) change the angles; none is implemented. */
export function noRopeScaling(f: HfFields): void {
  const scaling = f.json.rope_scaling;
  if (scaling === undefined || scaling === null) return;
  const kind =
    (scaling as { rope_type?: unknown; type?: unknown }).rope_type ?? (scaling as { type?: unknown }).type;
  if (kind === 'default') return;
  throw new ConfigError(`${f.source}: rope_scaling ${show(scaling)} is not supported; expected none.`);
}
