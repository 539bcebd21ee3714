// Splits a safetensors file into two shards plus a model.safetensors.index.json, as
// transformers' save_pretrained does for large checkpoints, so tests can serve a sharded repo.
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from '../../src/loading/safetensors.js';

export function splitSafetensors(bytes: Buffer): Record<string, Buffer> {
  const { tensors } = readSafetensors(new Uint8Array(bytes));
  const names = [...tensors.keys()];
  const half = Math.ceil(names.length / 2);
  const shardNames = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const out: Record<string, Buffer> = {};
  const weightMap: Record<string, string> = {};
  shardNames.forEach((shard, i) => {
    const part = new Map<string, SafetensorsTensor>();
    for (const name of names.slice(i * half, (i + 1) * half)) {
      part.set(name, tensors.get(name)!);
      weightMap[name] = shard;
    }
    out[shard] = Buffer.from(writeSafetensors(part, { format: 'pt' }));
  });
  out['model.safetensors.index.json'] = Buffer.from(
    JSON.stringify({ metadata: { total_size: bytes.length }, weight_map: weightMap }),
  );
  return out;
}

/** The fixture's files with its single model.safetensors replaced by two shards and an index. */
export function shardedFiles(files: Record<string, Buffer>): Record<string, Buffer> {
  const { ['model.safetensors']: weights, ...rest } = files;
  return { ...rest, ...splitSafetensors(weights) };
}
