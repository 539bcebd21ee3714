#!/usr/bin/python3
"""Goldens for the activation-patching presets (src/patching) on the gpt2-tiny fixture (RAW model).

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_patch_presets_golden.py

Clean input: prompt 0 of the golden batch; corrupted input: prompt 1 (both 8 tokens, each run as a
batch of one). The metric is the logit difference at the last position,
logits[0, -1, ANSWER] - logits[0, -1, WRONG], where ANSWER is the clean run's top next token and
WRONG the corrupted run's (the metadata records both ids).

For every index of a preset, the corrupted prompt is run with a forward hook that copies the clean
activation's slice at that index into the corrupted activation (a fresh clone each time), and the
metric is read from the logits. The loops are written out plainly below, one patched run per index:

  resid_pre / attn_out / mlp_out  [layer, pos]       x[:, pos] = clean[:, pos]
  z_all_pos, v_all_pos            [layer, head]      x[:, :, head] = clean[:, :, head]
  z_by_pos, v_by_pos              [layer, pos, head] x[:, pos, head] = clean[:, pos, head]
  pattern_all_pos                 [layer, head]      x[:, head] = clean[:, head]
  pattern_by_pos                  [layer, head, dest] x[:, head, dest] = clean[:, head, dest]

Writes test/fixtures/gpt2-tiny-golden/patch_presets.safetensors (F32, one tensor per preset, plus
`clean_metric` and `corrupt_metric` as [1]).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True

import itertools  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
import tl_reference as tl  # noqa: E402
from golden_common import GOLDEN_DIR, REPO, f32, load_fixture  # noqa: E402

COMMAND = '/usr/bin/python3 scripts/goldens/make_patch_presets_golden.py'

# name -> (hook suffix after blocks.L., index axes after layer, how an index selects the slice)
PRESETS = {
    'resid_pre': ('hook_resid_pre', ('pos',), lambda i: (slice(None), i[0])),
    'attn_out': ('hook_attn_out', ('pos',), lambda i: (slice(None), i[0])),
    'mlp_out': ('hook_mlp_out', ('pos',), lambda i: (slice(None), i[0])),
    'z_all_pos': ('attn.hook_z', ('head',), lambda i: (slice(None), slice(None), i[0])),
    'z_by_pos': ('attn.hook_z', ('pos', 'head'), lambda i: (slice(None), i[0], i[1])),
    'v_all_pos': ('attn.hook_v', ('head',), lambda i: (slice(None), slice(None), i[0])),
    'v_by_pos': ('attn.hook_v', ('pos', 'head'), lambda i: (slice(None), i[0], i[1])),
    'pattern_all_pos': ('attn.hook_pattern', ('head',), lambda i: (slice(None), i[0])),
    'pattern_by_pos': ('attn.hook_pattern', ('head', 'dest'), lambda i: (slice(None), i[0], i[1])),
}


def main() -> None:
    torch.set_grad_enabled(False)
    fx = load_fixture()
    cfg, sd, tokens = fx.cfg, fx.raw_sd, fx.tokens
    clean_tokens, corrupt_tokens = tokens[0:1], tokens[1:2]
    pos = tokens.shape[1]

    clean_logits, clean_cache = tl.run_with_cache(sd, clean_tokens, cfg)
    corrupt_logits, _ = tl.run_with_cache(sd, corrupt_tokens, cfg)
    answer = int(clean_logits[0, -1].argmax())
    wrong = int(corrupt_logits[0, -1].argmax())
    if wrong == answer:
        wrong = int(corrupt_logits[0, -1].topk(2).indices[1])

    def metric(logits: torch.Tensor) -> float:
        return float(logits[0, -1, answer] - logits[0, -1, wrong])

    sizes = {'pos': pos, 'dest': pos, 'head': cfg.n_heads}
    out: dict[str, np.ndarray] = {}
    for name, (suffix, axes, select) in PRESETS.items():
        shape = (cfg.n_layers, *(sizes[a] for a in axes))
        values = np.zeros(shape, dtype=np.float64)
        for layer in range(cfg.n_layers):
            hook_name = f'blocks.{layer}.{suffix}'
            clean = clean_cache[hook_name]
            for idx in itertools.product(*(range(sizes[a]) for a in axes)):
                where = select(idx)

                def patch(x, where=where, clean=clean):
                    x = x.clone()
                    x[where] = clean[where]
                    return x

                logits, _ = tl.run_with_cache(sd, corrupt_tokens, cfg, hooks={hook_name: patch})
                values[(layer, *idx)] = metric(logits)
        out[name] = values.astype(np.float32)

    clean_metric, corrupt_metric = metric(clean_logits), metric(corrupt_logits)
    out['clean_metric'] = np.array([clean_metric], dtype=np.float32)
    out['corrupt_metric'] = np.array([corrupt_metric], dtype=np.float32)

    # The patches must move the metric, or the goldens check nothing.
    for name in PRESETS:
        assert np.abs(out[name] - corrupt_metric).max() > 1e-3, name

    path = os.path.join(GOLDEN_DIR, 'patch_presets.safetensors')
    safetensors_io.save(
        path,
        out,
        {
            'format': 'lazylens-golden',
            'variant': 'raw',
            'command': COMMAND,
            'clean': 'prompt 0 of the golden batch (batch of one)',
            'corrupt': 'prompt 1 of the golden batch (batch of one)',
            'answer': str(answer),
            'wrong': str(wrong),
            'metric': 'logits[0, -1, answer] - logits[0, -1, wrong] of the patched corrupted run',
        },
    )
    back, _ = safetensors_io.load(path)
    assert all(np.array_equal(back[k], v) for k, v in out.items())
    print(f'answer {answer}, wrong {wrong}: clean {clean_metric:.4f}, corrupt {corrupt_metric:.4f}')
    for k, v in out.items():
        print(f'{k:>16} {list(v.shape)}  range [{v.min():.4f}, {v.max():.4f}]')
    print(f'{os.path.getsize(path):>9}  {os.path.relpath(path, REPO)}')


if __name__ == '__main__':
    main()
