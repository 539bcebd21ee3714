#!/usr/bin/python3
"""Generate the GPT-2 golden fixtures for lazylens.

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_gpt2_golden.py

Writes
  test/fixtures/gpt2-tiny/          a random-weight 2-layer GPT-2 in Hugging Face layout
                                    (config.json, model.safetensors, tokenizer.json,
                                    tokenizer_config.json)
  test/fixtures/gpt2-tiny-golden/   raw.safetensors, processed.safetensors, meta.json
and then runs make_patch_golden.py (patch.safetensors) and make_cache_golden.py
(cache_cases.json, cache_goldens.safetensors), which reload those files.

Deterministic: weights come from numpy's legacy RandomState (stable across numpy versions);
the reference maths runs in float64 and results are stored as float32.
See scripts/goldens/README.md.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # keep scripts/goldens free of __pycache__

import json  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
import tl_reference as tl  # noqa: E402
from bpe_tokenizer import EOT, ByteLevelBPE  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
MODEL_DIR = os.path.join(REPO, 'test', 'fixtures', 'gpt2-tiny')
GOLDEN_DIR = os.path.join(REPO, 'test', 'fixtures', 'gpt2-tiny-golden')
COMMAND = '/usr/bin/python3 scripts/goldens/make_gpt2_golden.py'

SEED = 20261128
N_LAYER, N_EMBD, N_HEAD, N_POS = 2, 64, 4, 32
EPS = 1e-5

PROMPT_TEXT = 'The cat sat on the mat.'
PROMPT_LEN = 8
TOKENIZER_STRINGS = [
    'The cat sat on the mat.',
    'Hello world',
    'The dog ran in the park, and the cat sat.',
    "  hello  world\n\nit's 42!",
    'x<|endoftext|>y',
    'héllo ü 日本',
]


def _dumps(obj, indent: int = 0) -> str:
    """JSON with 2-space indentation, but lists of scalars (and of such lists) kept on one line."""

    def flat(x) -> bool:
        return not isinstance(x, dict) and (not isinstance(x, list) or all(flat(y) for y in x))

    pad, inner = '  ' * indent, '  ' * (indent + 1)
    if isinstance(obj, dict) and obj:
        items = [f'{inner}{json.dumps(k, ensure_ascii=False)}: {_dumps(v, indent + 1)}' for k, v in obj.items()]
        return '{\n' + ',\n'.join(items) + '\n' + pad + '}'
    if isinstance(obj, list) and obj and not flat(obj):
        return '[\n' + ',\n'.join(inner + _dumps(v, indent + 1) for v in obj) + '\n' + pad + ']'
    return json.dumps(obj, ensure_ascii=False, separators=(', ', ': '))


def write_json(path: str, obj, compact_lists: bool = False) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.write(_dumps(obj) if compact_lists else json.dumps(obj, indent=2, ensure_ascii=False))
        f.write('\n')


def make_hf_weights(rng: np.random.RandomState, vocab: int) -> dict[str, np.ndarray]:
    d, m = N_EMBD, 4 * N_EMBD

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def ln_weight():
        return rng.uniform(0.3, 2.0, size=(d,)).astype(np.float32)

    w: dict[str, np.ndarray] = {
        'wte.weight': normal((vocab, d), 0.3),
        'wpe.weight': normal((N_POS, d), 0.2),
    }
    for i in range(N_LAYER):
        p = f'h.{i}.'
        w[p + 'ln_1.weight'] = ln_weight()
        w[p + 'ln_1.bias'] = normal((d,), 0.3)
        w[p + 'attn.c_attn.weight'] = normal((d, 3 * d), 0.15)
        w[p + 'attn.c_attn.bias'] = normal((3 * d,), 0.3)
        w[p + 'attn.c_proj.weight'] = normal((d, d), 0.15)
        w[p + 'attn.c_proj.bias'] = normal((d,), 0.3)
        w[p + 'ln_2.weight'] = ln_weight()
        w[p + 'ln_2.bias'] = normal((d,), 0.3)
        w[p + 'mlp.c_fc.weight'] = normal((d, m), 0.15)
        w[p + 'mlp.c_fc.bias'] = normal((m,), 0.3)
        w[p + 'mlp.c_proj.weight'] = normal((m, d), 0.1)
        w[p + 'mlp.c_proj.bias'] = normal((d,), 0.3)
    w['ln_f.weight'] = ln_weight()
    w['ln_f.bias'] = normal((d,), 0.3)
    return w


def hf_config(vocab: int, eot_id: int) -> dict:
    return {
        'activation_function': 'gelu_new',
        'architectures': ['GPT2LMHeadModel'],
        'attn_pdrop': 0.1,
        'bos_token_id': eot_id,
        'embd_pdrop': 0.1,
        'eos_token_id': eot_id,
        'initializer_range': 0.02,
        'layer_norm_epsilon': EPS,
        'model_type': 'gpt2',
        'n_ctx': N_POS,
        'n_embd': N_EMBD,
        'n_head': N_HEAD,
        'n_inner': None,
        'n_layer': N_LAYER,
        'n_positions': N_POS,
        'reorder_and_upcast_attn': False,
        'resid_pdrop': 0.1,
        'scale_attn_by_inverse_layer_idx': False,
        'scale_attn_weights': True,
        'summary_activation': None,
        'summary_first_dropout': 0.1,
        'summary_proj_to_labels': True,
        'summary_type': 'cls_index',
        'summary_use_proj': True,
        'tie_word_embeddings': True,
        'torch_dtype': 'float32',
        'use_cache': True,
        'vocab_size': vocab,
    }


def f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).numpy()


def f32_roundtrip(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Round a float64 state dict to float32 (what is stored) and back to float64."""
    return {k: v.to(torch.float32).to(torch.float64) for k, v in sd.items()}


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def main() -> None:
    torch.set_grad_enabled(False)
    os.makedirs(MODEL_DIR, exist_ok=True)
    os.makedirs(GOLDEN_DIR, exist_ok=True)

    # ---------------- tokenizer ----------------
    tok = ByteLevelBPE()
    tok.self_check()
    vocab, eot = tok.vocab_size, tok.eot_id
    write_json(os.path.join(MODEL_DIR, 'tokenizer.json'), tok.tokenizer_json())
    write_json(os.path.join(MODEL_DIR, 'tokenizer_config.json'), tok.tokenizer_config_json(N_POS))

    # ---------------- checkpoint ----------------
    rng = np.random.RandomState(SEED)
    hf_np = make_hf_weights(rng, vocab)
    write_json(os.path.join(MODEL_DIR, 'config.json'), hf_config(vocab, eot))
    safetensors_io.save(os.path.join(MODEL_DIR, 'model.safetensors'), hf_np, {'format': 'pt'})
    back, _ = safetensors_io.load(os.path.join(MODEL_DIR, 'model.safetensors'))
    assert all(np.array_equal(back[k], v) for k, v in hf_np.items())

    cfg = tl.Cfg(
        n_layers=N_LAYER,
        d_model=N_EMBD,
        n_heads=N_HEAD,
        d_head=N_EMBD // N_HEAD,
        d_mlp=4 * N_EMBD,
        d_vocab=vocab,
        n_ctx=N_POS,
        eps=EPS,
    )
    hf = {k: torch.from_numpy(v).to(torch.float64) for k, v in hf_np.items()}

    # ---------------- prompts ----------------
    text_ids = tok.encode(PROMPT_TEXT)
    assert len(text_ids) == PROMPT_LEN - 1, (text_ids, tok.tokens(text_ids))
    # Second prompt: BOS + 7 ids drawn deterministically from the non-special vocab, restricted to
    # tokens made of printable ASCII bytes so the decoded text is exact.
    ascii_ids = [
        i
        for t, i in tok.vocab.items()
        if i != eot and all(32 <= b < 127 for b in tok.decode([i]).encode('utf-8'))
    ]
    prompt_rng = np.random.RandomState(SEED + 1)
    rand_ids = [int(x) for x in prompt_rng.choice(ascii_ids, size=PROMPT_LEN - 1, replace=False)]
    token_rows = [[eot] + text_ids, [eot] + rand_ids]
    tokens = torch.tensor(token_rows, dtype=torch.int64)

    # ---------------- raw model ----------------
    raw_sd = tl.hf_to_tl(hf, cfg)
    raw_logits, raw_cache = tl.run_with_cache(raw_sd, tokens, cfg)
    raw_loss = tl.lm_cross_entropy_loss(raw_logits, tokens)
    checks: dict[str, float] = {}
    checks['raw logits vs independent HF-layout forward'] = max_abs(raw_logits, tl.hf_forward(hf, tokens, cfg))

    # ---------------- processed model ----------------
    proc_sd = f32_roundtrip(tl.process_weights(raw_sd, cfg))
    proc_logits, proc_cache = tl.run_with_cache(proc_sd, tokens, cfg)
    proc_loss = tl.lm_cross_entropy_loss(proc_logits, tokens)
    assert list(raw_cache) == tl.hook_names(cfg) == list(proc_cache)

    # ---------------- identities ----------------
    lsm = lambda x: torch.log_softmax(x, dim=-1)  # noqa: E731
    checks['log_softmax(logits): processed vs raw'] = max_abs(lsm(proc_logits), lsm(raw_logits))
    checks['loss: processed vs raw'] = abs(float(proc_loss - raw_loss))
    for label, sd, cache in (('raw', raw_sd, raw_cache), ('processed', proc_sd, proc_cache)):
        e_attn = e_mid = e_post = e_pat = e_direct = 0.0
        for layer in range(cfg.n_layers):
            t = f'blocks.{layer}.'
            e_attn = max(
                e_attn,
                max_abs(cache[t + 'attn.hook_result'].sum(2) + sd[t + 'attn.b_O'], cache[t + 'hook_attn_out']),
            )
            # attn_out straight from z with the heads flattened, as HF's c_proj computes it
            z = cache[t + 'attn.hook_z']
            direct = z.reshape(*z.shape[:2], -1) @ sd[t + 'attn.W_O'].reshape(-1, cfg.d_model)
            e_direct = max(e_direct, max_abs(direct + sd[t + 'attn.b_O'], cache[t + 'hook_attn_out']))
            e_mid = max(
                e_mid, max_abs(cache[t + 'hook_resid_pre'] + cache[t + 'hook_attn_out'], cache[t + 'hook_resid_mid'])
            )
            e_post = max(
                e_post, max_abs(cache[t + 'hook_resid_mid'] + cache[t + 'hook_mlp_out'], cache[t + 'hook_resid_post'])
            )
            e_pat = max(e_pat, max_abs(cache[t + 'attn.hook_pattern'].sum(-1), torch.ones(1, dtype=torch.float64)))
        checks[f'{label}: sum_h hook_result + b_O == hook_attn_out'] = e_attn
        checks[f'{label}: resid_pre + attn_out == resid_mid'] = e_mid
        checks[f'{label}: resid_mid + mlp_out == resid_post'] = e_post
        checks[f'{label}: pattern rows sum to 1'] = e_pat
        checks[f'{label}: z(flattened heads) @ W_O + b_O == hook_attn_out'] = e_direct
    # processed vs raw, hook by hook
    center = lambda x: x - x.mean(-1, keepdim=True)  # noqa: E731
    e_resid = e_scale = e_norm = e_qk = e_pat = e_mlp = 0.0
    for name in tl.hook_names(cfg):
        r, p = raw_cache[name], proc_cache[name]
        if name.endswith(('resid_pre', 'resid_mid', 'resid_post')):
            e_resid = max(e_resid, max_abs(center(r), p))
        elif name.endswith('hook_scale'):
            e_scale = max(e_scale, max_abs(r, p))
        elif name.endswith('hook_normalized'):
            ln = name[: -len('hook_normalized')]
            w, b = raw_sd[ln + 'w'], raw_sd[ln + 'b']
            e_norm = max(e_norm, max_abs(r, p * w + b))
        elif name.endswith(('hook_q', 'hook_k', 'hook_attn_scores')):
            fin = torch.isfinite(r)
            assert torch.equal(fin, torch.isfinite(p))
            e_qk = max(e_qk, max_abs(r[fin], p[fin]))
        elif name.endswith('hook_pattern'):
            e_pat = max(e_pat, max_abs(r, p))
        elif name.endswith(('mlp.hook_pre', 'mlp.hook_post')):
            e_mlp = max(e_mlp, max_abs(r, p))
    checks['processed resid_* == center_d(raw resid_*)'] = e_resid
    checks['processed ln*.hook_scale == raw'] = e_scale
    checks['raw hook_normalized == processed hook_normalized * w + b'] = e_norm
    checks['processed q, k, attn_scores == raw (finite entries)'] = e_qk
    checks['processed pattern == raw'] = e_pat
    checks['processed mlp pre/post == raw'] = e_mlp

    tol = {
        'log_softmax(logits): processed vs raw': 1e-4,
        'loss: processed vs raw': 1e-4,
    }
    for k, v in checks.items():
        limit = tol.get(k, 1e-4 if ('processed' in k and 'raw' in k) or 'HF' in k else 1e-9)
        assert v <= limit, f'identity failed: {k}: {v} > {limit}'

    # ---------------- write goldens ----------------
    def golden(sd, logits, loss, cache) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {'tokens': tokens.to(torch.int32).numpy()}
        out['logits'] = f32(logits)
        out['loss'] = f32(loss.reshape(()))
        for name in tl.hook_names(cfg):
            out[name] = f32(cache[name])
        for k, v in sd.items():
            out['state.' + k] = f32(v)
        return out

    raw_out = golden(raw_sd, raw_logits, raw_loss, raw_cache)
    proc_out = golden(proc_sd, proc_logits, proc_loss, proc_cache)

    # The same identities on the stored float32 tensors (what the TS tests read), evaluated in
    # float64: these bound the tolerances TS tests need.
    stored: dict[str, float] = {}
    T = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))  # noqa: E731
    stored['log_softmax(logits): processed vs raw'] = max_abs(
        lsm(T(proc_out['logits'])), lsm(T(raw_out['logits']))
    )
    for label, out in (('raw', raw_out), ('processed', proc_out)):
        e_attn = e_mid = e_post = 0.0
        for layer in range(cfg.n_layers):
            t = f'blocks.{layer}.'
            e_attn = max(
                e_attn,
                max_abs(
                    T(out[t + 'attn.hook_result']).sum(2) + T(out['state.' + t + 'attn.b_O']),
                    T(out[t + 'hook_attn_out']),
                ),
            )
            e_mid = max(
                e_mid, max_abs(T(out[t + 'hook_resid_pre']) + T(out[t + 'hook_attn_out']), T(out[t + 'hook_resid_mid']))
            )
            e_post = max(
                e_post, max_abs(T(out[t + 'hook_resid_mid']) + T(out[t + 'hook_mlp_out']), T(out[t + 'hook_resid_post']))
            )
        stored[f'{label}: sum_h hook_result + b_O == hook_attn_out'] = e_attn
        stored[f'{label}: resid_pre + attn_out == resid_mid'] = e_mid
        stored[f'{label}: resid_mid + mlp_out == resid_post'] = e_post
    for k, v in stored.items():
        assert v <= 1e-4, f'stored identity failed: {k}: {v}'
    for name, out, flags in (
        ('raw', raw_out, 'none'),
        ('processed', proc_out, 'fold_ln,center_writing_weights,center_unembed,fold_value_biases'),
    ):
        safetensors_io.save(
            os.path.join(GOLDEN_DIR, f'{name}.safetensors'),
            out,
            {'format': 'lazylens-golden', 'variant': name, 'processing': flags, 'command': COMMAND},
        )
        back, _ = safetensors_io.load(os.path.join(GOLDEN_DIR, f'{name}.safetensors'))
        assert list(back) == list(out)
        assert all(np.array_equal(back[k], v, equal_nan=True) for k, v in out.items())

    expected_tokens = []
    for s in TOKENIZER_STRINGS:
        ids = tok.encode(s)
        expected_tokens.append({'text': s, 'ids': ids, 'tokens': tok.tokens(ids), 'decoded': tok.decode(ids)})

    meta = {
        'description': 'Golden activations for the random-weight test/fixtures/gpt2-tiny model, '
        'computed by a from-scratch PyTorch reference with TransformerLens semantics (float64 maths, '
        'stored as float32).',
        'command': COMMAND,
        'generator': 'scripts/goldens/make_gpt2_golden.py',
        'seed': SEED,
        'torch_version': torch.__version__,
        'numpy_version': np.__version__,
        'model_dir': 'test/fixtures/gpt2-tiny',
        'cfg': {
            'n_layers': cfg.n_layers,
            'd_model': cfg.d_model,
            'n_heads': cfg.n_heads,
            'd_head': cfg.d_head,
            'd_mlp': cfg.d_mlp,
            'd_vocab': cfg.d_vocab,
            'n_ctx': cfg.n_ctx,
            'eps': cfg.eps,
            'act_fn': 'gelu_new',
            'normalization_type': {'raw': 'LN', 'processed': 'LNPre'},
            'attn_scale': cfg.d_head**0.5,
        },
        'tokenizer': {
            'vocab_size': vocab,
            'n_merges': len(tok.merges),
            'bos_token': EOT,
            'bos_token_id': eot,
            'eos_token_id': eot,
            'expected_tokens': expected_tokens,
        },
        'prompts': {
            'batch': len(token_rows),
            'pos': PROMPT_LEN,
            'tokens': token_rows,
            'str_tokens': [tok.tokens(r) for r in token_rows],
            'text': [tok.decode(r) for r in token_rows],
            'notes': 'Row 0 is BOS + encode("The cat sat on the mat."); row 1 is BOS + 7 random '
            'printable-ASCII vocab ids (its text need not re-encode to the same ids).',
        },
        'files': {
            'raw.safetensors': 'HookedTransformer.from_pretrained_no_processing semantics: '
            'LN with affine, b_U = 0, W_U = W_E^T.',
            'processed.safetensors': 'from_pretrained defaults: fold_ln, center_writing_weights, '
            'center_unembed, fold_value_biases (in that order); LNPre (no ln*.w/b in the state).',
        },
        'hook_names': tl.hook_names(cfg),
        'tensor_names': {
            'tokens': 'int32 [b,p]',
            'logits': 'float32 [b,p,V]',
            'loss': "float32 [] (0-d): mean next-token cross-entropy over positions 0..p-2 (TL lm_cross_entropy_loss)",
            '<hook name>': 'float32, exact TL cache key, TL shape',
            'state.<TL param name>': 'float32, TL state_dict name and layout',
        },
        'shapes': {
            'raw': {k: list(v.shape) for k, v in raw_out.items()},
            'processed': {k: list(v.shape) for k, v in proc_out.items()},
        },
        'conventions': [
            'blocks.L.attn.hook_attn_scores holds -inf at masked (k > q) entries, as in TL.',
            'blocks.L.attn.hook_result [b,p,h,d] = z_h @ W_O[h] without b_O (TL: only with use_attn_result=True).',
            'ln*.hook_scale [b,p,1] = sqrt(mean_d((x - mean_d x)^2) + eps) (biased variance).',
            'ln*.hook_normalized is after w,b in raw (LN) and without affine in processed (LNPre).',
            'hook_pos_embed is W_pos[:p] broadcast to [b,p,d].',
            'The processed state is rounded to float32 before its forward pass, so processed '
            'activations are the float64 forward of exactly the stored weights.',
        ],
        'identities_max_abs_err': {'float64_reference': checks, 'stored_float32': stored},
        'raw_loss': float(raw_loss),
        'processed_loss': float(proc_loss),
    }
    write_json(os.path.join(GOLDEN_DIR, 'meta.json'), meta, compact_lists=True)

    for k, v in checks.items():
        print(f'{v:.3e}  {k}')
    print('-- on the stored float32 tensors:')
    for k, v in stored.items():
        print(f'{v:.3e}  {k}')
    print(f'vocab_size={vocab} bos_id={eot} raw_loss={float(raw_loss):.6f} processed_loss={float(proc_loss):.6f}')
    for d in (MODEL_DIR, GOLDEN_DIR):
        for f in sorted(os.listdir(d)):
            print(f'{os.path.getsize(os.path.join(d, f)):>9}  {os.path.relpath(os.path.join(d, f), REPO)}')

    # Derived goldens: they reload the files just written (each script also runs on its own).
    import make_cache_golden
    import make_patch_golden

    print('-- make_patch_golden.py')
    make_patch_golden.main()
    print('-- make_cache_golden.py')
    make_cache_golden.main()


if __name__ == '__main__':
    main()
