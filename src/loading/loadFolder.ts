/**
 * Loads a Hugging Face model folder — `config.json`, `model.safetensors` (or a sharded
 * `model.safetensors.index.json`), optional `tokenizer.json` — into a lazylens config, a
 * TransformerLens-named state dict of host arrays, and a tokenizer.
 */
import { access, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CheckpointError, ConfigError } from '../errors.js';
import { deriveConfig, type HookedTransformerConfig } from '../core/config.js';
import { convertCheckpoint } from './convertCheckpoint.js';
import { hfConfigToConfig, readHfConfigJson } from './hfConfig.js';
import { loadSafetensorsFile, type SafetensorsTensor } from './safetensors.js';
import { LensTokenizer } from './tokenizer.js';
import type { StateDict } from './toTensor.js';
import { WEIGHT_TABLES } from './weightTables.js';

export interface LoadedFolder {
  cfg: HookedTransformerConfig;
  /** Unprocessed weights (as `from_pretrained_no_processing`); the caller owns them (plain arrays). */
  stateDict: StateDict;
  /** Absent when the folder has no tokenizer.json. */
  tokenizer?: LensTokenizer;
}

/**
 * Loads a Hugging Face folder. `cfg.modelName` is `options.modelName`, else the folder's name, and `cfg.tokenizerPrependsBos`
 * is read from the tokenizer when there is one. No tf tensor is created.
 * @throws ConfigError for a missing/unsupported config.json; CheckpointError for missing, corrupt
 *   or mismatched weights or tokenizer files.
 */
export async function loadHfFolder(
  path: string,
  options: { modelName?: string } = {},
): Promise<LoadedFolder> {
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
  const { tensors, source } = await readWeights(path);
  const stateDict = convertCheckpoint(table, tensors, base, { source });
  if (!(await exists(join(path, 'tokenizer.json')))) return { cfg: base, stateDict };
  const tokenizer = await LensTokenizer.fromFolder(path);
  const cfg = deriveConfig(base, (c) => {
    c.tokenizerPrependsBos = tokenizer.prependsBos;
  });
  return { cfg, stateDict, tokenizer };
}

/** All tensors of a folder's safetensors checkpoint, single-file or sharded. */
export async function readWeights(
  folder: string,
): Promise<{ tensors: Map<string, SafetensorsTensor>; source: string }> {
  const single = join(folder, 'model.safetensors');
  if (await exists(single)) return { tensors: (await loadSafetensorsFile(single)).tensors, source: single };

  const indexPath = join(folder, 'model.safetensors.index.json');
  if (await exists(indexPath)) {
    const shards = await shardFiles(indexPath);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const shard of shards) {
      for (const [name, t] of (await loadSafetensorsFile(join(folder, shard))).tensors) tensors.set(name, t);
    }
    return { tensors, source: `${indexPath} (${shards.length} shards)` };
  }

  const other = ['pytorch_model.bin', 'model.bin', 'tf_model.h5'];
  const found: string[] = [];
  for (const name of other) if (await exists(join(folder, name))) found.push(name);
  throw new CheckpointError(
    `Folder ${folder} has no model.safetensors or model.safetensors.index.json` +
      (found.length ? ` (found ${found.join(', ')}; only safetensors is supported).` : '.'),
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
