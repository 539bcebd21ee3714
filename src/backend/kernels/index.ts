/** lazylens's fused WebGPU kernels, each beside the tfjs composition every other backend runs. */
export {
  attentionCore,
  attentionCoreComposition,
  someQueryBlind,
  type AttentionHooks,
  type AttentionSpec,
} from './attentionCore.js';
export { blasLinear } from './blasLinear.js';
export { contractLast } from './contractLast.js';
export {
  centres,
  normalizeCore,
  normalizeComposition,
  type NormKind,
  type NormSpec,
} from './normalizeCore.js';
export { simdActivation, simdKernelsActive, simdNormalize } from './simdKernels.js';
export {
  activationComposition,
  biasActivation,
  gatedActivation,
  type FusableActFn,
} from './biasActivation.js';
export { setFusedKernels, useFusedKernel } from './webgpuProgram.js';
