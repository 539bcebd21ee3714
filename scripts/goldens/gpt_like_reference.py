"""Hugging Face -> TL conversion and independent Hugging Face-structured forward passes for
GPT-J and OPT, from the Hugging Face modules' maths, in float64. The TL-semantics forward they
are checked against is family_reference.run_with_cache.
"""

from __future__ import annotations

import math

import torch

import family_reference as ref

F = torch.nn.functional


def _heads_in(w: torch.Tensor, heads: int, dh: int) -> torch.Tensor:
    return w.reshape(heads, dh, -1).permute(0, 2, 1).contiguous()


def _heads_out(w: torch.Tensor, heads: int, dh: int) -> torch.Tensor:
    return w.t().reshape(heads, dh, -1).contiguous()


def gptj_to_tl(hf: dict[str, torch.Tensor], cfg: ref.Cfg) -> dict[str, torch.Tensor]:
    """TL stores GPT-J's single per-block LayerNorm twice, as ln1 and ln2; lm_head has a bias."""
    h, dh, d = cfg.n_heads, cfg.d_head, cfg.d_model
    P = 'transformer.'
    sd = {'embed.W_E': hf[P + 'wte.weight'].clone()}
    for layer in range(cfg.n_layers):
        p, t = f'{P}h.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'], sd[t + 'ln1.b'] = hf[p + 'ln_1.weight'], hf[p + 'ln_1.bias']
        for n in 'QKV':
            sd[t + f'attn.W_{n}'] = _heads_in(hf[p + f'attn.{n.lower()}_proj.weight'], h, dh)
            sd[t + f'attn.b_{n}'] = torch.zeros(h, dh, dtype=torch.float64)
        sd[t + 'attn.W_O'] = _heads_out(hf[p + 'attn.out_proj.weight'], h, dh)
        sd[t + 'attn.b_O'] = torch.zeros(d, dtype=torch.float64)
        sd[t + 'ln2.w'], sd[t + 'ln2.b'] = hf[p + 'ln_1.weight'], hf[p + 'ln_1.bias']
        sd[t + 'mlp.W_in'] = hf[p + 'mlp.fc_in.weight'].t().contiguous()
        sd[t + 'mlp.b_in'] = hf[p + 'mlp.fc_in.bias']
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.fc_out.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = hf[p + 'mlp.fc_out.bias']
    sd['ln_final.w'], sd['ln_final.b'] = hf[P + 'ln_f.weight'], hf[P + 'ln_f.bias']
    sd['unembed.W_U'] = hf['lm_head.weight'].t().contiguous()
    sd['unembed.b_U'] = hf['lm_head.bias']
    return sd


def opt_to_tl(hf: dict[str, torch.Tensor], cfg: ref.Cfg) -> dict[str, torch.Tensor]:
    """OPT's positions are rows 2.. of embed_positions; the head is tied to embed_tokens."""
    h, dh = cfg.n_heads, cfg.d_head
    P = 'model.decoder.'
    sd = {'embed.W_E': hf[P + 'embed_tokens.weight'].clone(), 'pos_embed.W_pos': hf[P + 'embed_positions.weight'][2:]}
    for layer in range(cfg.n_layers):
        p, t = f'{P}layers.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'], sd[t + 'ln1.b'] = hf[p + 'self_attn_layer_norm.weight'], hf[p + 'self_attn_layer_norm.bias']
        for n in 'QKV':
            sd[t + f'attn.W_{n}'] = _heads_in(hf[p + f'self_attn.{n.lower()}_proj.weight'], h, dh)
            sd[t + f'attn.b_{n}'] = hf[p + f'self_attn.{n.lower()}_proj.bias'].reshape(h, dh)
        sd[t + 'attn.W_O'] = _heads_out(hf[p + 'self_attn.out_proj.weight'], h, dh)
        sd[t + 'attn.b_O'] = hf[p + 'self_attn.out_proj.bias']
        sd[t + 'ln2.w'], sd[t + 'ln2.b'] = hf[p + 'final_layer_norm.weight'], hf[p + 'final_layer_norm.bias']
        sd[t + 'mlp.W_in'] = hf[p + 'fc1.weight'].t().contiguous()
        sd[t + 'mlp.b_in'] = hf[p + 'fc1.bias']
        sd[t + 'mlp.W_out'] = hf[p + 'fc2.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = hf[p + 'fc2.bias']
    sd['ln_final.w'], sd['ln_final.b'] = hf[P + 'final_layer_norm.weight'], hf[P + 'final_layer_norm.bias']
    sd['unembed.W_U'] = hf[P + 'embed_tokens.weight'].t().contiguous()
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=torch.float64)
    return sd


def hf_gptj_forward(hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: ref.Cfg) -> torch.Tensor:
    """GPTJForCausalLM: rotate_every_two on the first rotary_dim dims (sin/cos duplicated per
    pair), x + attn(ln_1 x) + mlp(ln_1 x)."""
    P, d, h, dh, r = 'transformer.', cfg.d_model, cfg.n_heads, cfg.d_head, cfg.rotary_dim
    bsz, pos = tokens.shape
    inv_freq = 1.0 / 10000 ** (torch.arange(0, r, 2, dtype=torch.float64) / r)
    ang = torch.arange(pos, dtype=torch.float64)[:, None] * inv_freq[None, :]
    sin = ang.sin().repeat_interleave(2, dim=-1)[None, :, None, :]
    cos = ang.cos().repeat_interleave(2, dim=-1)[None, :, None, :]

    def every_two(x):
        return torch.stack((-x[..., 1::2], x[..., ::2]), dim=-1).flatten(-2)

    def rope(x):  # x [b,p,h,dh]
        rot, rest = x[..., :r], x[..., r:]
        return torch.cat([rot * cos + every_two(rot) * sin, rest], dim=-1)

    x = hf[P + 'wte.weight'][tokens]
    causal = torch.tril(torch.ones(pos, pos, dtype=torch.bool))
    for layer in range(cfg.n_layers):
        p = f'{P}h.{layer}.'
        a = F.layer_norm(x, (d,), hf[p + 'ln_1.weight'], hf[p + 'ln_1.bias'], cfg.eps)
        q = rope((a @ hf[p + 'attn.q_proj.weight'].t()).view(bsz, pos, h, dh)).transpose(1, 2)
        k = rope((a @ hf[p + 'attn.k_proj.weight'].t()).view(bsz, pos, h, dh)).transpose(1, 2)
        v = (a @ hf[p + 'attn.v_proj.weight'].t()).view(bsz, pos, h, dh).transpose(1, 2)
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(dh)).masked_fill(~causal, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(bsz, pos, d) @ hf[p + 'attn.out_proj.weight'].t()
        m = F.gelu(a @ hf[p + 'mlp.fc_in.weight'].t() + hf[p + 'mlp.fc_in.bias'], approximate='tanh')
        x = x + y + m @ hf[p + 'mlp.fc_out.weight'].t() + hf[p + 'mlp.fc_out.bias']
    x = F.layer_norm(x, (d,), hf[P + 'ln_f.weight'], hf[P + 'ln_f.bias'], cfg.eps)
    return x @ hf['lm_head.weight'].t() + hf['lm_head.bias']


def hf_opt_forward(hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: ref.Cfg) -> torch.Tensor:
    """OPTForCausalLM (pre-LN): positions offset by 2, q scaled by dh^-1/2 after its bias, ReLU."""
    P, d, h, dh = 'model.decoder.', cfg.d_model, cfg.n_heads, cfg.d_head
    bsz, pos = tokens.shape
    x = hf[P + 'embed_tokens.weight'][tokens] + hf[P + 'embed_positions.weight'][torch.arange(pos) + 2]
    causal = torch.tril(torch.ones(pos, pos, dtype=torch.bool))

    def lin(x, name):
        return x @ hf[name + '.weight'].t() + hf[name + '.bias']

    for layer in range(cfg.n_layers):
        p = f'{P}layers.{layer}.'
        a = F.layer_norm(x, (d,), hf[p + 'self_attn_layer_norm.weight'], hf[p + 'self_attn_layer_norm.bias'], cfg.eps)
        q = (lin(a, p + 'self_attn.q_proj') * dh**-0.5).view(bsz, pos, h, dh).transpose(1, 2)
        k = lin(a, p + 'self_attn.k_proj').view(bsz, pos, h, dh).transpose(1, 2)
        v = lin(a, p + 'self_attn.v_proj').view(bsz, pos, h, dh).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)).masked_fill(~causal, float('-inf')).softmax(-1)
        x = x + lin((att @ v).transpose(1, 2).reshape(bsz, pos, d), p + 'self_attn.out_proj')
        m = F.layer_norm(x, (d,), hf[p + 'final_layer_norm.weight'], hf[p + 'final_layer_norm.bias'], cfg.eps)
        x = x + lin(F.relu(lin(m, p + 'fc1')), p + 'fc2')
    x = F.layer_norm(x, (d,), hf[P + 'final_layer_norm.weight'], hf[P + 'final_layer_norm.bias'], cfg.eps)
    return x @ hf[P + 'embed_tokens.weight'].t()


def bloom_to_tl(hf: dict[str, torch.Tensor], cfg: ref.Cfg) -> dict[str, torch.Tensor]:
    """BLOOM's fused query_key_value rows are (head, which, e); the embedding has a LayerNorm."""
    h, dh, d = cfg.n_heads, cfg.d_head, cfg.d_model
    P = 'transformer.'
    sd = {
        'embed.W_E': hf[P + 'word_embeddings.weight'].clone(),
        'embed.ln.w': hf[P + 'word_embeddings_layernorm.weight'],
        'embed.ln.b': hf[P + 'word_embeddings_layernorm.bias'],
    }
    for layer in range(cfg.n_layers):
        p, t = f'{P}h.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'], sd[t + 'ln1.b'] = hf[p + 'input_layernorm.weight'], hf[p + 'input_layernorm.bias']
        W = hf[p + 'self_attention.query_key_value.weight'].reshape(h, 3, dh, d)
        B = hf[p + 'self_attention.query_key_value.bias'].reshape(h, 3, dh)
        for i, n in enumerate('QKV'):
            sd[t + f'attn.W_{n}'] = W[:, i].permute(0, 2, 1).contiguous()
            sd[t + f'attn.b_{n}'] = B[:, i].contiguous()
        sd[t + 'attn.W_O'] = _heads_out(hf[p + 'self_attention.dense.weight'], h, dh)
        sd[t + 'attn.b_O'] = hf[p + 'self_attention.dense.bias']
        sd[t + 'ln2.w'] = hf[p + 'post_attention_layernorm.weight']
        sd[t + 'ln2.b'] = hf[p + 'post_attention_layernorm.bias']
        sd[t + 'mlp.W_in'] = hf[p + 'mlp.dense_h_to_4h.weight'].t().contiguous()
        sd[t + 'mlp.b_in'] = hf[p + 'mlp.dense_h_to_4h.bias']
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.dense_4h_to_h.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = hf[p + 'mlp.dense_4h_to_h.bias']
    sd['ln_final.w'], sd['ln_final.b'] = hf[P + 'ln_f.weight'], hf[P + 'ln_f.bias']
    sd['unembed.W_U'] = hf[P + 'word_embeddings.weight'].t().contiguous()
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=torch.float64)
    return sd


def _hf_alibi_slopes(n: int) -> torch.Tensor:
    """As HF's build_alibi_tensor: powers of base = 2^(-2^-(log2(p) - 3)), p = closest power of
    two <= n, then odd powers of the next power of two's base."""
    p = 2 ** math.floor(math.log2(n))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(p) - 3))), dtype=torch.float64)
    slopes = torch.pow(base, torch.arange(1, 1 + p, dtype=torch.float64))
    if p != n:
        extra = torch.tensor(2 ** (-(2 ** -(math.log2(2 * p) - 3))), dtype=torch.float64)
        rest = min(p, n - p)
        slopes = torch.cat([slopes, torch.pow(extra, torch.arange(1, 1 + 2 * rest, 2, dtype=torch.float64))])
    return slopes


def hf_bloom_forward(hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: ref.Cfg) -> torch.Tensor:
    """BloomForCausalLM: embedding LayerNorm, ALiBi as slope * key position added to the scaled
    scores, fused per-head qkv, tanh GELU."""
    P, d, h, dh = 'transformer.', cfg.d_model, cfg.n_heads, cfg.d_head
    bsz, pos = tokens.shape

    def ln(x, name):
        return F.layer_norm(x, (d,), hf[name + '.weight'], hf[name + '.bias'], cfg.eps)

    def lin(x, name):
        return x @ hf[name + '.weight'].t() + hf[name + '.bias']

    x = ln(hf[P + 'word_embeddings.weight'][tokens], P + 'word_embeddings_layernorm')
    alibi = _hf_alibi_slopes(h)[:, None, None] * torch.arange(pos, dtype=torch.float64)[None, None, :]
    causal = torch.tril(torch.ones(pos, pos, dtype=torch.bool))
    for layer in range(cfg.n_layers):
        p = f'{P}h.{layer}.'
        a = ln(x, p + 'input_layernorm')
        qkv = lin(a, p + 'self_attention.query_key_value').view(bsz, pos, h, 3, dh)
        q, k, v = (qkv[..., i, :].transpose(1, 2) for i in range(3))
        att = alibi + (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        att = att.masked_fill(~causal, float('-inf')).softmax(-1)
        x = x + lin((att @ v).transpose(1, 2).reshape(bsz, pos, d), p + 'self_attention.dense')
        m = F.gelu(lin(ln(x, p + 'post_attention_layernorm'), p + 'mlp.dense_h_to_4h'), approximate='tanh')
        x = x + lin(m, p + 'mlp.dense_4h_to_h')
    return ln(x, P + 'ln_f') @ hf[P + 'word_embeddings.weight'].t()
