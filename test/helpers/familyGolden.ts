// The PyTorch goldens of the tiny family fixtures (scripts/goldens/make_family_goldens.py).
import { fileURLToPath } from 'node:url';
import { loadSafetensorsFile, type SafetensorsFile } from '../../src/loading/safetensors.js';

export const FAMILIES = [
  'neo',
  'neox',
  'llama',
  'llama3',
  'qwen2',
  'mistral',
  'gemma',
  'gemma2',
  'phi3',
  'gptj',
  'opt',
  'bloom',
] as const;
export type Family = (typeof FAMILIES)[number];

/** The Hugging Face folder of a family's tiny fixture. */
export function familyFolder(family: Family): string {
  return fileURLToPath(new URL(`../fixtures/${family}-tiny`, import.meta.url));
}

const memo = new Map<string, Promise<SafetensorsFile>>();

/** `raw` (no processing) or `processed` (TransformerLens's defaults) goldens of a family. */
export function familyGolden(family: Family, kind: 'raw' | 'processed'): Promise<SafetensorsFile> {
  const key = `${family}/${kind}`;
  let file = memo.get(key);
  if (!file) {
    file = loadSafetensorsFile(
      fileURLToPath(new URL(`../fixtures/${family}-tiny-golden/${kind}.safetensors`, import.meta.url)),
    );
    memo.set(key, file);
  }
  return file;
}
