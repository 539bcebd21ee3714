"""Hugging Face -> TL conversion and independent Hugging Face-structured forward passes for the
Llama-shaped families beyond Llama itself: Llama 3.x (rope_scaling 'llama3'), Qwen2, Mistral
(sliding window), Gemma, Gemma 2 and Phi-3. Written from the Hugging Face modules' maths, in
float64; the TL-semantics forward they are checked against is family_reference.run_with_cache.
"""

from __future__ import annotations

import math

import torch

import family_reference as ref

F = torch.nn.functional


def _linear_heads(w: torch.Tensor, heads: int, dh: int) -> torch.Tensor:
    return w.reshape(heads, dh, -1).permute(0, 2, 1).contiguous()


def gemma_to_tl(hf: dict[str, torch.Tensor], cfg: ref.Cfg, v2: bool) -> dict[str, torch.Tensor]:
    """TL folds Gemma's sqrt(d_model) into W_E (not the tied W_U) and (1 + w) into the norms."""
    h, dh, d = cfg.n_heads, cfg.d_head, cfg.d_model
    g = cfg.n_kv_heads or h
    P = 'model.'
    emb = hf[P + 'embed_tokens.weight']
    sd = {'embed.W_E': emb * math.sqrt(d)}
    for layer in range(cfg.n_layers):
        p, t = f'{P}layers.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'] = hf[p + 'input_layernorm.weight'] + 1
        for hfn, n, heads in (('q_proj', 'Q', h), ('k_proj', 'K', g), ('v_proj', 'V', g)):
            wn = t + 'attn.W_Q' if n == 'Q' else ref.kv_name(cfg, layer, 'W_' + n)
            bn = t + 'attn.b_Q' if n == 'Q' else ref.kv_name(cfg, layer, 'b_' + n)
            sd[wn] = _linear_heads(hf[p + f'self_attn.{hfn}.weight'], heads, dh)
            sd[bn] = torch.zeros(heads, dh, dtype=torch.float64)
        sd[t + 'attn.W_O'] = hf[p + 'self_attn.o_proj.weight'].t().reshape(h, dh, d).contiguous()
        sd[t + 'attn.b_O'] = torch.zeros(d, dtype=torch.float64)
        if v2:
            sd[t + 'ln1_post.w'] = hf[p + 'post_attention_layernorm.weight'] + 1
            sd[t + 'ln2.w'] = hf[p + 'pre_feedforward_layernorm.weight'] + 1
        else:
            sd[t + 'ln2.w'] = hf[p + 'post_attention_layernorm.weight'] + 1
        sd[t + 'mlp.W_gate'] = hf[p + 'mlp.gate_proj.weight'].t().contiguous()
        sd[t + 'mlp.W_in'] = hf[p + 'mlp.up_proj.weight'].t().contiguous()
        sd[t + 'mlp.b_in'] = torch.zeros(cfg.d_mlp, dtype=torch.float64)
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.down_proj.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = torch.zeros(d, dtype=torch.float64)
        if v2:
            sd[t + 'ln2_post.w'] = hf[p + 'post_feedforward_layernorm.weight'] + 1
    sd['ln_final.w'] = hf[P + 'norm.weight'] + 1
    sd['unembed.W_U'] = emb.t().contiguous()
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=torch.float64)
    # TL's parameter order: ln1_post after attention, ln2_post after the MLP.
    return sd


def phi3_to_tl(hf: dict[str, torch.Tensor], cfg: ref.Cfg) -> dict[str, torch.Tensor]:
    h, dh, d, m = cfg.n_heads, cfg.d_head, cfg.d_model, cfg.d_mlp
    g = cfg.n_kv_heads or h
    P = 'model.'
    sd = {'embed.W_E': hf[P + 'embed_tokens.weight'].clone()}
    for layer in range(cfg.n_layers):
        p, t = f'{P}layers.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'] = hf[p + 'input_layernorm.weight']
        qkv = hf[p + 'self_attn.qkv_proj.weight']
        q, k, v = qkv[: h * dh], qkv[h * dh : (h + g) * dh], qkv[(h + g) * dh :]
        for n, w, heads in (('Q', q, h), ('K', k, g), ('V', v, g)):
            wn = t + 'attn.W_Q' if n == 'Q' else ref.kv_name(cfg, layer, 'W_' + n)
            bn = t + 'attn.b_Q' if n == 'Q' else ref.kv_name(cfg, layer, 'b_' + n)
            sd[wn] = _linear_heads(w, heads, dh)
            sd[bn] = torch.zeros(heads, dh, dtype=torch.float64)
        sd[t + 'attn.W_O'] = hf[p + 'self_attn.o_proj.weight'].t().reshape(h, dh, d).contiguous()
        sd[t + 'attn.b_O'] = torch.zeros(d, dtype=torch.float64)
        sd[t + 'ln2.w'] = hf[p + 'post_attention_layernorm.weight']
        gate_up = hf[p + 'mlp.gate_up_proj.weight']
        sd[t + 'mlp.W_gate'] = gate_up[:m].t().contiguous()
        sd[t + 'mlp.W_in'] = gate_up[m:].t().contiguous()
        sd[t + 'mlp.b_in'] = torch.zeros(m, dtype=torch.float64)
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.down_proj.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = torch.zeros(d, dtype=torch.float64)
    sd['ln_final.w'] = hf[P + 'norm.weight']
    sd['unembed.W_U'] = hf.get('lm_head.weight', hf[P + 'embed_tokens.weight']).t().contiguous()
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=torch.float64)
    return sd


# ------------------------------------------------------------------------------------------
# Independent forwards in the Hugging Face modules' own structure
# ------------------------------------------------------------------------------------------
def _hf_inv_freq(dim: int, base: float, llama3: dict | None) -> torch.Tensor:
    """As HF's rope init: the default frequencies, or the 'llama3' rescaling of them (vectorised
    with torch.where, as HF writes it)."""
    inv_freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    if llama3 is None:
        return inv_freq
    factor, low, high = llama3['factor'], llama3['low_freq_factor'], llama3['high_freq_factor']
    old = llama3['original_max_position_embeddings']
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > old / low, inv_freq / factor, inv_freq)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old / high) & ~(wavelen > old / low)
    return torch.where(medium, smoothed, scaled)


SLIDING = ('MistralForCausalLM', 'Phi3ForCausalLM', 'Gemma2ForCausalLM')


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def hf_llama_like_forward(
    hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: ref.Cfg, hf_json: dict
) -> torch.Tensor:
    """LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM / Phi3ForCausalLM /
    GemmaForCausalLM / Gemma2ForCausalLM, from config.json fields and HF tensor names."""
    arch = hf_json['architectures'][0]
    gemma = arch.startswith('Gemma')
    gemma2 = arch == 'Gemma2ForCausalLM'
    phi3 = arch == 'Phi3ForCausalLM'
    P, d, h, dh = 'model.', cfg.d_model, hf_json['num_attention_heads'], cfg.d_head
    g = hf_json.get('num_key_value_heads') or h
    eps = hf_json['rms_norm_eps']
    bsz, pos = tokens.shape

    def rms(x, w):
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
        return y * (1.0 + w) if gemma else y * w

    def lin(x, name):
        y = x @ hf[name + '.weight'].t()
        return y + hf[name + '.bias'] if name + '.bias' in hf else y

    def act(x):
        if gemma:  # gelu_pytorch_tanh
            return F.gelu(x, approximate='tanh')
        return F.silu(x)

    x = hf[P + 'embed_tokens.weight'][tokens]
    if gemma:
        x = x * math.sqrt(d)
    rope = hf_json.get('rope_scaling')
    inv_freq = _hf_inv_freq(dh, hf_json.get('rope_theta', 10000.0), rope if rope else None)
    freqs = torch.arange(pos, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos(), emb.sin()
    qi = torch.arange(pos)[:, None]
    ki = torch.arange(pos)[None, :]
    causal = ki <= qi
    scaling = hf_json['query_pre_attn_scalar'] ** -0.5 if gemma2 else dh**-0.5
    for layer in range(cfg.n_layers):
        p = f'{P}layers.{layer}.'
        mask = causal
        # Qwen2's config also carries sliding_window, used only with use_sliding_window (off).
        window = hf_json.get('sliding_window') if arch in SLIDING else None
        sliding = window is not None and (not gemma2 or layer % 2 == 0)
        if sliding:
            mask = causal & (qi - ki < window)
        a = rms(x, hf[p + 'input_layernorm.weight'])
        if phi3:
            qkv = a @ hf[p + 'self_attn.qkv_proj.weight'].t()
            q, k, v = qkv[..., : h * dh], qkv[..., h * dh : (h + g) * dh], qkv[..., (h + g) * dh :]
        else:
            q, k, v = (lin(a, p + f'self_attn.{n}_proj') for n in 'qkv')
        q = q.view(bsz, pos, h, dh).transpose(1, 2)
        k = k.view(bsz, pos, g, dh).transpose(1, 2)
        v = v.view(bsz, pos, g, dh).transpose(1, 2)
        q, k = q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin
        k, v = k.repeat_interleave(h // g, dim=1), v.repeat_interleave(h // g, dim=1)
        att = (q @ k.transpose(-1, -2)) * scaling
        if gemma2 and hf_json.get('attn_logit_softcapping'):
            cap = hf_json['attn_logit_softcapping']
            att = torch.tanh(att / cap) * cap
        att = att.masked_fill(~mask, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(bsz, pos, h * dh)
        y = lin(y, p + 'self_attn.o_proj')
        if gemma2:
            x = x + rms(y, hf[p + 'post_attention_layernorm.weight'])
            mlp_in = rms(x, hf[p + 'pre_feedforward_layernorm.weight'])
        else:
            x = x + y
            mlp_in = rms(x, hf[p + 'post_attention_layernorm.weight'])
        if phi3:
            gate, up = (mlp_in @ hf[p + 'mlp.gate_up_proj.weight'].t()).chunk(2, dim=-1)
            m = act(gate) * up
        else:
            m = act(lin(mlp_in, p + 'mlp.gate_proj')) * lin(mlp_in, p + 'mlp.up_proj')
        m = lin(m, p + 'mlp.down_proj')
        x = x + (rms(m, hf[p + 'post_feedforward_layernorm.weight']) if gemma2 else m)
    x = rms(x, hf[P + 'norm.weight'])
    logits = x @ hf.get('lm_head.weight', hf[P + 'embed_tokens.weight']).t()
    if gemma2 and hf_json.get('final_logit_softcapping'):
        cap = hf_json['final_logit_softcapping']
        logits = torch.tanh(logits / cap) * cap
    return logits
