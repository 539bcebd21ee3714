"""Tiny random configurations and weights of GPT-J, OPT and BLOOM in Hugging Face layout, for
make_family_goldens.py (d_model 32, 2 layers, vocab 64). GPT-J rotates half of each head
with interleaved pairs and has an unembedding bias; OPT carries the two offset rows of its
position table and a tied head; BLOOM has 6 heads (not a power of two, so both ALiBi slope
series are used) and an embedding LayerNorm.
"""

from __future__ import annotations

import numpy as np

import family_reference as ref

D, LAYERS, HEADS, N_CTX, VOCAB = 32, 2, 4, 32, 64


def families() -> dict[str, tuple[ref.Cfg, dict]]:
    dh = D // HEADS
    gptj = ref.Cfg(
        n_layers=LAYERS, d_model=D, n_heads=HEADS, d_head=dh, d_mlp=4 * D, d_vocab=VOCAB, n_ctx=N_CTX, eps=1e-5,
        norm='LN', act='gelu_new', positional='rotary', rotary_dim=dh // 2, adjacent_pairs=True, parallel=True,
    )  # fmt: skip
    gptj_json = {
        'architectures': ['GPTJForCausalLM'], 'model_type': 'gptj', 'n_embd': D, 'n_head': HEADS, 'n_layer': LAYERS,
        'n_inner': None, 'n_positions': N_CTX, 'rotary_dim': dh // 2, 'activation_function': 'gelu_new',
        'layer_norm_epsilon': 1e-5, 'vocab_size': VOCAB, 'tie_word_embeddings': False, 'torch_dtype': 'float32',
    }  # fmt: skip
    opt = ref.Cfg(
        n_layers=LAYERS, d_model=D, n_heads=HEADS, d_head=dh, d_mlp=48, d_vocab=VOCAB, n_ctx=N_CTX, eps=1e-5,
        norm='LN', act='relu',
    )  # fmt: skip
    opt_json = {
        'architectures': ['OPTForCausalLM'], 'model_type': 'opt', 'hidden_size': D, 'num_attention_heads': HEADS,
        'num_hidden_layers': LAYERS, 'ffn_dim': 48, 'max_position_embeddings': N_CTX, 'word_embed_proj_dim': D,
        'do_layer_norm_before': True, 'activation_function': 'relu', 'vocab_size': VOCAB, 'enable_bias': True,
        'layer_norm_elementwise_affine': True, 'bos_token_id': 2, 'eos_token_id': 2, 'pad_token_id': 1,
        'tie_word_embeddings': True, 'torch_dtype': 'float32',
    }  # fmt: skip
    bloom = ref.Cfg(
        n_layers=LAYERS, d_model=36, n_heads=6, d_head=6, d_mlp=4 * 36, d_vocab=VOCAB, n_ctx=2048, eps=1e-5,
        norm='LN', act='gelu_new', positional='alibi', post_embed_ln=True,
    )  # fmt: skip
    bloom_json = {
        'architectures': ['BloomForCausalLM'], 'model_type': 'bloom', 'hidden_size': 36, 'n_head': 6,
        'n_layer': LAYERS, 'layer_norm_epsilon': 1e-5, 'vocab_size': VOCAB,
        'apply_residual_connection_post_layernorm': False, 'bos_token_id': 1, 'eos_token_id': 2,
        'tie_word_embeddings': True, 'torch_dtype': 'float32',
    }  # fmt: skip
    return {'gptj': (gptj, gptj_json), 'opt': (opt, opt_json), 'bloom': (bloom, bloom_json)}


def make_weights(name: str, cfg: ref.Cfg, rng: np.random.RandomState) -> dict[str, np.ndarray]:
    d, m, V = cfg.d_model, cfg.d_mlp, cfg.d_vocab

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm_w():
        return rng.uniform(0.3, 2.0, size=(d,)).astype(np.float32)

    w: dict[str, np.ndarray] = {}
    if name == 'gptj':
        P = 'transformer.'
        w[P + 'wte.weight'] = normal((V, d), 0.3)
        for i in range(cfg.n_layers):
            p = f'{P}h.{i}.'
            w[p + 'ln_1.weight'], w[p + 'ln_1.bias'] = norm_w(), normal((d,), 0.3)
            for proj in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
                w[p + f'attn.{proj}.weight'] = normal((d, d), 0.2)
            w[p + 'mlp.fc_in.weight'], w[p + 'mlp.fc_in.bias'] = normal((m, d), 0.2), normal((m,), 0.3)
            w[p + 'mlp.fc_out.weight'], w[p + 'mlp.fc_out.bias'] = normal((d, m), 0.1), normal((d,), 0.3)
        w[P + 'ln_f.weight'], w[P + 'ln_f.bias'] = norm_w(), normal((d,), 0.3)
        w['lm_head.weight'], w['lm_head.bias'] = normal((V, d), 0.3), normal((V,), 0.5)
    elif name == 'bloom':
        P = 'transformer.'
        w[P + 'word_embeddings.weight'] = normal((V, d), 0.3)
        w[P + 'word_embeddings_layernorm.weight'] = norm_w()
        w[P + 'word_embeddings_layernorm.bias'] = normal((d,), 0.3)
        for i in range(cfg.n_layers):
            p = f'{P}h.{i}.'
            w[p + 'input_layernorm.weight'], w[p + 'input_layernorm.bias'] = norm_w(), normal((d,), 0.3)
            w[p + 'self_attention.query_key_value.weight'] = normal((3 * d, d), 0.25)
            w[p + 'self_attention.query_key_value.bias'] = normal((3 * d,), 0.3)
            w[p + 'self_attention.dense.weight'] = normal((d, d), 0.2)
            w[p + 'self_attention.dense.bias'] = normal((d,), 0.3)
            w[p + 'post_attention_layernorm.weight'] = norm_w()
            w[p + 'post_attention_layernorm.bias'] = normal((d,), 0.3)
            w[p + 'mlp.dense_h_to_4h.weight'], w[p + 'mlp.dense_h_to_4h.bias'] = normal((m, d), 0.2), normal((m,), 0.3)
            w[p + 'mlp.dense_4h_to_h.weight'], w[p + 'mlp.dense_4h_to_h.bias'] = normal((d, m), 0.1), normal((d,), 0.3)
        w[P + 'ln_f.weight'], w[P + 'ln_f.bias'] = norm_w(), normal((d,), 0.3)
    else:
        P = 'model.decoder.'
        w[P + 'embed_tokens.weight'] = normal((V, d), 0.3)
        w[P + 'embed_positions.weight'] = normal((cfg.n_ctx + 2, d), 0.2)
        for i in range(cfg.n_layers):
            p = f'{P}layers.{i}.'
            w[p + 'self_attn_layer_norm.weight'], w[p + 'self_attn_layer_norm.bias'] = norm_w(), normal((d,), 0.3)
            for proj in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
                w[p + f'self_attn.{proj}.weight'] = normal((d, d), 0.2)
                w[p + f'self_attn.{proj}.bias'] = normal((d,), 0.3)
            w[p + 'final_layer_norm.weight'], w[p + 'final_layer_norm.bias'] = norm_w(), normal((d,), 0.3)
            w[p + 'fc1.weight'], w[p + 'fc1.bias'] = normal((m, d), 0.2), normal((m,), 0.3)
            w[p + 'fc2.weight'], w[p + 'fc2.bias'] = normal((d, m), 0.1), normal((d,), 0.3)
        w[P + 'final_layer_norm.weight'], w[P + 'final_layer_norm.bias'] = norm_w(), normal((d,), 0.3)
    return w
