#!/usr/bin/python3
"""Gradient goldens (TransformerLens's run_with_cache(incl_bwd=True)) for family fixtures.

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_family_grad_golden.py

For llama (RMSNorm, rotary, grouped keys/values, gated MLP) and neox (LayerNorm, partial rotary,
parallel attention and MLP), writes test/fixtures/F-tiny-golden/grads.safetensors: `tokens` and,
for every hook activation of the RAW model on the golden batch, `ld.<hook name>_grad`, the gradient
of sum_b (logits[b, -1, ANSWER] - logits[b, -1, WRONG]). The state dict is the float32 one stored in
raw.safetensors (what the TypeScript test loads), promoted to float64; the forward is
family_reference.run_with_cache (TL semantics), the gradient torch's autograd on each hooked tensor
(make_grad_golden.py cross-checks this construction by finite differences on gpt2-tiny).
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import family_reference as ref  # noqa: E402
import safetensors_io  # noqa: E402
from make_family_goldens import FIXTURES, families, f32  # noqa: E402

ANSWER, WRONG = 5, 7
FAMILIES = ('llama', 'neox')


def logit_diff(logits: torch.Tensor) -> torch.Tensor:
    return (logits[:, -1, ANSWER] - logits[:, -1, WRONG]).sum()


def main() -> None:
    cfgs = families()
    for name in FAMILIES:
        cfg = cfgs[name][0]
        golden_dir = os.path.join(FIXTURES, f'{name}-tiny-golden')
        raw, _ = safetensors_io.load(os.path.join(golden_dir, 'raw.safetensors'))
        tokens = torch.from_numpy(raw['tokens']).to(torch.int64)
        sd = {k[6:]: torch.from_numpy(v).to(torch.float64) for k, v in raw.items() if k.startswith('state.')}
        leaf = {k: v.clone().requires_grad_(True) for k, v in sd.items()}
        logits, cache = ref.run_with_cache(leaf, tokens, cfg)
        for t in cache.values():
            t.retain_grad()
        logit_diff(logits).backward()
        grads = {k: v.grad.detach().clone() for k, v in cache.items()}

        out = {'tokens': raw['tokens']}
        for k, g in grads.items():
            out[f'ld.{k}_grad'] = f32(g)
        safetensors_io.save(
            os.path.join(golden_dir, 'grads.safetensors'),
            out,
            {'command': '/usr/bin/python3 scripts/goldens/make_family_grad_golden.py', 'answer': str(ANSWER), 'wrong': str(WRONG)},
        )
        print(f'{name}: {len(grads)} gradients')


if __name__ == '__main__':
    main()
