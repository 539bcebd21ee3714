/**
 * Everything `fromPretrained` needs from a Hub repository — config.json, the tokenizer files and
 * the safetensors weights (one file, or the shards a `model.safetensors.index.json` lists) — in
 * one snapshot folder of the cache, all from the same commit.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CheckpointError, HubUnreachableError, ModelNotFoundError } from '../../errors.js';
import { DownloadProgressBar, type DownloadProgress } from './DownloadProgressBar.js';
import { fetchFileMetadata } from './fetchFileMetadata.js';
import { hubDownloadFile, isNotCachedError } from './hubDownloadFile.js';
import { hubSettings, type HubOptions } from './HubOptions.js';
import type { HubSettings } from './hubSettings.js';
import type { HubModelRef } from './parseHubName.js';

/** A model in the cache, ready for the folder loader. */
export interface DownloadedModel {
  /** The snapshot folder (`…/models--org--name/snapshots/<commit>`). */
  folder: string;
  /** The commit the revision resolved to. */
  commit: string;
}

/** Weights in a format lazylens cannot read yet, named in the error when they are all a repo has. */
const UNSUPPORTED_WEIGHTS = ['pytorch_model.bin', 'pytorch_model.bin.index.json', 'tf_model.h5'];

type Fetch = (file: string) => Promise<string | undefined>;

/** The first of `files` the repository has, trying the next when one is missing (or not cached offline). */
async function firstPresent(
  get: Fetch,
  files: readonly string[],
): Promise<{ file: string; path: string } | undefined> {
  let unreachable: HubUnreachableError | undefined;
  for (const file of files) {
    try {
      const path = await get(file);
      if (path) return { file, path };
    } catch (e) {
      if (!(e instanceof HubUnreachableError)) throw e;
      unreachable ??= e;
    }
  }
  if (unreachable) throw unreachable;
  return undefined;
}

/** The shard files an index lists, checked to be plain names in the repository. */
async function shardsOf(indexPath: string, repoId: string): Promise<string[]> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(
      `${repoId}: model.safetensors.index.json is not JSON (${(e as Error).message}).`,
    );
  }
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  const files = map !== null && typeof map === 'object' ? Object.values(map) : [];
  if (!files.length || !files.every((f): f is string => typeof f === 'string' && /^[\w.-]+$/.test(f))) {
    throw new CheckpointError(
      `${repoId}: model.safetensors.index.json has no usable weight_map; expected {tensor name: shard file name}.`,
    );
  }
  return [...new Set(files)];
}

/** The repository's other weight files, for the error when it has no safetensors. */
async function otherWeights(settings: HubSettings, repoId: string, commit: string): Promise<string[]> {
  if (settings.offline) return [];
  const found: string[] = [];
  for (const file of UNSUPPORTED_WEIGHTS) {
    const r = await fetchFileMetadata(settings, { repoId, revision: commit, file }).catch(() => undefined);
    if (r?.found) found.push(file);
  }
  return found;
}

/**
 * Downloads (or finds in the cache) config.json, tokenizer.json, tokenizer_config.json and the
 * safetensors weights of a Hub model.
 * @throws ModelNotFoundError, HubAuthError, HubUnreachableError, HubIntegrityError as the Hub or
 *   the cache answer; CheckpointError for a repository without safetensors weights.
 */
export async function downloadModel(ref: HubModelRef, options: HubOptions = {}): Promise<DownloadedModel> {
  const settings = hubSettings(options);
  const bar =
    (options.progressBar ?? DownloadProgressBar.available()) ? new DownloadProgressBar() : undefined;
  const report = (p: DownloadProgress): void => {
    bar?.update(p);
    options.onProgress?.(p);
  };
  const { repoId } = ref;
  let revision = ref.revision;
  const get: Fetch = async (file) => {
    const r = await hubDownloadFile(settings, { repoId, revision, file }, (bytes, total) =>
      report({ repoId, file, bytes, ...(total === undefined ? {} : { total }) }),
    );
    return 'path' in r ? r.path : undefined;
  };
  try {
    const config = await get('config.json');
    if (!config) {
      throw new ModelNotFoundError(
        `Model ${repoId}@${revision}: the repository has no config.json; expected a transformers model repository.`,
      );
    }
    const folder = dirname(config);
    const commit = folder.split(/[\\/]/).pop() ?? '';
    // The rest comes from the commit config.json came from, even if the branch moves meanwhile.
    revision = commit;
    // Without the Hub, a cached snapshot that lacks the tokenizer still loads (token ids only).
    for (const optional of ['tokenizer.json', 'tokenizer_config.json']) {
      await get(optional).catch((e: unknown) => {
        if (!isNotCachedError(e)) throw e;
      });
    }
    const weights = await firstPresent(get, ['model.safetensors', 'model.safetensors.index.json']);
    if (!weights) {
      const other = await otherWeights(settings, repoId, commit);
      throw new CheckpointError(
        `Model ${repoId}@${ref.revision}: no model.safetensors or model.safetensors.index.json` +
          (other.length
            ? `; it has ${other.join(', ')}, which lazylens cannot read yet (PyTorch/TensorFlow weights are unsupported for now)`
            : '') +
          '. Expected safetensors weights (a revision with them, or a local folder saved with safetensors).',
      );
    }
    if (weights.file === 'model.safetensors.index.json') {
      for (const shard of await shardsOf(weights.path, repoId)) {
        if (!(await get(shard))) {
          throw new CheckpointError(
            `Model ${repoId}: model.safetensors.index.json lists ${shard}, which the repository does not have.`,
          );
        }
      }
    }
    return { folder, commit };
  } finally {
    bar?.done();
  }
}
