#!/usr/bin/python3
"""Gradient goldens (TransformerLens's run_with_cache(incl_bwd=True)) for the gpt2-tiny fixture.

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_grad_golden.py

Writes test/fixtures/gpt2-tiny-golden/grads.safetensors, from the RAW (unprocessed) model on the
golden batch of two prompts:
  ld.<hook name>_grad    the gradient of the logit difference
                         sum_b (logits[b, -1, ANSWER] - logits[b, -1, WRONG])
                         with respect to every hook activation (float64 autograd, stored as float32)
  loss.<hook name>_grad  the gradient of the mean next-token cross-entropy loss, for resid_pre,
                         attn_out, mlp_out and z of every layer

The activations come from tl_reference.run_with_cache (TransformerLens semantics); torch's autograd
gives each one's total derivative (retain_grad on the hooked tensor), which is what a backward hook
on TL's HookPoint sees. Cross-checked here by central finite differences on a few entries.
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import torch  # noqa: E402

import safetensors_io  # noqa: E402
import tl_reference as tl  # noqa: E402
from golden_common import GOLDEN_DIR, f32, load_fixture  # noqa: E402

ANSWER, WRONG = 5, 7
LOSS_HOOKS = ('hook_resid_pre', 'hook_attn_out', 'hook_mlp_out', 'attn.hook_z')


def logit_diff(logits: torch.Tensor) -> torch.Tensor:
    return (logits[:, -1, ANSWER] - logits[:, -1, WRONG]).sum()


def mean_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    lp = logits[:, :-1].log_softmax(-1)
    return -lp.gather(-1, tokens[:, 1:, None]).mean()


def grads_of(sd, tokens, cfg, metric):
    """{hook name: d metric / d activation} through every hook point."""
    leaf = {k: v.clone().requires_grad_(True) for k, v in sd.items()}
    logits, cache = tl.run_with_cache(leaf, tokens, cfg)
    for t in cache.values():
        t.retain_grad()
    metric(logits).backward()
    return {k: v.grad.detach().clone() for k, v in cache.items()}


def finite_difference_check(sd, tokens, cfg, grads) -> None:
    """Perturbs one entry of a few activations by ±h through a patching hook and compares."""
    h = 1e-6

    def metric_with(name, idx, delta):
        def patch(x):
            x = x.clone()
            x[idx] += delta
            return x

        logits, _ = tl.run_with_cache(sd, tokens, cfg, hooks={name: patch})
        return logit_diff(logits).item()

    for name, idx in (('blocks.0.hook_resid_pre', (1, 3, 5)), ('blocks.1.attn.hook_z', (0, 7, 2, 4))):
        num = (metric_with(name, idx, h) - metric_with(name, idx, -h)) / (2 * h)
        got = grads[name][idx].item()
        assert abs(num - got) < 1e-6 * max(1.0, abs(num)), (name, num, got)


def main() -> None:
    fx = load_fixture()
    cfg, tokens, sd = fx.cfg, fx.tokens, fx.raw_sd
    ld = grads_of(sd, tokens, cfg, logit_diff)
    loss = grads_of(sd, tokens, cfg, lambda lg: mean_loss(lg, tokens))
    finite_difference_check(sd, tokens, cfg, ld)
    out = {'tokens': tokens.numpy().astype('int32')}
    for name, g in ld.items():
        out[f'ld.{name}_grad'] = f32(g)
    for name, g in loss.items():
        if name.endswith(LOSS_HOOKS):
            out[f'loss.{name}_grad'] = f32(g)
    path = os.path.join(GOLDEN_DIR, 'grads.safetensors')
    safetensors_io.save(
        path,
        out,
        {'command': '/usr/bin/python3 scripts/goldens/make_grad_golden.py', 'answer': str(ANSWER), 'wrong': str(WRONG)},
    )
    print(f'wrote {path}: {len(out)} tensors; finite-difference check passed')


if __name__ == '__main__':
    main()
