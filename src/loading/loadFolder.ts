/**
 * Loads a Hugging Face model folder — `config.json`, weights as `model.safetensors` or
 * `pytorch_model.bin` (either may be sharded behind an `.index.json`), optional `tokenizer.json`
 * — into a lazylens config, a TransformerLens-named state dict of host arrays, and a tokenizer.
 * Weights are read one tensor at a time (see CheckpointTensors), so peak memory is the float32
 * state dict plus one tensor in flight, whatever the checkpoint's dtype.
 */
import * as tf from '@tensorflow/tfjs';
import { access, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CheckpointError, ConfigError, InvalidArgumentError } from '../errors.js';
import { deriveConfig, type HookedTransformerConfig } from '../core/config.js';
import { CheckpointTensors, type CheckpointTensorsOptions } from './CheckpointTensors.js';
import { checkModelFits } from './checkModelFits.js';
import { convertCheckpoint } from './convertCheckpoint.js';
import { hfConfigToConfig, readHfConfigJson } from './hfConfig.js';
import { openSafetensorsFile } from './safetensors.js';
import { LensTokenizer } from './tokenizer.js';
import type { StateDict } from './toTensor.js';
import { WEIGHT_TABLES } from './weightTables.js';
import { openTorchCheckpoint } from './torch/openTorchCheckpoint.js';

export interface LoadedFolder {
  cfg: HookedTransformerConfig;
  /** Unprocessed weights (as `from_pretrained_no_processing`); the caller owns them (plain arrays). */
  stateDict: StateDict;
  /** Absent when the folder has no tokenizer.json. */
  tokenizer?: LensTokenizer;
}

/** Options of {@link loadHfFolder}. */
export interface LoadFolderOptions {
  /**
   * Accept NaN and ±Inf in the weights. By default a non-finite value fails the load, naming
   * the tensor: such a model computes NaN logits and probabilities.
   */
  allowNonFinite?: boolean;
  /** The model's name in its config (default: the folder's name); a Hub download passes the repository's. */
  modelName?: string;
  /**
   * The backend the weights are for; when it cannot hold them the load fails before reading
   * any ({@link checkModelFits}). Default: the backend tfjs is running, if one is started.
   */
  backend?: string;
}

const OPTION_NAMES: readonly (keyof LoadFolderOptions)[] = ['allowNonFinite', 'backend', 'modelName'];

/**
 * Loads a Hugging Face folder. `cfg.modelName` is `options.modelName`, else the folder's name, and `cfg.tokenizerPrependsBos`
 * is read from the tokenizer when there is one. No tf tensor is created.
 * @throws ConfigError for a missing/unsupported config.json; ModelTooLargeError when the backend
 *   cannot hold the weights; CheckpointError for missing, corrupt, non-finite or mismatched
 *   weights or tokenizer files; InvalidArgumentError for an unknown option.
 */
export async function loadHfFolder(path: string, options: LoadFolderOptions = {}): Promise<LoadedFolder> {
  for (const key of Object.keys(options)) {
    if (!(OPTION_NAMES as string[]).includes(key)) {
      throw new InvalidArgumentError(
        `loadHfFolder: unknown option '${key}'; expected ${OPTION_NAMES.join(', ')}.`,
      );
    }
  }
  // Config first: an unsupported or broken config.json is the most basic error to report.
  const json = await readHfConfigJson(path);
  const base = hfConfigToConfig(json, {
    source: join(path, 'config.json'),
    modelName: options.modelName ?? basename(resolve(path)),
  });
  const architecture = base.originalArchitecture ?? '';
  const table = Object.hasOwn(WEIGHT_TABLES, architecture) ? WEIGHT_TABLES[architecture] : undefined;
  if (!table) {
    // hfConfigToConfig accepted it, so a converter is simply missing from the table.
    throw new ConfigError(`No weight converter for architecture '${architecture}'.`);
  }
  // tfjs's getBackend() returns null until a backend has started (it starts none itself).
  const started: string | null = tf.getBackend();
  const backend = options.backend ?? started;
  if (backend) checkModelFits(base, backend);
  const { tensors, source } = await readWeights(path, { allowNonFinite: options.allowNonFinite });
  let stateDict: StateDict;
  try {
    stateDict = convertCheckpoint(table, tensors, base, { source });
  } finally {
    tensors.close();
  }
  if (!(await exists(join(path, 'tokenizer.json')))) return { cfg: base, stateDict };
  const tokenizer = await LensTokenizer.fromFolder(path);
  const cfg = deriveConfig(base, (c) => {
    c.tokenizerPrependsBos = tokenizer.prependsBos;
  });
  return { cfg, stateDict, tokenizer };
}

/** The checkpoint layouts a folder can hold, in the order they are looked for. */
const LAYOUTS = [
  { file: 'model.safetensors', index: 'model.safetensors.index.json', open: openSafetensors },
  { file: 'pytorch_model.bin', index: 'pytorch_model.bin.index.json', open: openTorchCheckpoint },
] as const;

function openSafetensors(path: string, options: CheckpointTensorsOptions): CheckpointTensors {
  return openSafetensorsFile(path, options).tensors;
}

/**
 * The tensors of a folder's checkpoint — `model.safetensors`, else `pytorch_model.bin`, each
 * single-file or sharded — opened for reading one tensor at a time. Safetensors wins when
 * both exist (it is the format that cannot carry code). The caller must `close()` the result.
 * @throws CheckpointError when the folder has none of them, or a file is unreadable or corrupt.
 */
export async function readWeights(
  folder: string,
  options: CheckpointTensorsOptions = {},
): Promise<{ tensors: CheckpointTensors; source: string }> {
  for (const layout of LAYOUTS) {
    const single = join(folder, layout.file);
    if (await exists(single)) return { tensors: layout.open(single, options), source: single };
    const indexPath = join(folder, layout.index);
    if (await exists(indexPath)) {
      const shards = await shardFiles(indexPath);
      const source = `${indexPath} (${shards.length} shards)`;
      const parts: CheckpointTensors[] = [];
      try {
        for (const shard of shards) parts.push(layout.open(join(folder, shard), options));
        return { tensors: CheckpointTensors.merge(parts, source, options), source };
      } catch (e) {
        for (const part of parts) part.close();
        throw e;
      }
    }
  }
  const other = ['model.bin', 'tf_model.h5', 'flax_model.msgpack'];
  const found: string[] = [];
  for (const name of other) if (await exists(join(folder, name))) found.push(name);
  throw new CheckpointError(
    `Folder ${folder} has no model.safetensors, pytorch_model.bin or their .index.json` +
      (found.length ? ` (found ${found.join(', ')}; lazylens reads safetensors and PyTorch .bin).` : '.'),
  );
}
async function shardFiles(indexPath: string): Promise<string[]> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${indexPath} cannot be read as JSON: ${(e as Error).message}`);
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new CheckpointError(`${indexPath} has no 'weight_map' object; expected {tensor name: shard file}.`);
  }
  const files = Object.values(map);
  if (!files.every((f): f is string => typeof f === 'string' && !f.includes('..'))) {
    throw new CheckpointError(
      `${indexPath}: every weight_map value must be a shard file name in the folder.`,
    );
  }
  return [...new Set(files)];
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
