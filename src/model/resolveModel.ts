/**
 * Where `fromPretrained(nameOrPath)` finds a model: a model shipped in the package's `models/`
 * folder by name, a local Hugging Face folder, or a llama2.c checkpoint. There is no hub:
 * nothing is downloaded.
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

/** Where a model lives: a Hugging Face folder, or a llama2.c checkpoint (tokenizer found beside it). */
export type ModelLocation = { kind: 'hf'; folder: string } | { kind: 'llama2c'; checkpoint: string };

/**
 * What a name or path refers to: a shipped model's folder; a folder with config.json (Hugging
 * Face); a folder with model.bin and no config.json (llama2.c, tokenizer.bin beside it); or a
 * `.bin` file (a llama2.c checkpoint).
 * @throws ConfigError for something that is none of these, listing the shipped names.
 */
export function resolveModel(nameOrPath: string): ModelLocation {
  const dir = shippedModelsDir();
  if (dir && /^[\w.-]+$/.test(nameOrPath) && existsSync(join(dir, nameOrPath, 'config.json'))) {
    return { kind: 'hf', folder: join(dir, nameOrPath) };
  }
  const path = resolve(nameOrPath);
  if (existsSync(path) && statSync(path).isDirectory()) {
    const bin = join(path, 'model.bin');
    if (!existsSync(join(path, 'config.json')) && existsSync(bin))
      return { kind: 'llama2c', checkpoint: bin };
    return { kind: 'hf', folder: path };
  }
  if (existsSync(path) && path.endsWith('.bin')) return { kind: 'llama2c', checkpoint: path };
  const names = shippedModelNames();
  throw new ConfigError(
    `No model '${nameOrPath}': not a shipped model name, a folder or a llama2.c .bin file. ` +
      `Shipped models: ${names.length ? names.join(', ') : '(none)'}; or pass a folder with config.json, ` +
      'or a llama2.c checkpoint.',
  );
}
