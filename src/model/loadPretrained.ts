/**
 * Building a model's parameters from a checkpoint: resolve a shipped name or a path, read the
 * checkpoint (Hugging Face folder or llama2.c file), move the weights onto the backend, and apply
 * weight processing. Every error path disposes what was already built.
 */
import { ensureBackend, selectBackend } from '../backend/index.js';
import { deriveConfig, stripUndefined, type HookedTransformerConfig } from '../core/config.js';
import type { ModelTokenizer } from '../core/ModelTokenizer.js';
import type { StateDict } from '../core/stateDict.js';
import { loadLlama2c } from '../loading/llama2c.js';
import { loadHfFolder } from '../loading/loadFolder.js';
import { moveToTensors } from '../loading/toTensor.js';
import { validateStateDict } from './ModelWeights.js';
import type { FromPretrainedOptions } from './options.js';
import { DEFAULT_PROCESSING, processWeights, type ProcessingOptions } from './processWeights.js';
import { resolveModel } from './resolveModel.js';

/** A checkpoint read and processed: the model's config, parameters and tokenizer. */
export interface LoadedModel {
  cfg: HookedTransformerConfig;
  params: StateDict;
  tokenizer?: ModelTokenizer;
}

/** Every processing step off: {@link processStateDict}'s default. */
export const NO_PROCESSING: Required<ProcessingOptions> = {
  foldLn: false,
  centerWritingWeights: false,
  centerUnembed: false,
  foldValueBiases: false,
};

/**
 * Checks `params` against `cfg` and applies the processing asked for. Takes ownership of
 * `params`: tensors processing replaces are disposed, and all of them on an error.
 * @throws CheckpointError for a missing parameter or one of the wrong shape.
 */
export function processStateDict(
  cfg: HookedTransformerConfig,
  params: StateDict,
  options: ProcessingOptions = {},
): { cfg: HookedTransformerConfig; params: StateDict } {
  let out: { cfg: HookedTransformerConfig; params: StateDict };
  try {
    validateStateDict(cfg, params);
    out = processWeights(cfg, params, { ...NO_PROCESSING, ...stripUndefined(options) });
  } catch (e) {
    for (const t of params.values()) t.dispose();
    throw e;
  }
  const kept = new Set(out.params.values());
  for (const t of params.values()) if (!kept.has(t)) t.dispose();
  return out;
}

/**
 * Reads the checkpoint `nameOrPath` names and returns its processed parameters, with
 * TransformerLens's `from_pretrained` processing unless options turn steps off.
 */
export async function loadPretrained(
  nameOrPath: string,
  options: FromPretrainedOptions,
): Promise<LoadedModel> {
  if (options.backend || options.wasmThreads !== undefined)
    await selectBackend({ backend: options.backend, wasmThreads: options.wasmThreads });
  else await ensureBackend();
  const where = await resolveModel(nameOrPath, options.hub);
  const loaded =
    where.kind === 'hf'
      ? await loadHfFolder(where.folder, {
          modelName: where.modelName,
          allowNonFinite: options.allowNonFinite,
        })
      : await loadLlama2c(where.checkpoint, undefined, { allowNonFinite: options.allowNonFinite });
  const { useAttnResult } = options;
  const cfg =
    useAttnResult === undefined
      ? loaded.cfg
      : deriveConfig(loaded.cfg, (c) => {
          c.useAttnResult = useAttnResult;
        });
  // Each host array is dropped as its tensor is made, so two full copies never coexist.
  const params: StateDict = moveToTensors(loaded.stateDict);
  const {
    backend: _backend,
    wasmThreads: _wasmThreads,
    useAttnResult: _useAttnResult,
    hub: _hub,
    allowNonFinite: _allowNonFinite,
    ...processing
  } = options;
  const out = processStateDict(cfg, params, {
    ...DEFAULT_PROCESSING,
    ...stripUndefined(processing),
  });
  return { ...out, tokenizer: loaded.tokenizer };
}
