// getActName must stay byte-compatible with TransformerLens (outputs verified from its algorithm).
import { expect, it } from 'vitest';
import { describe } from 'vitest';
import { getActName } from '../../src/index.js';

const CASES: [Parameters<typeof getActName>, string][] = [
  [['embed'], 'hook_embed'],
  [['pos_embed'], 'hook_pos_embed'],
  [['tokens'], 'hook_tokens'],
  [['resid_pre', 0], 'blocks.0.hook_resid_pre'],
  [['attn_out', 2], 'blocks.2.hook_attn_out'],
  [['mlp_out', 2], 'blocks.2.hook_mlp_out'],
  [['k6'], 'blocks.6.attn.hook_k'],
  [['k', 6, 'a'], 'blocks.6.attn.hook_k'],
  [['attn', 1], 'blocks.1.attn.hook_pattern'],
  [['attn_logits', 0], 'blocks.0.attn.hook_attn_scores'],
  [['rot_q', 2], 'blocks.2.attn.hook_rot_q'],
  [['pre5'], 'blocks.5.mlp.hook_pre'],
  [['pre_linear', 1], 'blocks.1.mlp.hook_pre_linear'],
  [['mlp_pre', 2], 'blocks.2.mlp.hook_pre'],
  [['scale'], 'ln_final.hook_scale'],
  [['normalized'], 'ln_final.hook_normalized'],
  [['scale4ln1'], 'blocks.4.ln1.hook_scale'],
  [['normalized', 27, 'ln2'], 'blocks.27.ln2.hook_normalized'],
  [['scale0ln2'], 'blocks.0.ln2.hook_scale'],
  [['q_input', 2], 'blocks.2.hook_q_input'],
  [['attn_in', 1], 'blocks.1.hook_attn_in'],
  [['mlp_in', 1], 'blocks.1.hook_mlp_in'],
  [['resid_mid', 1, 'b'], 'blocks.1.hook_resid_mid'],
  [['z10'], 'blocks.10.attn.hook_z'],
  // TransformerLens's pitfalls, kept for compatibility (the cache's get() then fails loudly):
  [['scale', 3], 'blocks.3.hook_scale'],
  [['scale', null, 'ln_final'], 'ln_final.ln_final.hook_scale'],
  [['v', 0, 'ln1'], 'blocks.0.attn.hook_v'],
  [['attn_out3'], 'hook_attn_out3'],
  [['resid_pre5'], 'hook_resid_pre5'],
  [['foo', 2, 'mlp'], 'blocks.2.mlp.hook_foo'],
  [['blocks.3.attn.hook_z'], 'blocks.3.attn.hook_z'],
  [['hook_embed'], 'hook_embed'],
];

describe('getActName', () => {
  it.each(CASES)('%j → %s', (args, want) => {
    expect(getActName(...args)).toBe(want);
  });
});
