#!/usr/bin/python3
"""Circuit goldens: factored matrices, OV/QK circuits, composition scores and head detection.

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_circuits_golden.py

Writes test/fixtures/circuits-golden/circuits.safetensors and meta.json. The model is the
processed random-weight gpt2-tiny fixture (rebuilt and checked by golden_common.load_fixture);
everything is computed densely in float64 (the products formed, torch.linalg's SVD and eig), the
straightforward way the lazylens code avoids, and stored as float32.

Eigenvalue order: torch.linalg.eig's order is unspecified, so the values are stored sorted by
descending modulus, then real part, then imaginary part; the test matches them as a multiset.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True

import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
import tl_reference as tl  # noqa: E402
from golden_common import REPO, f32, load_fixture, write_json  # noqa: E402

COMMAND = '/usr/bin/python3 scripts/goldens/make_circuits_golden.py'
OUT_DIR = os.path.join(REPO, 'test', 'fixtures', 'circuits-golden')
SEED = 20261130


def stacked(sd: dict[str, torch.Tensor], name: str, n_layers: int) -> torch.Tensor:
    return torch.stack([sd[f'blocks.{layer}.attn.{name}'] for layer in range(n_layers)])


def sorted_eigs(m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues [..., n] of square matrices, sorted as documented above."""
    ev = torch.linalg.eigvals(m)
    flat = ev.reshape(-1, ev.shape[-1])
    re_out, im_out = [], []
    for row in flat.tolist():
        row = sorted(row, key=lambda z: (-abs(z), -z.real, -z.imag))
        re_out.append([z.real for z in row])
        im_out.append([z.imag for z in row])
    shape = ev.shape
    return (
        torch.tensor(re_out, dtype=torch.float64).reshape(shape),
        torch.tensor(im_out, dtype=torch.float64).reshape(shape),
    )


def comp_scores(left: torch.Tensor, right: torch.Tensor, n_layers: int) -> torch.Tensor:
    """Dense composition scores [L, H, L, H]: ||left_i right_j|| / (||left_i|| ||right_j||), zero unless l_i < l_j."""
    prod = torch.einsum('ahij,bgjk->ahbgik', left, right)
    scores = torch.linalg.matrix_norm(prod) / (
        torch.linalg.matrix_norm(left)[:, :, None, None] * torch.linalg.matrix_norm(right)[None, None, :, :]
    )
    layers = torch.arange(n_layers)
    mask = layers[:, None, None, None] < layers[None, None, :, None]
    return torch.where(mask, scores, torch.zeros_like(scores))


# ---- detect_head, re-derived from TransformerLens's documented semantics ----
def previous_token_pattern(tokens: list[int]) -> torch.Tensor:
    n = len(tokens)
    return torch.diag(torch.ones(n - 1, dtype=torch.float64), -1)


def duplicate_token_pattern(tokens: list[int]) -> torch.Tensor:
    t = torch.tensor(tokens)
    eq = (t[:, None] == t[None, :]).to(torch.float64)
    eq.fill_diagonal_(0)
    return torch.tril(eq)


def induction_pattern(tokens: list[int]) -> torch.Tensor:
    dup = duplicate_token_pattern(tokens)
    shifted = torch.zeros_like(dup)
    shifted[:, 1:] = dup[:, :-1]
    return torch.tril(shifted)


PATTERNS = {
    'previousTokenHead': previous_token_pattern,
    'duplicateTokenHead': duplicate_token_pattern,
    'inductionHead': induction_pattern,
}


def similarity(att: torch.Tensor, det: torch.Tensor, exclude_bos: bool, exclude_current: bool, measure: str) -> float:
    att = att.clone()
    if measure == 'mul':
        if exclude_bos:
            att[:, 0] = 0
        if exclude_current:
            att.fill_diagonal_(0)
        return float((att * det).sum() / att.sum())
    diff = (att - det).abs()
    assert float((diff - torch.tril(diff)).sum()) == 0
    if exclude_bos:
        diff[:, 0] = 0
    if exclude_current:
        diff.fill_diagonal_(0)
    return 1 - round(float(diff.mean() * len(diff)), 3)


def main() -> None:
    fx = load_fixture()
    cfg, sd = fx.cfg, fx.proc_sd
    L = cfg.n_layers
    W_Q, W_K, W_V, W_O = (stacked(sd, n, L) for n in ('W_Q', 'W_K', 'W_V', 'W_O'))
    ov = W_V @ W_O
    qk = W_Q @ W_K.transpose(-2, -1)
    out: dict[str, np.ndarray] = {}
    out['ov'] = f32(ov)
    out['qk'] = f32(qk)
    for name, (m, a, b) in {'ov': (ov, W_V, W_O), 'qk': (qk, W_Q, W_K.transpose(-2, -1))}.items():
        out[f'{name}.svals'] = f32(torch.linalg.svdvals(m)[..., : cfg.d_head])
        out[f'{name}.norm'] = f32(torch.linalg.matrix_norm(m))
        re, im = sorted_eigs(b @ a)
        out[f'{name}.eig.real'] = f32(re)
        out[f'{name}.eig.imag'] = f32(im)
    out['comp.Q'] = f32(comp_scores(ov, qk, L))
    out['comp.K'] = f32(comp_scores(ov, qk.transpose(-2, -1), L))
    out['comp.V'] = f32(comp_scores(ov, ov, L))

    # A standalone factored matrix with leading dims, and a square one with complex eigenvalues.
    rng = np.random.RandomState(SEED)
    A = torch.from_numpy(rng.standard_normal((2, 3, 7, 4)))
    B = torch.from_numpy(rng.standard_normal((2, 3, 4, 6)))
    out['fm.A'] = f32(A)
    out['fm.B'] = f32(B)
    A = torch.from_numpy(out['fm.A']).to(torch.float64)
    B = torch.from_numpy(out['fm.B']).to(torch.float64)
    out['fm.AB'] = f32(A @ B)
    out['fm.svals'] = f32(torch.linalg.svdvals(A @ B)[..., :4])
    out['fm.norm'] = f32(torch.linalg.matrix_norm(A @ B))
    C = torch.from_numpy(rng.standard_normal((6, 5))).to(torch.float32).to(torch.float64)
    out['fm.C'] = f32(C)
    out['fm.ABC'] = f32(A @ B @ C)
    Sa = torch.from_numpy(rng.standard_normal((5, 3))).to(torch.float32).to(torch.float64)
    Sb = torch.from_numpy(rng.standard_normal((3, 5))).to(torch.float32).to(torch.float64)
    out['sq.A'] = f32(Sa)
    out['sq.B'] = f32(Sb)
    re, im = sorted_eigs(Sb @ Sa)
    out['sq.eig.real'] = f32(re)
    out['sq.eig.imag'] = f32(im)

    # Head detection on a repeated random sequence (BOS, 7 tokens, the same 7 again).
    words = [int(x) for x in rng.choice(np.arange(1, 300), size=7, replace=False)]
    tokens = [cfg.d_vocab - 1] + words + words
    _, cache = tl.run_with_cache(sd, torch.tensor([tokens]), cfg)
    cases = []
    for pname, make in PATTERNS.items():
        det = make(tokens)
        for measure in ('mul', 'abs'):
            for exclude_bos, exclude_current in ((False, False), (True, False), (True, True)):
                scores = torch.empty(L, cfg.n_heads, dtype=torch.float64)
                for layer in range(L):
                    pat = cache[f'blocks.{layer}.attn.hook_pattern'][0]
                    for h in range(cfg.n_heads):
                        scores[layer, h] = similarity(pat[h], det, exclude_bos, exclude_current, measure)
                key = f'detect.{pname}.{measure}.{int(exclude_bos)}{int(exclude_current)}'
                out[key] = f32(scores)
                cases.append(
                    {'key': key, 'pattern': pname, 'errorMeasure': measure,
                     'excludeBos': exclude_bos, 'excludeCurrentToken': exclude_current}
                )
        out[f'pattern.{pname}'] = f32(make(tokens))

    # Identities the reference itself must satisfy.
    U, S, Vh = torch.linalg.svd(ov)
    assert torch.allclose(torch.linalg.matrix_norm(ov), S.pow(2).sum(-1).sqrt())
    assert torch.allclose(comp_scores(ov, qk, L), comp_scores(ov * 3.0, qk * 0.5, L))

    os.makedirs(OUT_DIR, exist_ok=True)
    safetensors_io.save(os.path.join(OUT_DIR, 'circuits.safetensors'), out)
    write_json(
        os.path.join(OUT_DIR, 'meta.json'),
        {
            'description': 'Circuit goldens for the processed gpt2-tiny fixture and two random factored matrices: '
            'dense float64 PyTorch products, SVDs, eigenvalues, norms, composition scores and detect_head scores.',
            'command': COMMAND,
            'generator': 'scripts/goldens/make_circuits_golden.py',
            'seed': SEED,
            'torch_version': torch.__version__,
            'tokens': tokens,
            'detect_cases': cases,
        },
    )
    print(f'wrote {len(out)} tensors to {os.path.relpath(OUT_DIR, REPO)}')


if __name__ == '__main__':
    main()
