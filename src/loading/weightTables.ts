/** Every family's weight table, keyed by the architecture name of `HF_ARCHITECTURES` (hfConfig.ts). */
import { GPT2_WEIGHTS } from './convertGpt2.js';
import { GPT_NEO_WEIGHTS } from './convertGptNeo.js';
import { GPT_NEOX_WEIGHTS } from './convertGptNeoX.js';
import { GPTJ_WEIGHTS } from './convertGptJ.js';
import { OPT_WEIGHTS } from './convertOpt.js';
import { BLOOM_WEIGHTS } from './convertBloom.js';
import { GEMMA2_WEIGHTS, GEMMA_WEIGHTS } from './convertGemma.js';
import { LLAMA_WEIGHTS, MISTRAL_WEIGHTS, QWEN2_WEIGHTS } from './convertLlama.js';
import { PHI3_WEIGHTS } from './convertPhi3.js';
import type { WeightTable } from './weightTable.js';

/** The weight table of each supported Hugging Face architecture. */
export const WEIGHT_TABLES: Readonly<Record<string, WeightTable>> = {
  GPT2LMHeadModel: GPT2_WEIGHTS,
  GPTNeoForCausalLM: GPT_NEO_WEIGHTS,
  GPTNeoXForCausalLM: GPT_NEOX_WEIGHTS,
  LlamaForCausalLM: LLAMA_WEIGHTS,
  Qwen2ForCausalLM: QWEN2_WEIGHTS,
  MistralForCausalLM: MISTRAL_WEIGHTS,
  Phi3ForCausalLM: PHI3_WEIGHTS,
  GemmaForCausalLM: GEMMA_WEIGHTS,
  Gemma2ForCausalLM: GEMMA2_WEIGHTS,
  GPTJForCausalLM: GPTJ_WEIGHTS,
  BloomForCausalLM: BLOOM_WEIGHTS,
  OPTForCausalLM: OPT_WEIGHTS,
};
