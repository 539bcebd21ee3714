#!/usr/bin/python3
"""Generate the GPT-Neo, GPT-NeoX and Llama golden fixtures for lazylens.

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_family_goldens.py

Writes, for each family F in neo, neox, llama:
  test/fixtures/F-tiny/          a random-weight 2-layer model in Hugging Face layout
                                 (config.json, model.safetensors; neo and neox also get a copy of
                                 gpt2-tiny's tokenizer.json / tokenizer_config.json)
  test/fixtures/F-tiny-golden/   raw.safetensors, processed.safetensors, meta.json

Each golden file holds `tokens` [2,8], `logits`, `loss`, every TL hook activation (hook_result
included) under its TL name, and the TL state dict as `state.<name>`; `raw` is
from_pretrained_no_processing, `processed` is from_pretrained's defaults. The reference maths is
scripts/goldens/family_reference.py (float64, stored as float32); each raw model is checked
against an independent forward pass in the Hugging Face modules' own structure.
Deterministic: numpy's legacy RandomState.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import family_reference as ref  # noqa: E402
import gpt_like_families  # noqa: E402
import gpt_like_reference as gpref  # noqa: E402
import llama_like_families  # noqa: E402
import llama_like_reference as llref  # noqa: E402
import safetensors_io  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
FIXTURES = os.path.join(REPO, 'test', 'fixtures')
COMMAND = '/usr/bin/python3 scripts/goldens/make_family_goldens.py'
SEED = 20261129
D, LAYERS, HEADS, N_CTX, POS = 64, 2, 4, 32, 8
GPT2_VOCAB = 304  # gpt2-tiny's tokenizer, shared by the neo and neox fixtures


def families() -> dict[str, tuple[ref.Cfg, dict]]:
    dh = D // HEADS
    neo = ref.Cfg(
        n_layers=LAYERS, d_model=D, n_heads=HEADS, d_head=dh, d_mlp=4 * D, d_vocab=GPT2_VOCAB, n_ctx=N_CTX,
        eps=1e-5, norm='LN', act='gelu_new', attn_scale=False, attn_types=('global', 'local'), window=3,
    )  # fmt: skip
    neo_json = {
        'architectures': ['GPTNeoForCausalLM'], 'model_type': 'gpt_neo', 'activation_function': 'gelu_new',
        'attention_types': [[['global', 'local'], 1]], 'attention_layers': ['global', 'local'],
        'hidden_size': D, 'num_heads': HEADS, 'num_layers': LAYERS, 'intermediate_size': None,
        'max_position_embeddings': N_CTX, 'window_size': 3, 'layer_norm_epsilon': 1e-5,
        'vocab_size': GPT2_VOCAB, 'bos_token_id': 303, 'eos_token_id': 303, 'tie_word_embeddings': True,
        'torch_dtype': 'float32',
    }  # fmt: skip
    neox = ref.Cfg(
        n_layers=LAYERS, d_model=D, n_heads=HEADS, d_head=dh, d_mlp=4 * D, d_vocab=GPT2_VOCAB, n_ctx=N_CTX,
        eps=1e-5, norm='LN', act='gelu', positional='rotary', rotary_dim=dh // 4, rotary_base=10000.0,
        parallel=True,
    )  # fmt: skip
    neox_json = {
        'architectures': ['GPTNeoXForCausalLM'], 'model_type': 'gpt_neox', 'hidden_act': 'gelu',
        'hidden_size': D, 'num_attention_heads': HEADS, 'num_hidden_layers': LAYERS, 'intermediate_size': 4 * D,
        'max_position_embeddings': N_CTX, 'rotary_pct': 0.25, 'rotary_emb_base': 10000,
        'layer_norm_eps': 1e-5, 'use_parallel_residual': True, 'vocab_size': GPT2_VOCAB,
        'bos_token_id': 303, 'eos_token_id': 303, 'tie_word_embeddings': False, 'torch_dtype': 'float32',
    }  # fmt: skip
    llama = ref.Cfg(
        n_layers=LAYERS, d_model=D, n_heads=HEADS, d_head=dh, d_mlp=96, d_vocab=128, n_ctx=N_CTX, eps=1e-6,
        norm='RMS', act='silu', positional='rotary', rotary_dim=dh, rotary_base=10000.0, gated=True,
        n_kv_heads=2,
    )  # fmt: skip
    llama_json = {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'hidden_act': 'silu', 'hidden_size': D,
        'num_attention_heads': HEADS, 'num_key_value_heads': 2, 'num_hidden_layers': LAYERS,
        'intermediate_size': 96, 'max_position_embeddings': N_CTX, 'rms_norm_eps': 1e-6, 'rope_theta': 10000.0,
        'rope_scaling': None, 'attention_bias': True, 'mlp_bias': False, 'vocab_size': 128,
        'bos_token_id': 1, 'eos_token_id': 2, 'tie_word_embeddings': False, 'torch_dtype': 'float32',
    }  # fmt: skip
    return {'neo': (neo, neo_json), 'neox': (neox, neox_json), 'llama': (llama, llama_json)}


def make_weights(name: str, cfg: ref.Cfg, rng: np.random.RandomState) -> dict[str, np.ndarray]:
    d, m, V, h, dh = cfg.d_model, cfg.d_mlp, cfg.d_vocab, cfg.n_heads, cfg.d_head
    g = cfg.n_kv_heads or h

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm_w():
        return rng.uniform(0.3, 2.0, size=(d,)).astype(np.float32)

    w: dict[str, np.ndarray] = {}
    if name == 'neo':
        P = 'transformer.'
        w[P + 'wte.weight'] = normal((V, d), 0.3)
        w[P + 'wpe.weight'] = normal((cfg.n_ctx, d), 0.2)
        for i in range(cfg.n_layers):
            p = f'{P}h.{i}.'
            w[p + 'ln_1.weight'], w[p + 'ln_1.bias'] = norm_w(), normal((d,), 0.3)
            for proj in ('q_proj', 'k_proj', 'v_proj'):
                w[p + f'attn.attention.{proj}.weight'] = normal((d, d), 0.15)
            w[p + 'attn.attention.out_proj.weight'] = normal((d, d), 0.15)
            w[p + 'attn.attention.out_proj.bias'] = normal((d,), 0.3)
            w[p + 'ln_2.weight'], w[p + 'ln_2.bias'] = norm_w(), normal((d,), 0.3)
            w[p + 'mlp.c_fc.weight'], w[p + 'mlp.c_fc.bias'] = normal((m, d), 0.15), normal((m,), 0.3)
            w[p + 'mlp.c_proj.weight'], w[p + 'mlp.c_proj.bias'] = normal((d, m), 0.1), normal((d,), 0.3)
        w[P + 'ln_f.weight'], w[P + 'ln_f.bias'] = norm_w(), normal((d,), 0.3)
    elif name == 'neox':
        P = 'gpt_neox.'
        w[P + 'embed_in.weight'] = normal((V, d), 0.3)
        for i in range(cfg.n_layers):
            p = f'{P}layers.{i}.'
            w[p + 'input_layernorm.weight'], w[p + 'input_layernorm.bias'] = norm_w(), normal((d,), 0.3)
            w[p + 'post_attention_layernorm.weight'] = norm_w()
            w[p + 'post_attention_layernorm.bias'] = normal((d,), 0.3)
            w[p + 'attention.query_key_value.weight'] = normal((3 * d, d), 0.15)
            w[p + 'attention.query_key_value.bias'] = normal((3 * d,), 0.3)
            w[p + 'attention.dense.weight'], w[p + 'attention.dense.bias'] = normal((d, d), 0.15), normal((d,), 0.3)
            w[p + 'mlp.dense_h_to_4h.weight'] = normal((m, d), 0.15)
            w[p + 'mlp.dense_h_to_4h.bias'] = normal((m,), 0.3)
            w[p + 'mlp.dense_4h_to_h.weight'] = normal((d, m), 0.1)
            w[p + 'mlp.dense_4h_to_h.bias'] = normal((d,), 0.3)
            # a buffer old checkpoints carry; the converter must ignore it
            w[p + 'attention.rotary_emb.inv_freq'] = (
                1.0 / 10000 ** (np.arange(0, cfg.rotary_dim, 2) / cfg.rotary_dim)
            ).astype(np.float32)
        w[P + 'final_layer_norm.weight'], w[P + 'final_layer_norm.bias'] = norm_w(), normal((d,), 0.3)
        w['embed_out.weight'] = normal((V, d), 0.3)
    else:
        P = 'model.'
        w[P + 'embed_tokens.weight'] = normal((V, d), 0.5)
        for i in range(cfg.n_layers):
            p = f'{P}layers.{i}.'
            w[p + 'input_layernorm.weight'] = norm_w()
            for proj, heads in (('q_proj', h), ('k_proj', g), ('v_proj', g)):
                w[p + f'self_attn.{proj}.weight'] = normal((heads * dh, d), 0.15)
                w[p + f'self_attn.{proj}.bias'] = normal((heads * dh,), 0.3)
            w[p + 'self_attn.o_proj.weight'] = normal((d, h * dh), 0.15)
            w[p + 'self_attn.o_proj.bias'] = normal((d,), 0.3)
            w[p + 'post_attention_layernorm.weight'] = norm_w()
            w[p + 'mlp.gate_proj.weight'] = normal((m, d), 0.15)
            w[p + 'mlp.up_proj.weight'] = normal((m, d), 0.15)
            w[p + 'mlp.down_proj.weight'] = normal((d, m), 0.15)
        w[P + 'norm.weight'] = norm_w()
        w['lm_head.weight'] = normal((V, d), 0.3)
    return w


def f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).numpy()


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    fin = torch.isfinite(a) & torch.isfinite(b)
    assert torch.equal(torch.isfinite(a), torch.isfinite(b))
    return float((a[fin] - b[fin]).abs().max())


def write_json(path: str, obj) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write('\n')


def all_families() -> dict[str, tuple[ref.Cfg, dict]]:
    # New families go last: each family's seed is SEED + its index, so the older fixtures stay.
    return {**families(), **llama_like_families.families(), **gpt_like_families.families()}


def main() -> None:
    torch.set_grad_enabled(False)
    only = set(sys.argv[1:])  # optional: family names to (re)generate
    llama_like = llama_like_families.families()
    hf_forward = {'neo': ref.hf_neo_forward, 'neox': ref.hf_neox_forward, 'llama': ref.hf_llama_forward}
    to_tl = {'neo': ref.neo_to_tl, 'neox': ref.neox_to_tl, 'llama': ref.llama_to_tl}
    for name, (_, hf_json) in llama_like.items():
        hf_forward[name] = lambda hf, tokens, cfg, j=hf_json: llref.hf_llama_like_forward(hf, tokens, cfg, j)
        arch = hf_json['architectures'][0]
        if arch.startswith('Gemma'):
            to_tl[name] = lambda hf, cfg, v2=(arch == 'Gemma2ForCausalLM'): llref.gemma_to_tl(hf, cfg, v2)
        elif arch == 'Phi3ForCausalLM':
            to_tl[name] = llref.phi3_to_tl
        else:
            to_tl[name] = ref.llama_to_tl
    hf_forward.update(gptj=gpref.hf_gptj_forward, opt=gpref.hf_opt_forward, bloom=gpref.hf_bloom_forward)
    to_tl.update(gptj=gpref.gptj_to_tl, opt=gpref.opt_to_tl, bloom=gpref.bloom_to_tl)
    gpt_like = gpt_like_families.families()
    for index, (name, (cfg, hf_json)) in enumerate(all_families().items()):
        if only and name not in only:
            continue
        model_dir = os.path.join(FIXTURES, f'{name}-tiny')
        golden_dir = os.path.join(FIXTURES, f'{name}-tiny-golden')
        os.makedirs(model_dir, exist_ok=True)
        os.makedirs(golden_dir, exist_ok=True)
        rng = np.random.RandomState(SEED + index)
        if name in llama_like:
            hf_np = llama_like_families.make_weights(name, cfg, rng)
        elif name in gpt_like:
            hf_np = gpt_like_families.make_weights(name, cfg, rng)
        else:
            hf_np = make_weights(name, cfg, rng)
        write_json(os.path.join(model_dir, 'config.json'), hf_json)
        safetensors_io.save(os.path.join(model_dir, 'model.safetensors'), hf_np, {'format': 'pt'})
        if name in ('neo', 'neox'):
            for f in ('tokenizer.json', 'tokenizer_config.json'):
                shutil.copyfile(os.path.join(FIXTURES, 'gpt2-tiny', f), os.path.join(model_dir, f))

        tokens = torch.tensor(rng.randint(0, cfg.d_vocab, size=(2, POS)), dtype=torch.int64)
        hf = {k: torch.from_numpy(v).to(torch.float64) for k, v in hf_np.items()}
        raw_sd = to_tl[name](hf, cfg)
        raw_logits, raw_cache = ref.run_with_cache(raw_sd, tokens, cfg)
        proc_sd, _ = ref.process_weights(raw_sd, cfg)
        proc_sd = {k: v.to(torch.float32).to(torch.float64) for k, v in proc_sd.items()}
        proc_logits, proc_cache = ref.run_with_cache(proc_sd, tokens, cfg)
        assert list(raw_cache) == ref.hook_names(cfg) == list(proc_cache)

        lsm = lambda x: torch.log_softmax(x, dim=-1)  # noqa: E731
        checks = {
            'raw logits vs independent HF-structured forward': max_abs(raw_logits, hf_forward[name](hf, tokens, cfg)),
            'log_softmax(logits): processed vs raw': max_abs(lsm(proc_logits), lsm(raw_logits)),
        }
        e_sum = 0.0
        for layer in range(cfg.n_layers):
            t = f'blocks.{layer}.'
            c = raw_cache
            mid = c[t + 'hook_resid_pre'] + c[t + 'hook_attn_out']
            if not cfg.parallel:
                e_sum = max(e_sum, max_abs(mid, c[t + 'hook_resid_mid']))
            e_sum = max(e_sum, max_abs(mid + c[t + 'hook_mlp_out'], c[t + 'hook_resid_post']))
        checks['raw: resid_pre + attn_out (+ mlp_out) == resid_mid / resid_post'] = e_sum
        assert checks['raw logits vs independent HF-structured forward'] < 1e-9, checks
        assert checks['log_softmax(logits): processed vs raw'] < 1e-4, checks
        assert e_sum < 1e-9, checks

        def golden(sd, logits, cache):
            out = {'tokens': tokens.to(torch.int32).numpy(), 'logits': f32(logits)}
            out['loss'] = f32(ref.lm_cross_entropy_loss(logits, tokens).reshape(()))
            for hook in ref.hook_names(cfg):
                out[hook] = f32(cache[hook])
            for k, v in sd.items():
                out['state.' + k] = f32(v)
            return out

        for variant, sd, logits, cache in (
            ('raw', raw_sd, raw_logits, raw_cache),
            ('processed', proc_sd, proc_logits, proc_cache),
        ):
            safetensors_io.save(
                os.path.join(golden_dir, f'{variant}.safetensors'),
                golden(sd, logits, cache),
                {'format': 'lazylens-golden', 'variant': variant, 'command': COMMAND},
            )
        write_json(
            os.path.join(golden_dir, 'meta.json'),
            {
                'description': f'Golden activations for test/fixtures/{name}-tiny (random weights), from '
                'scripts/goldens/family_reference.py: TransformerLens semantics, float64, stored as float32.',
                'command': COMMAND,
                'seed': SEED + index,
                'torch_version': torch.__version__,
                'tl_config': cfg.__dict__,
                'tokens': tokens.tolist(),
                'hook_names': ref.hook_names(cfg),
                'processing': {
                    'raw': 'none',
                    'processed': 'fold_ln, center_writing_weights (LN only), center_unembed, fold_value_biases',
                },
                'checks_max_abs_err': checks,
            },
        )
        print(f'{name}: ' + ', '.join(f'{k}={v:.2e}' for k, v in checks.items()))


if __name__ == '__main__':
    main()
