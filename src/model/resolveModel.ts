/**
 * Where `fromPretrained(nameOrPath)` finds a model: a model shipped in the package's `models/`
 * folder by name, a local Hugging Face folder, a llama2.c checkpoint, or a model on the Hugging
 * Face Hub (a TransformerLens model name such as `gpt2-small`, or `org/name[@revision]`),
 * downloaded into the Hub cache.
 */
import { existsSync, readdirSync, statSync, type Stats } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { closestNames } from '../util/closestNames.js';
import { downloadModel } from '../loading/hub/downloadModel.js';
import { hubSettings, type HubOptions } from '../loading/hub/HubOptions.js';
import { knownModelNames, officialModelName } from '../loading/hub/modelAliases.js';
import { parseHubName, type HubModelRef } from '../loading/hub/parseHubName.js';

/** The package's models/ folder (from src/model in a checkout, or dist/src/model when built). */
export function shippedModelsDir(): string | undefined {
  for (const rel of ['../../models/', '../../../models/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
  }
  return undefined;
}

/**
 * Whether `name` can name a shipped model: a plain identifier (letters, digits, `_`, `-`, `.`,
 * starting with a letter or digit). `.`, `..` and anything with a slash are paths, resolved from
 * the working directory, never from inside the package.
 */
export function isShippedModelName(name: string): boolean {
  return /^[A-Za-z0-9][\w.-]*$/.test(name);
}

/** Names of the models shipped with the package. */
export function shippedModelNames(): string[] {
  const dir = shippedModelsDir();
  if (!dir) return [];
  return readdirSync(dir)
    .filter((n) => isShippedModelName(n) && existsSync(join(dir, n, 'config.json')))
    .sort();
}

/** Where a model lives: a Hugging Face folder, or a llama2.c checkpoint (tokenizer found beside it). */
export type ModelLocation =
  | {
      kind: 'hf';
      folder: string;
      /** The model's name when the folder's own name is not it (a Hub snapshot is named by commit). */
      modelName?: string;
      /** The Hub repository and commit the folder was downloaded from. */
      hub?: HubModelRef & { commit: string };
    }
  | { kind: 'llama2c'; checkpoint: string };

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** A llama2.c checkpoint must be a regular file: reading a FIFO or a device would block forever. */
function checkpointFile(path: string, stats: Stats): ModelLocation {
  if (!stats.isFile()) {
    throw new ConfigError(
      `Model ${path}: not a regular file (a FIFO, socket or device); expected a llama2.c .bin checkpoint file.`,
    );
  }
  return { kind: 'llama2c', checkpoint: path };
}

/** The Hub model `nameOrPath` names: a TransformerLens name or alias (any case), or `org/name`; with an optional `@revision`. */
export function hubModelRef(nameOrPath: string): HubModelRef | undefined {
  const at = nameOrPath.indexOf('@');
  const name = at < 0 ? nameOrPath : nameOrPath.slice(0, at);
  const official = officialModelName(name);
  if (official) return parseHubName(official + (at < 0 ? '' : nameOrPath.slice(at)));
  // Outside the table only `org/name` goes to the Hub, so a mistyped plain name fails here, at once.
  const ref = parseHubName(nameOrPath);
  return ref?.repoId.includes('/') ? ref : undefined;
}

/**
 * What a name or path refers to, in this order: a shipped model's folder; a local folder with
 * config.json (Hugging Face); a folder with model.bin and no config.json (llama2.c, tokenizer.bin
 * beside it); a `.bin` file (a llama2.c checkpoint); a TransformerLens model name or alias, or a
 * Hub repo `org/name`, optionally `@revision`, downloaded (or found) in the Hub cache.
 * @throws ConfigError for something that is none of these, suggesting close names; the Hub
 *   errors of {@link downloadModel}.
 */
export async function resolveModel(nameOrPath: string, hub: HubOptions = {}): Promise<ModelLocation> {
  hubSettings(hub); // unknown Hub options are an error whatever the model turns out to be
  const dir = shippedModelsDir();
  if (dir && isShippedModelName(nameOrPath) && existsSync(join(dir, nameOrPath, 'config.json'))) {
    return { kind: 'hf', folder: join(dir, nameOrPath) };
  }
  const path = resolve(nameOrPath);
  const stats = statOf(path);
  if (stats?.isDirectory()) {
    const bin = join(path, 'model.bin');
    const binStats = statOf(bin);
    if (!existsSync(join(path, 'config.json')) && binStats) return checkpointFile(bin, binStats);
    return { kind: 'hf', folder: path };
  }
  if (stats && path.endsWith('.bin')) return checkpointFile(path, stats);
  const ref = stats ? undefined : hubModelRef(nameOrPath);
  if (ref) {
    const { folder, commit } = await downloadModel(ref, hub);
    return { kind: 'hf', folder, modelName: ref.repoId.split('/').pop(), hub: { ...ref, commit } };
  }
  const names = shippedModelNames();
  const near = closestNames(nameOrPath, [...names, ...knownModelNames()]);
  throw new ConfigError(
    `No model '${nameOrPath}': not a shipped model name, a folder or a llama2.c .bin file` +
      `${stats ? '' : ', nor a TransformerLens model name or a Hub repo id'}.` +
      (near.length ? ` Did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : '') +
      ` Shipped models: ${names.length ? names.join(', ') : '(none)'}; or pass a folder with config.json, ` +
      "a llama2.c checkpoint, or a Hugging Face Hub model as 'org/name' (e.g. 'EleutherAI/pythia-70m').",
  );
}
