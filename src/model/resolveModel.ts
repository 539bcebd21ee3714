/**
 * Where `fromPretrained(nameOrPath)` finds a model: a model shipped in the package's `models/`
 * folder by name, or a local Hugging Face folder. There is no hub: nothing is downloaded.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

/** The package's models/ folder (from src/model in a checkout, or dist/src/model when built). */
export function shippedModelsDir(): string | undefined {
  for (const rel of ['../../models/', '../../../models/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
  }
  return undefined;
}

/** Names of the models shipped with the package. */
export function shippedModelNames(): string[] {
  const dir = shippedModelsDir();
  if (!dir) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(join(dir, n, 'config.json')))
    .sort();
}

/**
 * The folder a name or path refers to.
 * @throws ConfigError for something that is neither a shipped model nor an existing folder,
 *   listing the shipped names.
 */
export function resolveModelFolder(nameOrPath: string): string {
  const dir = shippedModelsDir();
  if (dir && /^[\w.-]+$/.test(nameOrPath) && existsSync(join(dir, nameOrPath, 'config.json'))) {
    return join(dir, nameOrPath);
  }
  const path = resolve(nameOrPath);
  if (existsSync(path) && statSync(path).isDirectory()) return path;
  if (existsSync(path) && path.endsWith('.bin')) {
    throw new ConfigError(
      `'${nameOrPath}' is a .bin file; llama2.c checkpoints are not supported yet. Expected a Hugging Face folder.`,
    );
  }
  const names = shippedModelNames();
  throw new ConfigError(
    `No model '${nameOrPath}': not a shipped model name and not a folder. ` +
      `Shipped models: ${names.length ? names.join(', ') : '(none)'}; or pass a folder with config.json.`,
  );
}
