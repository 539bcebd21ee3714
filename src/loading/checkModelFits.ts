/**
 * Says, before any weight is read, when a model's float32 weights cannot fit on the chosen
 * backend: loading several GiB only to fail with an out-of-memory abort half-way wastes minutes
 * and names nothing.
 */
import { totalmem } from 'node:os';
import { ModelTooLargeError } from '../errors.js';
import type { HookedTransformerConfig } from '../core/config.js';
import { expectedParamShapes, isHeadProjection } from '../core/stateDict.js';

/**
 * The most bytes tfjs-backend-wasm's WebAssembly memory can grow to (its `getHeapMax()`:
 * 4 GiB less one 64 KiB page, wasm32's address space). Every tensor lives in that one memory.
 */
export const WASM_HEAP_BYTES = 4_294_901_760;

/**
 * Share of a backend's memory the weights may take; the rest is left for activations, the
 * copies weight processing makes while folding, and the runtime itself.
 */
export const WEIGHT_SHARE = 0.85;

const BYTES_PER_PARAM = 4; // weights are float32 on every backend

/** Parameters of a model with `cfg`: the elements of every TransformerLens weight it holds. */
export function parameterCount(cfg: HookedTransformerConfig): number {
  let n = 0;
  for (const shape of expectedParamShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Elements of the second copy of the query, key and value weights a model keeps, laid out for the
 * forward's matMul (see src/model/projectionWeights.ts).
 */
export function projectionCopyCount(cfg: HookedTransformerConfig): number {
  let n = 0;
  for (const [name, shape] of expectedParamShapes(cfg)) {
    if (isHeadProjection(name)) n += shape.reduce((a, b) => a * b, 1);
  }
  return n;
}

/** Options of {@link checkModelFits}. */
export interface FitOptions {
  /** Host memory in bytes; `os.totalmem()` by default (tests pass a small number). */
  hostMemoryBytes?: number;
}

/**
 * Fails when `cfg`'s weights (parameters × 4 bytes, with the laid-out copy of the query, key and
 * value weights) exceed {@link WEIGHT_SHARE} of what
 * `backend` can hold: wasm's 4 GiB memory, or host memory for 'cpu' and 'tensorflow'. Other
 * backends (webgpu: the GPU's memory, which tfjs does not report) pass.
 * @throws ModelTooLargeError with the parameter count, both sizes and a backend that can hold the model.
 */
export function checkModelFits(
  cfg: HookedTransformerConfig,
  backend: string,
  options: FitOptions = {},
): void {
  const host = options.hostMemoryBytes ?? totalmem();
  const limits: Record<string, { bytes: number; what: string }> = {
    wasm: { bytes: WASM_HEAP_BYTES, what: `its one WebAssembly memory, at most ${gib(WASM_HEAP_BYTES)}` },
    cpu: { bytes: host, what: `host memory, ${gib(host)} on this machine` },
    tensorflow: { bytes: host, what: `host memory, ${gib(host)} on this machine` },
  };
  const limit = limits[backend];
  if (!limit) return;
  const params = parameterCount(cfg);
  const copyBytes = projectionCopyCount(cfg) * BYTES_PER_PARAM;
  const bytes = params * BYTES_PER_PARAM + copyBytes;
  const allowed = Math.floor(limit.bytes * WEIGHT_SHARE);
  if (bytes <= allowed) return;
  const hostFits = bytes <= Math.floor(host * WEIGHT_SHARE);
  const instead =
    backend === 'wasm' && hostFits
      ? `Load it with backend: 'cpu' (weights in host memory: ${gib(host)} here), or 'webgpu' / 'tensorflow' when installed.`
      : "Use a GPU backend ('webgpu', or 'tensorflow' with tfjs-node-gpu) with enough memory, or a machine with more memory.";
  throw new ModelTooLargeError(
    `Model '${cfg.modelName}' has ${params.toLocaleString('en-US')} parameters: ${gib(params * BYTES_PER_PARAM)} as float32 ` +
      `(parameters × ${BYTES_PER_PARAM} bytes), and a second copy of its query, key and value weights laid out for the ` +
      `forward (${gib(copyBytes)}; ${gib(bytes)} in all). The '${backend}' backend keeps weights in ${limit.what}, and weights may ` +
      `take at most ${Math.round(WEIGHT_SHARE * 100)}% of that (${gib(allowed)}, about ` +
      `${Math.floor(allowed / BYTES_PER_PARAM).toLocaleString('en-US')} parameters) to leave room for activations. ${instead}`,
    params,
    backend,
    allowed,
  );
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
