"""Tiny random configurations and weights of the Llama-shaped families beyond Llama (Llama 3.x,
Qwen2, Mistral, Gemma, Gemma 2, Phi-3), in Hugging Face layout, for make_family_goldens.py.
Small on purpose (d_model 32, 2 layers, vocab 64); each exercises what sets its family apart:
llama3 all three rope_scaling bands (and a tied head), qwen2 q/k/v biases, mistral a 3-token
window, gemma d_head != d_model / n_heads with one key/value head, gemma2 both soft caps,
query_pre_attn_scalar and alternating windows, phi3 fused qkv and gate_up with a window.
"""

from __future__ import annotations

import numpy as np

import family_reference as ref

D, LAYERS, HEADS, N_CTX, VOCAB, MLP = 32, 2, 4, 32, 64, 48


def _json(arch: str, model_type: str, **extra) -> dict:
    base = {
        'architectures': [arch], 'model_type': model_type, 'hidden_size': D, 'num_attention_heads': HEADS,
        'num_hidden_layers': LAYERS, 'intermediate_size': MLP, 'max_position_embeddings': N_CTX,
        'rms_norm_eps': 1e-6, 'rope_theta': 10000.0, 'vocab_size': VOCAB, 'bos_token_id': 1, 'eos_token_id': 2,
        'tie_word_embeddings': False, 'torch_dtype': 'float32',
    }  # fmt: skip
    base.update(extra)
    return base


def _cfg(dh: int, kv: int | None, act: str = 'silu', **extra) -> ref.Cfg:
    return ref.Cfg(
        n_layers=LAYERS, d_model=D, n_heads=HEADS, d_head=dh, d_mlp=MLP, d_vocab=VOCAB, n_ctx=N_CTX, eps=1e-6,
        norm='RMS', act=act, positional='rotary', rotary_dim=dh, gated=True, n_kv_heads=kv, **extra,
    )  # fmt: skip


def families() -> dict[str, tuple[ref.Cfg, dict]]:
    dh = D // HEADS
    llama3_scaling = {
        'rope_type': 'llama3', 'factor': 8.0, 'low_freq_factor': 1.0, 'high_freq_factor': 4.0,
        'original_max_position_embeddings': 64,
    }  # fmt: skip
    return {
        'llama3': (
            _cfg(dh, 2, ntk=(8.0, 1.0, 4.0, 64)),
            _json('LlamaForCausalLM', 'llama', hidden_act='silu', num_key_value_heads=2,
                  rope_scaling=llama3_scaling, tie_word_embeddings=True),
        ),  # fmt: skip
        'qwen2': (
            _cfg(dh, 2, rotary_base=1000000.0),
            _json('Qwen2ForCausalLM', 'qwen2', hidden_act='silu', num_key_value_heads=2, rope_theta=1000000.0,
                  use_sliding_window=False, sliding_window=32),
        ),  # fmt: skip
        'mistral': (
            _cfg(dh, 2, attn_types=('local', 'local'), window=3),
            _json('MistralForCausalLM', 'mistral', hidden_act='silu', num_key_value_heads=2, sliding_window=3),
        ),  # fmt: skip
        'gemma': (
            _cfg(16, 1, act='gelu_new'),
            _json('GemmaForCausalLM', 'gemma', hidden_act='gelu', hidden_activation='gelu_pytorch_tanh',
                  num_key_value_heads=1, head_dim=16, tie_word_embeddings=True),
        ),  # fmt: skip
        'gemma2': (
            _cfg(16, 2, act='gelu_new', attn_types=('local', 'global'), window=3, attn_scale_value=24**0.5,
                 attn_softcap=2.0, logit_softcap=5.0, post_norms=True),
            _json('Gemma2ForCausalLM', 'gemma2', hidden_activation='gelu_pytorch_tanh', num_key_value_heads=2,
                  head_dim=16, query_pre_attn_scalar=24, attn_logit_softcapping=2.0,
                  final_logit_softcapping=5.0, sliding_window=3, tie_word_embeddings=True),
        ),  # fmt: skip
        'phi3': (
            _cfg(dh, 2, attn_types=('local', 'local'), window=5),
            _json('Phi3ForCausalLM', 'phi3', hidden_act='silu', num_key_value_heads=2, sliding_window=5),
        ),  # fmt: skip
    }


def make_weights(name: str, cfg: ref.Cfg, rng: np.random.RandomState) -> dict[str, np.ndarray]:
    d, m, V, h, dh = cfg.d_model, cfg.d_mlp, cfg.d_vocab, cfg.n_heads, cfg.d_head
    g = cfg.n_kv_heads or h

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm_w():
        # Gemma stores w for a (1 + w) gain: centre it on 0 rather than 1
        lo, hi = (-0.7, 1.0) if name.startswith('gemma') else (0.3, 2.0)
        return rng.uniform(lo, hi, size=(d,)).astype(np.float32)

    P = 'model.'
    w: dict[str, np.ndarray] = {P + 'embed_tokens.weight': normal((V, d), 0.5 if not name.startswith('gemma') else 0.1)}
    for i in range(cfg.n_layers):
        p = f'{P}layers.{i}.'
        w[p + 'input_layernorm.weight'] = norm_w()
        if name == 'phi3':
            w[p + 'self_attn.qkv_proj.weight'] = normal(((h + 2 * g) * dh, d), 0.2)
        else:
            for proj, heads in (('q_proj', h), ('k_proj', g), ('v_proj', g)):
                w[p + f'self_attn.{proj}.weight'] = normal((heads * dh, d), 0.2)
                if name == 'qwen2':
                    w[p + f'self_attn.{proj}.bias'] = normal((heads * dh,), 0.3)
        w[p + 'self_attn.o_proj.weight'] = normal((d, h * dh), 0.2)
        w[p + 'post_attention_layernorm.weight'] = norm_w()
        if name == 'gemma2':
            w[p + 'pre_feedforward_layernorm.weight'] = norm_w()
            w[p + 'post_feedforward_layernorm.weight'] = norm_w()
        if name == 'phi3':
            w[p + 'mlp.gate_up_proj.weight'] = normal((2 * m, d), 0.2)
        else:
            w[p + 'mlp.gate_proj.weight'] = normal((m, d), 0.2)
            w[p + 'mlp.up_proj.weight'] = normal((m, d), 0.2)
        w[p + 'mlp.down_proj.weight'] = normal((d, m), 0.2)
    w[P + 'norm.weight'] = norm_w()
    if name in ('qwen2', 'mistral', 'phi3'):
        w['lm_head.weight'] = normal((V, d), 0.3)
    return w
