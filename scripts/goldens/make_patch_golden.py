#!/usr/bin/python3
"""Activation-patching goldens for the gpt2-tiny fixture (RAW, unprocessed model).

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_patch_golden.py
(also run at the end of make_gpt2_golden.py).

Writes test/fixtures/gpt2-tiny-golden/patch.safetensors:
  patch.logits_L1H2            F32 [1,8,304]  prompt 1 (row 1 of the golden batch, run as a batch of
                                              one) with head 2 of blocks.1.attn.hook_z replaced, at
                                              every position, by head 2 of prompt 0's clean z (prompt
                                              0 run as a batch of one); heads 0, 1, 3 untouched.
  patch.logits_resid_pre1_pos3 F32 [1,8,304]  prompt 1 with blocks.1.hook_resid_pre at position 3
                                              replaced by prompt 0's clean value there.

The patch is a forward hook on tl_reference.run_with_cache (the value returned by the hook flows
downstream, as with TL's fwd_hooks). Cross-checked against an independent recomputation of block 1
and the unembed from the cached activations.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True

import math  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
import tl_reference as tl  # noqa: E402
from golden_common import GOLDEN_DIR, REPO, f32, load_fixture  # noqa: E402

COMMAND = '/usr/bin/python3 scripts/goldens/make_patch_golden.py'
LAYER, HEAD, POS = 1, 2, 3


def manual_block_and_unembed(sd, cfg, resid_pre, z_override_head=None):
    """Independent recomputation (flattened heads, F.layer_norm, F.gelu) of block LAYER and the
    unembed from that block's resid_pre [1,p,d]. z_override_head: [1,p,dh] replacing head HEAD's z."""
    F = torch.nn.functional
    t = f'blocks.{LAYER}.'
    d, h, dh = cfg.d_model, cfg.n_heads, cfg.d_head
    p = resid_pre.shape[1]
    x = F.layer_norm(resid_pre, (d,), sd[t + 'ln1.w'], sd[t + 'ln1.b'], cfg.eps)
    qs = [x @ sd[t + f'attn.W_{n}'][i] + sd[t + f'attn.b_{n}'][i] for n in 'QKV' for i in range(h)]
    mask = torch.ones(p, p, dtype=torch.bool).tril()
    zs = []
    for i in range(h):
        q, k, v = qs[i], qs[h + i], qs[2 * h + i]
        att = (q @ k.transpose(-1, -2) / math.sqrt(dh)).masked_fill(~mask, float('-inf')).softmax(-1)
        zs.append(att @ v)
    if z_override_head is not None:
        zs[HEAD] = z_override_head
    z_flat = torch.cat(zs, dim=-1)  # [1,p,h*dh]
    mid = resid_pre + z_flat @ sd[t + 'attn.W_O'].reshape(h * dh, d) + sd[t + 'attn.b_O']
    m = F.layer_norm(mid, (d,), sd[t + 'ln2.w'], sd[t + 'ln2.b'], cfg.eps)
    m = F.gelu(m @ sd[t + 'mlp.W_in'] + sd[t + 'mlp.b_in'], approximate='tanh')
    post = mid + m @ sd[t + 'mlp.W_out'] + sd[t + 'mlp.b_out']
    assert LAYER == cfg.n_layers - 1
    xf = F.layer_norm(post, (d,), sd['ln_final.w'], sd['ln_final.b'], cfg.eps)
    return xf @ sd['unembed.W_U'] + sd['unembed.b_U']


def main() -> dict[str, float]:
    torch.set_grad_enabled(False)
    fx = load_fixture()
    cfg, sd, tokens = fx.cfg, fx.raw_sd, fx.tokens
    z_name = f'blocks.{LAYER}.attn.hook_z'
    r_name = f'blocks.{LAYER}.hook_resid_pre'

    clean0_logits, clean0 = tl.run_with_cache(sd, tokens[0:1], cfg)
    clean1_logits, clean1 = tl.run_with_cache(sd, tokens[1:2], cfg)
    batch_logits, _ = tl.run_with_cache(sd, tokens, cfg)

    def patch_head(z):
        z = z.clone()
        z[:, :, HEAD, :] = clean0[z_name][:, :, HEAD, :]
        return z

    def patch_pos(x):
        x = x.clone()
        x[:, POS, :] = clean0[r_name][:, POS, :]
        return x

    head_logits, head_cache = tl.run_with_cache(sd, tokens[1:2], cfg, hooks={z_name: patch_head})
    pos_logits, _ = tl.run_with_cache(sd, tokens[1:2], cfg, hooks={r_name: patch_pos})
    ident_logits, _ = tl.run_with_cache(sd, tokens[1:2], cfg, hooks={z_name: lambda z: z, r_name: lambda x: x})

    mx = lambda a, b: float((a - b).abs().max())  # noqa: E731
    checks = {
        'batch-of-one runs == rows of the batched run (logits)': max(
            mx(clean0_logits[0], batch_logits[0]), mx(clean1_logits[0], batch_logits[1])
        ),
        'identity hooks leave logits unchanged': mx(ident_logits, clean1_logits),
        'L1H2 patch: only head 2 of the cached z changed': mx(
            head_cache[z_name][:, :, [0, 1, 3]], clean1[z_name][:, :, [0, 1, 3]]
        ),
        'L1H2 patch == independent recomputation of block 1 + unembed': mx(
            head_logits,
            manual_block_and_unembed(sd, cfg, clean1[r_name], clean0[z_name][:, :, HEAD, :]),
        ),
        'independent recomputation reproduces clean prompt-1 logits': mx(
            manual_block_and_unembed(sd, cfg, clean1[r_name]), clean1_logits
        ),
        'resid_pre1 pos3 patch: positions < 3 unchanged (causality)': mx(
            pos_logits[:, :POS], clean1_logits[:, :POS]
        ),
        'resid_pre1 pos3 patch == independent recomputation of block 1 + unembed': mx(
            pos_logits, manual_block_and_unembed(sd, cfg, patch_pos(clean1[r_name]))
        ),
    }
    for k, v in checks.items():
        assert v <= 1e-10, f'patch identity failed: {k}: {v}'
    # the patches must actually do something
    assert mx(head_logits, clean1_logits) > 1e-3 and mx(pos_logits[:, POS:], clean1_logits[:, POS:]) > 1e-3

    out = {'patch.logits_L1H2': f32(head_logits), 'patch.logits_resid_pre1_pos3': f32(pos_logits)}
    path = os.path.join(GOLDEN_DIR, 'patch.safetensors')
    safetensors_io.save(
        path,
        out,
        {
            'format': 'lazylens-golden',
            'variant': 'raw',
            'command': COMMAND,
            'patch.logits_L1H2': f'prompt 1 (batch of one) with {z_name}[:, :, {HEAD}] replaced by prompt 0 '
            f'clean {z_name}[:, :, {HEAD}] (all positions)',
            'patch.logits_resid_pre1_pos3': f'prompt 1 (batch of one) with {r_name}[:, {POS}] replaced by prompt 0 '
            f'clean {r_name}[:, {POS}]',
        },
    )
    back, _ = safetensors_io.load(path)
    assert all(np.array_equal(back[k], v) for k, v in out.items())
    for k, v in checks.items():
        print(f'{v:.3e}  {k}')
    print(f'{os.path.getsize(path):>9}  {os.path.relpath(path, REPO)}')
    return checks


if __name__ == '__main__':
    main()
