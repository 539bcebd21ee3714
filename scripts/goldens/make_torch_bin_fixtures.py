"""PyTorch `torch.save` checkpoints for lazylens's `.bin` reader tests.

Writes, under test/fixtures/:

- gpt2-tiny-bin/: config.json (copied) and pytorch_model.bin holding gpt2-tiny's safetensors
  weights, saved by torch.save as Hugging Face's `save_pretrained(safe_serialization=False)`
  would (an OrderedDict with `_metadata`), plus attention-mask buffers lazylens must skip.
- gpt2-tiny-bin-sharded/: the same weights in two shards behind pytorch_model.bin.index.json.
- torch-bin/dtypes.bin, views.bin: float32/float16/bfloat16/int32/int64 tensors, and views with
  storage offsets, transposed/stepped strides, stride 0 and storages shared between tensors;
  torch-bin/expected.json holds each tensor's row-major values (`.contiguous()`) and shape.
- torch-bin/legacy.bin: the pre-1.6 (non-zip) format, which the reader rejects.
- torch-bin/evil_system.bin, evil_eval.bin: state dicts with one entry whose unpickling runs
  os.system / builtins.eval (creating the file `lazylens-pwned-marker` in the working
  directory). The script checks in a scratch directory that torch.load really runs them.

Run from the repository root: /usr/bin/python3 scripts/goldens/make_torch_bin_fixtures.py
Deterministic (fixed seeds; torch.save writes no timestamps), except legacy.bin: the old format
names storages by Python object id, so its bytes change between runs.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import safetensors_io  # noqa: E402

FIXTURES = 'test/fixtures'
MARKER = 'lazylens-pwned-marker'


def hf_state_dict(tensors: dict[str, torch.Tensor]) -> collections.OrderedDict:
    sd = collections.OrderedDict(tensors)
    # nn.Module.state_dict() attaches per-module versions; torch.save pickles them with BUILD.
    sd._metadata = collections.OrderedDict({'': {'version': 1}, 'h.0.attn': {'version': 1}})
    return sd


def gpt2_bin() -> dict[str, torch.Tensor]:
    arrays, _ = safetensors_io.load(f'{FIXTURES}/gpt2-tiny/model.safetensors')
    tensors = {name: torch.from_numpy(a) for name, a in arrays.items()}
    n_ctx = json.load(open(f'{FIXTURES}/gpt2-tiny/config.json'))['n_ctx']
    out: dict[str, torch.Tensor] = {}
    for name, t in tensors.items():
        out[name] = t
        if name.endswith('attn.c_attn.weight'):
            # Old transformers saved the causal mask (bool) and masked_bias with the weights.
            prefix = name[: -len('c_attn.weight')]
            out[prefix + 'bias'] = torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool)).view(1, 1, n_ctx, n_ctx)
            out[prefix + 'masked_bias'] = torch.tensor(-1e4)
    return out


def write_gpt2_folders() -> None:
    tensors = gpt2_bin()
    single = f'{FIXTURES}/gpt2-tiny-bin'
    os.makedirs(single, exist_ok=True)
    shutil.copy(f'{FIXTURES}/gpt2-tiny/config.json', single)
    torch.save(hf_state_dict(tensors), f'{single}/pytorch_model.bin')

    sharded = f'{FIXTURES}/gpt2-tiny-bin-sharded'
    os.makedirs(sharded, exist_ok=True)
    shutil.copy(f'{FIXTURES}/gpt2-tiny/config.json', sharded)
    names = list(tensors)
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate([names[:half], names[half:]]):
        file = f'pytorch_model-0000{i + 1}-of-00002.bin'
        torch.save(hf_state_dict({n: tensors[n] for n in part}), f'{sharded}/{file}')
        weight_map.update({n: file for n in part})
    with open(f'{sharded}/pytorch_model.bin.index.json', 'w') as f:
        json.dump({'metadata': {'total_size': 0}, 'weight_map': weight_map}, f, indent=2)
        f.write('\n')

    # The bin must hold exactly the safetensors weights.
    back = torch.load(f'{single}/pytorch_model.bin')
    arrays, _ = safetensors_io.load(f'{FIXTURES}/gpt2-tiny/model.safetensors')
    for name, a in arrays.items():
        assert np.array_equal(back[name].numpy(), a), name
    print(f'wrote {single} and {sharded} ({len(arrays)} weights, {len(tensors) - len(arrays)} buffers)')


def expected_entry(t: torch.Tensor) -> dict:
    values = t.contiguous().to(torch.float32 if t.is_floating_point() else torch.int64).flatten().tolist()
    return {'shape': list(t.shape), 'values': values}


def write_tensor_files() -> None:
    out = f'{FIXTURES}/torch-bin'
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(20261129)
    dtypes = collections.OrderedDict(
        f32=torch.randn(3, 4, generator=g),
        f16=(torch.randn(5, generator=g) * 100).half(),
        bf16=(torch.randn(2, 3, generator=g) * 1e3).bfloat16(),
        i32=torch.tensor([[-7, 0], [2**31 - 1, -(2**31)]], dtype=torch.int32),
        i64=torch.arange(-3, 3, dtype=torch.int64),
        scalar=torch.tensor(1.5),
        empty=torch.zeros(0, 3),
    )
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    half_base = (torch.arange(12, dtype=torch.float32) / 8).half().reshape(3, 4)
    views = collections.OrderedDict(
        base=base,
        transposed=base.t(),
        block=base[1:3, 2:5],
        row=base[2],
        stepped=base[:, ::2],
        expanded=torch.tensor([1.0, 2.0, 3.0]).expand(2, 3),
        half_transposed=half_base.t(),
        bf16_column=half_base.bfloat16()[:, 1],
    )
    assert views['block'].storage_offset() == 8 and views['transposed'].stride() == (1, 6)
    assert views['expanded'].stride() == (0, 1)
    torch.save(dtypes, f'{out}/dtypes.bin')
    torch.save(views, f'{out}/views.bin')
    expected = {
        'dtypes': {k: expected_entry(v) for k, v in dtypes.items()},
        'views': {k: expected_entry(v) for k, v in views.items()},
    }
    with open(f'{out}/expected.json', 'w') as f:
        json.dump(expected, f)
        f.write('\n')
    torch.save(collections.OrderedDict(w=torch.ones(2)), f'{out}/legacy.bin', _use_new_zipfile_serialization=False)
    print(f'wrote {out}/dtypes.bin, views.bin, expected.json, legacy.bin')


class RunsSystem:
    def __reduce__(self):
        return (os.system, (f'touch {MARKER}',))


class RunsEval:
    def __reduce__(self):
        return (eval, (f"open('{MARKER}', 'w').close()",))


def write_malicious() -> None:
    out = f'{FIXTURES}/torch-bin'
    for name, payload in [('evil_system.bin', RunsSystem()), ('evil_eval.bin', RunsEval())]:
        path = os.path.abspath(f'{out}/{name}')
        torch.save(collections.OrderedDict(w=torch.ones(2), x=payload), path)
        # Prove the payload is live: an unrestricted torch.load creates the marker.
        with tempfile.TemporaryDirectory() as scratch:
            here = os.getcwd()
            os.chdir(scratch)
            try:
                torch.load(path)
                assert os.path.exists(MARKER), f'{name}: payload did not run under torch.load'
            finally:
                os.chdir(here)
        print(f'wrote {path}: torch.load runs its payload (checked in a scratch directory)')


if __name__ == '__main__':
    write_gpt2_folders()
    write_tensor_files()
    write_malicious()
