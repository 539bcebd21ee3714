"""Shared loading for the golden scripts that build on the gpt2-tiny fixtures.

`make_gpt2_golden.py` writes the checkpoint and the raw/processed goldens; the later scripts
(`make_patch_golden.py`, `make_cache_golden.py`) reload the checked-in checkpoint from disk, rebuild
the raw and processed state dicts exactly as `make_gpt2_golden.py` does (float32 HF tensors ->
float64 -> TL layout; processed = process_weights then rounded to float32), and assert that their
forward pass reproduces the stored goldens bit for bit after rounding to float32.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch

import safetensors_io
import tl_reference as tl
from make_gpt2_golden import GOLDEN_DIR, MODEL_DIR, REPO, f32, f32_roundtrip, write_json  # noqa: F401


@dataclass
class Fixture:
    cfg: tl.Cfg
    tokens: torch.Tensor  # int64 [2, 8], the golden batch
    raw_sd: dict[str, torch.Tensor]
    proc_sd: dict[str, torch.Tensor]
    meta: dict


def load_fixture() -> Fixture:
    with open(os.path.join(MODEL_DIR, 'config.json'), encoding='utf-8') as f:
        hc = json.load(f)
    d, h = hc['n_embd'], hc['n_head']
    cfg = tl.Cfg(
        n_layers=hc['n_layer'],
        d_model=d,
        n_heads=h,
        d_head=d // h,
        d_mlp=hc['n_inner'] or 4 * d,
        d_vocab=hc['vocab_size'],
        n_ctx=hc['n_positions'],
        eps=hc['layer_norm_epsilon'],
    )
    hf_np, _ = safetensors_io.load(os.path.join(MODEL_DIR, 'model.safetensors'))
    hf = {k: torch.from_numpy(v).to(torch.float64) for k, v in hf_np.items()}
    with open(os.path.join(GOLDEN_DIR, 'meta.json'), encoding='utf-8') as f:
        meta = json.load(f)
    tokens = torch.tensor(meta['prompts']['tokens'], dtype=torch.int64)
    raw_sd = tl.hf_to_tl(hf, cfg)
    proc_sd = f32_roundtrip(tl.process_weights(raw_sd, cfg))

    # The rebuilt models must reproduce the stored goldens exactly (after float32 rounding).
    for name, sd in (('raw', raw_sd), ('processed', proc_sd)):
        stored, _ = safetensors_io.load(os.path.join(GOLDEN_DIR, f'{name}.safetensors'))
        assert np.array_equal(stored['tokens'], tokens.numpy().astype(np.int32))
        logits, cache = tl.run_with_cache(sd, tokens, cfg)
        assert np.array_equal(stored['logits'], f32(logits)), f'{name}: logits differ from stored golden'
        for k, v in cache.items():
            assert np.array_equal(stored[k], f32(v)), f'{name}: {k} differs from stored golden'
    return Fixture(cfg=cfg, tokens=tokens, raw_sd=raw_sd, proc_sd=proc_sd, meta=meta)
