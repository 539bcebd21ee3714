"""Reference forward pass and weight processing with TransformerLens semantics for the GPT-Neo,
GPT-NeoX (Pythia) and Llama families, written from the maths of each architecture and of
TransformerLens's weight processing, not from TransformerLens code. Float64 throughout; callers round to float32.

TL layout (b=batch, p=pos, h=n_heads, g=n_key_value_heads, d=d_model, dh=d_head, m=d_mlp):
  embed.W_E [V,d], pos_embed.W_pos [n_ctx,d] (absolute positions only),
  blocks.L.ln1.w/b [d] (RMS: w only), blocks.L.attn.W_Q [h,d,dh], b_Q [h,dh],
  W_K/W_V [h,d,dh] or, with grouped-query attention, _W_K/_W_V [g,d,dh] and _b_K/_b_V [g,dh],
  W_O [h,dh,d], b_O [d], blocks.L.ln2.*, mlp.W_in [d,m], b_in [m], mlp.W_gate [d,m] (gated),
  W_out [m,d], b_out [d], ln_final.*, unembed.W_U [d,V], unembed.b_U [V].

This file also holds, per family, the Hugging Face -> TL weight conversion and an independent
forward pass straight from the Hugging Face tensors, structured as the HF modules compute it
(used to cross-check the conversion, in particular NeoX's fused per-head query_key_value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

F = torch.nn.functional


@dataclass(frozen=True)
class Cfg:
    n_layers: int
    d_model: int
    n_heads: int
    d_head: int
    d_mlp: int
    d_vocab: int
    n_ctx: int
    eps: float
    norm: str  # 'LN' or 'RMS' (before folding)
    act: str  # 'gelu_new', 'gelu' or 'silu'
    positional: str = 'standard'  # or 'rotary'
    rotary_dim: int = 0
    rotary_base: float = 10000.0
    adjacent_pairs: bool = False  # llama2.c / GPT-J pairs (2j, 2j+1); else NeoX/HF halves
    parallel: bool = False  # NeoX: attention and MLP both read resid_pre
    gated: bool = False  # Llama: W_gate, W_in, W_out
    attn_scale: bool = True  # GPT-Neo: False
    attn_types: tuple[str, ...] | None = None  # GPT-Neo: 'global' / 'local' per layer
    window: int = 0
    n_kv_heads: int | None = None  # grouped-query attention when set
    ntk: tuple[float, float, float, int] | None = None  # Llama 3.x: (factor, low, high, original ctx)
    attn_scale_value: float | None = None  # divide scores by this instead of sqrt(d_head) (Gemma 2)
    attn_softcap: float = 0.0  # Gemma 2: scores -> cap * tanh(scores / cap) before the mask
    logit_softcap: float = 0.0  # Gemma 2: logits -> cap * tanh(logits / cap)
    post_norms: bool = False  # Gemma 2: ln1_post / ln2_post on each sublayer's output
    post_embed_ln: bool = False  # BLOOM: a LayerNorm (embed.ln) on the token embedding


def act_fn(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == 'gelu_new':
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))
    if name == 'gelu':
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == 'silu':
        return x * torch.sigmoid(x)
    if name == 'relu':
        return x.clamp(min=0)
    raise ValueError(name)


# ------------------------------------------------------------------------------------------
# TL-semantics forward with every hook
# ------------------------------------------------------------------------------------------
def rotary_freqs(cfg: Cfg) -> torch.Tensor:
    """[r/2]: pair j's frequency base^(-2j/r); with cfg.ntk, Llama 3.x's rule: wavelengths
    2pi/f longer than ctx/low are slowed by `factor`, shorter than ctx/high kept, blended between."""
    j = torch.arange(cfg.rotary_dim // 2, dtype=torch.float64)
    f = cfg.rotary_base ** (-2.0 * j / cfg.rotary_dim)
    if cfg.ntk is None:
        return f
    factor, low, high, ctx = cfg.ntk
    out = []
    for fj in f.tolist():
        lam = 2 * math.pi / fj
        if lam > ctx / low:
            out.append(fj / factor)
        elif lam < ctx / high:
            out.append(fj)
        else:
            t = (ctx / lam - low) / (high - low)
            out.append((1 - t) * fj / factor + t * fj)
    return torch.tensor(out, dtype=torch.float64)


def rotary_tables(cfg: Cfg, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [pos, r/2]: pair j turns by pos * freq_j."""
    angles = torch.arange(pos, dtype=torch.float64)[:, None] * rotary_freqs(cfg)[None, :]
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cfg: Cfg) -> torch.Tensor:
    """Rotate the first rotary_dim dims of each head of x [b,p,heads,dh]."""
    r, half = cfg.rotary_dim, cfg.rotary_dim // 2
    cos, sin = rotary_tables(cfg, x.shape[1])
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    rot, rest = x[..., :r], x[..., r:]
    if cfg.adjacent_pairs:
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
        y = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    else:
        x1, x2 = rot[..., :half], rot[..., half:]
        y = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    return torch.cat([y, rest], dim=-1)


def _norm(hook, prefix: str, x: torch.Tensor, cfg: Cfg, w, b) -> torch.Tensor:
    """LN / LNPre centre then scale; RMS / RMSPre scale only. w (and b) absent after folding."""
    if cfg.norm == 'LN':
        x = x - x.mean(-1, keepdim=True)
    scale = hook(prefix + 'hook_scale', (x.pow(2).mean(-1, keepdim=True) + cfg.eps).sqrt())
    x = x / scale
    if cfg.norm == 'RMS':
        # TL's RMSNorm hooks x / scale and applies its weight after the hook.
        x = hook(prefix + 'hook_normalized', x)
        return x * w if w is not None else x
    if w is not None:
        x = x * w
    if b is not None:
        x = x + b
    return hook(prefix + 'hook_normalized', x)


def alibi_slopes(n: int) -> torch.Tensor:
    """[n]: 2^(-8i/p) for i = 1..p, p the largest power of two <= n, then every other slope of
    the next power of two for the remaining heads."""
    p = 2 ** math.floor(math.log2(n))
    slopes = [2 ** (-8 * i / p) for i in range(1, p + 1)]
    slopes += [2 ** (-8 * i / (2 * p)) for i in range(1, 2 * (n - p), 2)]
    return torch.tensor(slopes, dtype=torch.float64)


def attention_mask(cfg: Cfg, layer: int, pos: int) -> torch.Tensor:
    """[q,k] allowed: causal; local layers also drop keys k <= q - window."""
    q = torch.arange(pos)[:, None]
    k = torch.arange(pos)[None, :]
    allowed = k <= q
    if cfg.attn_types is not None and cfg.attn_types[layer] == 'local':
        allowed = allowed & (k > q - cfg.window)
    return allowed


def kv_name(cfg: Cfg, layer: int, name: str) -> str:
    return f'blocks.{layer}.attn.' + ('_' if cfg.n_kv_heads is not None else '') + name


def repeat_kv(x: torch.Tensor, n_heads: int, dim: int) -> torch.Tensor:
    return x.repeat_interleave(n_heads // x.shape[dim], dim=dim)


def run_with_cache(sd: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: Cfg):
    """(logits [b,p,V], cache in execution order). hook_result is always computed."""
    cache: dict[str, torch.Tensor] = {}

    def hook(name: str, x: torch.Tensor) -> torch.Tensor:
        cache[name] = x
        return x

    bsz, pos = tokens.shape
    emb = sd['embed.W_E'][tokens]
    if cfg.post_embed_ln:  # TL's Embed LayerNorm keeps its weights when the others are folded
        emb = _norm(hook, 'embed.ln.', emb - emb.mean(-1, keepdim=True), cfg, sd['embed.ln.w'], sd['embed.ln.b'])
    resid = hook('hook_embed', emb)
    if cfg.positional == 'standard':
        pe = sd['pos_embed.W_pos'][:pos].unsqueeze(0).expand(bsz, pos, cfg.d_model)
        resid = resid + hook('hook_pos_embed', pe)
    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        g = lambda k: sd.get(t + k)  # noqa: E731
        resid = hook(t + 'hook_resid_pre', resid)
        x = _norm(hook, t + 'ln1.', resid, cfg, g('ln1.w'), g('ln1.b'))
        q = hook(t + 'attn.hook_q', torch.einsum('bpd,hde->bphe', x, g('attn.W_Q')) + g('attn.b_Q'))
        k = torch.einsum('bpd,hde->bphe', x, sd[kv_name(cfg, layer, 'W_K')]) + sd[kv_name(cfg, layer, 'b_K')]
        k = hook(t + 'attn.hook_k', k)
        v = torch.einsum('bpd,hde->bphe', x, sd[kv_name(cfg, layer, 'W_V')]) + sd[kv_name(cfg, layer, 'b_V')]
        v = hook(t + 'attn.hook_v', v)
        if cfg.positional == 'rotary':
            q = hook(t + 'attn.hook_rot_q', apply_rotary(q, cfg))
            k = hook(t + 'attn.hook_rot_k', apply_rotary(k, cfg))
        k_all, v_all = repeat_kv(k, cfg.n_heads, 2), repeat_kv(v, cfg.n_heads, 2)
        scores = torch.einsum('bqhe,bkhe->bhqk', q, k_all)
        if cfg.attn_scale:
            scores = scores / (cfg.attn_scale_value or math.sqrt(cfg.d_head))
        if cfg.attn_softcap > 0:
            scores = cfg.attn_softcap * torch.tanh(scores / cfg.attn_softcap)
        if cfg.positional == 'alibi':  # TL: slope_h * (k - q), added before the mask
            qk = torch.arange(pos, dtype=torch.float64)
            scores = scores + alibi_slopes(cfg.n_heads)[:, None, None] * (qk[None, :] - qk[:, None]).tril()
        scores = scores.masked_fill(~attention_mask(cfg, layer, pos), float('-inf'))
        scores = hook(t + 'attn.hook_attn_scores', scores)
        pattern = hook(t + 'attn.hook_pattern', torch.softmax(scores, dim=-1))
        z = hook(t + 'attn.hook_z', torch.einsum('bkhe,bhqk->bqhe', v_all, pattern))
        result = hook(t + 'attn.hook_result', torch.einsum('bqhe,hed->bqhd', z, g('attn.W_O')))
        attn_out = result.sum(dim=2) + g('attn.b_O')
        if cfg.post_norms:  # the output norm keeps its weight after folding
            attn_out = _norm(hook, t + 'ln1_post.', attn_out, cfg, g('ln1_post.w'), g('ln1_post.b'))
        attn_out = hook(t + 'hook_attn_out', attn_out)
        if cfg.parallel:
            mlp_in = resid
        else:
            mlp_in = hook(t + 'hook_resid_mid', resid + attn_out)
        x2 = _norm(hook, t + 'ln2.', mlp_in, cfg, g('ln2.w'), g('ln2.b'))
        if cfg.gated:
            pre = hook(t + 'mlp.hook_pre', x2 @ g('mlp.W_gate'))
            pre_linear = hook(t + 'mlp.hook_pre_linear', x2 @ g('mlp.W_in'))
            post = hook(t + 'mlp.hook_post', act_fn(cfg.act, pre) * pre_linear + g('mlp.b_in'))
        else:
            pre = hook(t + 'mlp.hook_pre', x2 @ g('mlp.W_in') + g('mlp.b_in'))
            post = hook(t + 'mlp.hook_post', act_fn(cfg.act, pre))
        mlp_out = post @ g('mlp.W_out') + g('mlp.b_out')
        if cfg.post_norms:
            mlp_out = _norm(hook, t + 'ln2_post.', mlp_out, cfg, g('ln2_post.w'), g('ln2_post.b'))
        mlp_out = hook(t + 'hook_mlp_out', mlp_out)
        resid = hook(t + 'hook_resid_post', (resid + attn_out if cfg.parallel else mlp_in) + mlp_out)
    xf = _norm(hook, 'ln_final.', resid, cfg, sd.get('ln_final.w'), sd.get('ln_final.b'))
    logits = xf @ sd['unembed.W_U'] + sd['unembed.b_U']
    if cfg.logit_softcap > 0:
        logits = cfg.logit_softcap * torch.tanh(logits / cfg.logit_softcap)
    return logits, cache


def hook_names(cfg: Cfg) -> list[str]:
    """Every hook in TL's execution order (hook_result included)."""
    names = ['embed.ln.hook_scale', 'embed.ln.hook_normalized'] if cfg.post_embed_ln else []
    names += ['hook_embed'] + (['hook_pos_embed'] if cfg.positional == 'standard' else [])
    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        block = ['hook_resid_pre', 'ln1.hook_scale', 'ln1.hook_normalized', 'attn.hook_q', 'attn.hook_k', 'attn.hook_v']
        if cfg.positional == 'rotary':
            block += ['attn.hook_rot_q', 'attn.hook_rot_k']
        block += ['attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z', 'attn.hook_result']
        block += ['ln1_post.hook_scale', 'ln1_post.hook_normalized'] if cfg.post_norms else []
        block += ['hook_attn_out']
        if not cfg.parallel:
            block += ['hook_resid_mid']
        block += ['ln2.hook_scale', 'ln2.hook_normalized', 'mlp.hook_pre']
        if cfg.gated:
            block += ['mlp.hook_pre_linear']
        block += ['mlp.hook_post']
        block += ['ln2_post.hook_scale', 'ln2_post.hook_normalized'] if cfg.post_norms else []
        block += ['hook_mlp_out', 'hook_resid_post']
        names += [t + n for n in block]
    return names + ['ln_final.hook_scale', 'ln_final.hook_normalized']


def lm_cross_entropy_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    log_probs = torch.log_softmax(logits, dim=-1)
    return -log_probs[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0].mean()


# ------------------------------------------------------------------------------------------
# from_pretrained processing, in TL's order
# ------------------------------------------------------------------------------------------
def fold_ln(sd: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    """Fold each norm's weight (and LN's bias) into its readers. LN readers are then centred
    along d_model; RMS readers are not (RMS does not centre its input)."""
    sd = dict(sd)
    ln = cfg.norm == 'LN'

    def fold(prefix: str, readers: list[tuple[str, str | None, int]]) -> None:
        w = sd.pop(prefix + 'w')
        b = sd.pop(prefix + 'b') if ln else None
        for wname, bname, axis in readers:
            W = sd[wname]
            shape = [1] * W.dim()
            shape[axis] = -1
            if b is not None:
                assert bname is not None
                sd[bname] = sd[bname] + (W * b.reshape(shape)).sum(axis)
            W = W * w.reshape(shape)
            sd[wname] = W - W.mean(dim=axis, keepdim=True) if ln else W

    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        fold(
            t + 'ln1.',
            [(t + 'attn.W_Q', t + 'attn.b_Q', 1)]
            + [(kv_name(cfg, layer, 'W_' + n), kv_name(cfg, layer, 'b_' + n), 1) for n in 'KV'],
        )
        readers = [(t + 'mlp.W_in', t + 'mlp.b_in', 0)]
        if cfg.gated:
            readers.append((t + 'mlp.W_gate', None, 0))
        fold(t + 'ln2.', readers)
    fold('ln_final.', [('unembed.W_U', 'unembed.b_U', 0)])
    return sd


def center_writing_weights(sd: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    sd = dict(sd)
    c = lambda x: x - x.mean(dim=-1, keepdim=True)  # noqa: E731
    for k in ('embed.W_E', 'pos_embed.W_pos'):
        if k in sd:
            sd[k] = c(sd[k])
    for layer in range(cfg.n_layers):
        for k in ('attn.W_O', 'attn.b_O', 'mlp.W_out', 'mlp.b_out'):
            sd[f'blocks.{layer}.{k}'] = c(sd[f'blocks.{layer}.{k}'])
    return sd


def center_unembed(sd: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    sd = dict(sd)
    sd['unembed.W_U'] = sd['unembed.W_U'] - sd['unembed.W_U'].mean(dim=-1, keepdim=True)
    sd['unembed.b_U'] = sd['unembed.b_U'] - sd['unembed.b_U'].mean()
    return sd


def fold_value_biases(sd: dict[str, torch.Tensor], cfg: Cfg, recenter: bool) -> dict[str, torch.Tensor]:
    """b_O += sum_h b_V[group(h)] @ W_O[h]; b_V = 0 (pattern rows sum to 1)."""
    sd = dict(sd)
    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        name = kv_name(cfg, layer, 'b_V')
        b_V = repeat_kv(sd[name], cfg.n_heads, 0)
        b_O = sd[t + 'attn.b_O'] + torch.einsum('he,hed->d', b_V, sd[t + 'attn.W_O'])
        sd[t + 'attn.b_O'] = b_O - b_O.mean() if recenter else b_O
        sd[name] = torch.zeros_like(sd[name])
    return sd


def process_weights(sd: dict[str, torch.Tensor], cfg: Cfg) -> tuple[dict[str, torch.Tensor], Cfg]:
    """TL's from_pretrained defaults; returns the folded state and the folded config (norm kind
    unchanged in the Cfg: LNPre/RMSPre are recognised by the absent weights)."""
    ln = cfg.norm == 'LN'
    sd = fold_ln(sd, cfg)
    if ln:  # center_writing_weights is for LN models only
        sd = center_writing_weights(sd, cfg)
    if cfg.logit_softcap <= 0:  # centring would change capped log-probs; TL skips it too
        sd = center_unembed(sd, cfg)
    sd = fold_value_biases(sd, cfg, recenter=ln)
    return sd, cfg


# ------------------------------------------------------------------------------------------
# Hugging Face layouts -> TL
# ------------------------------------------------------------------------------------------
def _heads_in(w: torch.Tensor, heads: int, dh: int) -> torch.Tensor:
    """nn.Linear weight [heads*dh, d] (head-major rows) -> [heads, d, dh]."""
    return w.reshape(heads, dh, -1).permute(0, 2, 1).contiguous()


def _heads_out(w: torch.Tensor, heads: int, dh: int) -> torch.Tensor:
    """nn.Linear weight [d, heads*dh] -> W_O [heads, dh, d]."""
    return w.t().reshape(heads, dh, -1).contiguous()


def neo_to_tl(hf: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    h, dh = cfg.n_heads, cfg.d_head
    P = 'transformer.'
    sd = {'embed.W_E': hf[P + 'wte.weight'].clone(), 'pos_embed.W_pos': hf[P + 'wpe.weight'].clone()}
    for layer in range(cfg.n_layers):
        p, t = f'{P}h.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'], sd[t + 'ln1.b'] = hf[p + 'ln_1.weight'], hf[p + 'ln_1.bias']
        for hfn, n in (('q_proj', 'Q'), ('k_proj', 'K'), ('v_proj', 'V')):
            sd[t + f'attn.W_{n}'] = _heads_in(hf[p + f'attn.attention.{hfn}.weight'], h, dh)
            sd[t + f'attn.b_{n}'] = torch.zeros(h, dh, dtype=torch.float64)
        sd[t + 'attn.W_O'] = _heads_out(hf[p + 'attn.attention.out_proj.weight'], h, dh)
        sd[t + 'attn.b_O'] = hf[p + 'attn.attention.out_proj.bias']
        sd[t + 'ln2.w'], sd[t + 'ln2.b'] = hf[p + 'ln_2.weight'], hf[p + 'ln_2.bias']
        sd[t + 'mlp.W_in'] = hf[p + 'mlp.c_fc.weight'].t().contiguous()
        sd[t + 'mlp.b_in'] = hf[p + 'mlp.c_fc.bias']
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.c_proj.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = hf[p + 'mlp.c_proj.bias']
    sd['ln_final.w'], sd['ln_final.b'] = hf[P + 'ln_f.weight'], hf[P + 'ln_f.bias']
    sd['unembed.W_U'] = hf.get('lm_head.weight', hf[P + 'wte.weight']).t().contiguous()
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=torch.float64)
    return sd


def neox_to_tl(hf: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    h, dh, d = cfg.n_heads, cfg.d_head, cfg.d_model
    P = 'gpt_neox.'
    sd = {'embed.W_E': hf[P + 'embed_in.weight'].clone()}
    for layer in range(cfg.n_layers):
        p, t = f'{P}layers.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'], sd[t + 'ln1.b'] = hf[p + 'input_layernorm.weight'], hf[p + 'input_layernorm.bias']
        # fused rows are (head, which, e): view as [h, 3, dh, d]
        W = hf[p + 'attention.query_key_value.weight'].reshape(h, 3, dh, d)
        B = hf[p + 'attention.query_key_value.bias'].reshape(h, 3, dh)
        for i, n in enumerate('QKV'):
            sd[t + f'attn.W_{n}'] = W[:, i].permute(0, 2, 1).contiguous()
            sd[t + f'attn.b_{n}'] = B[:, i].contiguous()
        sd[t + 'attn.W_O'] = _heads_out(hf[p + 'attention.dense.weight'], h, dh)
        sd[t + 'attn.b_O'] = hf[p + 'attention.dense.bias']
        sd[t + 'ln2.w'] = hf[p + 'post_attention_layernorm.weight']
        sd[t + 'ln2.b'] = hf[p + 'post_attention_layernorm.bias']
        sd[t + 'mlp.W_in'] = hf[p + 'mlp.dense_h_to_4h.weight'].t().contiguous()
        sd[t + 'mlp.b_in'] = hf[p + 'mlp.dense_h_to_4h.bias']
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.dense_4h_to_h.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = hf[p + 'mlp.dense_4h_to_h.bias']
    sd['ln_final.w'], sd['ln_final.b'] = hf[P + 'final_layer_norm.weight'], hf[P + 'final_layer_norm.bias']
    sd['unembed.W_U'] = hf['embed_out.weight'].t().contiguous()
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=torch.float64)
    return sd


def llama_to_tl(hf: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    h, dh, d = cfg.n_heads, cfg.d_head, cfg.d_model
    g = cfg.n_kv_heads or h
    P = 'model.'
    sd = {'embed.W_E': hf[P + 'embed_tokens.weight'].clone()}
    for layer in range(cfg.n_layers):
        p, t = f'{P}layers.{layer}.', f'blocks.{layer}.'
        sd[t + 'ln1.w'] = hf[p + 'input_layernorm.weight']
        for hfn, n, heads in (('q_proj', 'Q', h), ('k_proj', 'K', g), ('v_proj', 'V', g)):
            wn = t + 'attn.W_Q' if n == 'Q' else kv_name(cfg, layer, 'W_' + n)
            bn = t + 'attn.b_Q' if n == 'Q' else kv_name(cfg, layer, 'b_' + n)
            sd[wn] = _heads_in(hf[p + f'self_attn.{hfn}.weight'], heads, dh)
            bias = hf.get(p + f'self_attn.{hfn}.bias')
            sd[bn] = bias.reshape(heads, dh) if bias is not None else torch.zeros(heads, dh, dtype=torch.float64)
        sd[t + 'attn.W_O'] = _heads_out(hf[p + 'self_attn.o_proj.weight'], h, dh)
        sd[t + 'attn.b_O'] = hf.get(p + 'self_attn.o_proj.bias', torch.zeros(d, dtype=torch.float64))
        sd[t + 'ln2.w'] = hf[p + 'post_attention_layernorm.weight']
        sd[t + 'mlp.W_gate'] = hf[p + 'mlp.gate_proj.weight'].t().contiguous()
        sd[t + 'mlp.W_in'] = hf[p + 'mlp.up_proj.weight'].t().contiguous()
        sd[t + 'mlp.b_in'] = torch.zeros(cfg.d_mlp, dtype=torch.float64)
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.down_proj.weight'].t().contiguous()
        sd[t + 'mlp.b_out'] = torch.zeros(d, dtype=torch.float64)
    sd['ln_final.w'] = hf[P + 'norm.weight']
    sd['unembed.W_U'] = hf.get('lm_head.weight', hf[P + 'embed_tokens.weight']).t().contiguous()
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=torch.float64)
    return sd


# ------------------------------------------------------------------------------------------
# Independent forwards in the Hugging Face modules' own structure
# ------------------------------------------------------------------------------------------
def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def _hf_cos_sin(rot: int, base: float, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
    inv_freq = 1.0 / base ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot)
    freqs = torch.arange(pos, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)  # [pos, rot]
    return emb.cos(), emb.sin()


def hf_neo_forward(hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: Cfg) -> torch.Tensor:
    """GPTNeoForCausalLM: unscaled attention, local layers see the last `window` keys."""
    P, d, h, dh = 'transformer.', cfg.d_model, cfg.n_heads, cfg.d_head
    bsz, pos = tokens.shape
    x = hf[P + 'wte.weight'][tokens] + hf[P + 'wpe.weight'][torch.arange(pos)]
    causal = torch.tril(torch.ones(pos, pos, dtype=torch.bool))
    for layer in range(cfg.n_layers):
        p = f'{P}h.{layer}.'
        mask = causal
        if cfg.attn_types[layer] == 'local':
            mask = causal ^ torch.tril(causal, -cfg.window)
        a = F.layer_norm(x, (d,), hf[p + 'ln_1.weight'], hf[p + 'ln_1.bias'], cfg.eps)
        split = lambda t: t.reshape(bsz, pos, h, dh).transpose(1, 2)  # noqa: E731
        q = split(a @ hf[p + 'attn.attention.q_proj.weight'].t())
        k = split(a @ hf[p + 'attn.attention.k_proj.weight'].t())
        v = split(a @ hf[p + 'attn.attention.v_proj.weight'].t())
        att = (q @ k.transpose(-1, -2)).masked_fill(~mask, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(bsz, pos, d)
        x = x + y @ hf[p + 'attn.attention.out_proj.weight'].t() + hf[p + 'attn.attention.out_proj.bias']
        m = F.layer_norm(x, (d,), hf[p + 'ln_2.weight'], hf[p + 'ln_2.bias'], cfg.eps)
        m = act_fn(cfg.act, m @ hf[p + 'mlp.c_fc.weight'].t() + hf[p + 'mlp.c_fc.bias'])
        x = x + m @ hf[p + 'mlp.c_proj.weight'].t() + hf[p + 'mlp.c_proj.bias']
    x = F.layer_norm(x, (d,), hf[P + 'ln_f.weight'], hf[P + 'ln_f.bias'], cfg.eps)
    return x @ hf.get('lm_head.weight', hf[P + 'wte.weight']).t()


def hf_neox_forward(hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: Cfg) -> torch.Tensor:
    """GPTNeoXForCausalLM: fused qkv viewed as [b,p,h,3*dh], partial rotate_half rotary,
    parallel residual x + attn(ln1 x) + mlp(ln2 x)."""
    P, d, h, dh, r = 'gpt_neox.', cfg.d_model, cfg.n_heads, cfg.d_head, cfg.rotary_dim
    bsz, pos = tokens.shape
    x = hf[P + 'embed_in.weight'][tokens]
    causal = torch.tril(torch.ones(pos, pos, dtype=torch.bool))
    cos, sin = _hf_cos_sin(r, cfg.rotary_base, pos)
    for layer in range(cfg.n_layers):
        p = f'{P}layers.{layer}.'
        a = F.layer_norm(x, (d,), hf[p + 'input_layernorm.weight'], hf[p + 'input_layernorm.bias'], cfg.eps)
        qkv = a @ hf[p + 'attention.query_key_value.weight'].t() + hf[p + 'attention.query_key_value.bias']
        qkv = qkv.view(bsz, pos, h, 3 * dh).permute(0, 2, 1, 3)  # [b,h,p,3dh]
        q, k, v = qkv[..., :dh], qkv[..., dh : 2 * dh], qkv[..., 2 * dh :]
        q = torch.cat([q[..., :r] * cos + _rotate_half(q[..., :r]) * sin, q[..., r:]], dim=-1)
        k = torch.cat([k[..., :r] * cos + _rotate_half(k[..., :r]) * sin, k[..., r:]], dim=-1)
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(dh)).masked_fill(~causal, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(bsz, pos, d)
        attn_out = y @ hf[p + 'attention.dense.weight'].t() + hf[p + 'attention.dense.bias']
        m = F.layer_norm(
            x, (d,), hf[p + 'post_attention_layernorm.weight'], hf[p + 'post_attention_layernorm.bias'], cfg.eps
        )
        m = act_fn(cfg.act, m @ hf[p + 'mlp.dense_h_to_4h.weight'].t() + hf[p + 'mlp.dense_h_to_4h.bias'])
        x = x + attn_out + m @ hf[p + 'mlp.dense_4h_to_h.weight'].t() + hf[p + 'mlp.dense_4h_to_h.bias']
    x = F.layer_norm(x, (d,), hf[P + 'final_layer_norm.weight'], hf[P + 'final_layer_norm.bias'], cfg.eps)
    return x @ hf['embed_out.weight'].t()


def hf_llama_forward(hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: Cfg) -> torch.Tensor:
    """LlamaForCausalLM: RMSNorm, rotate_half rotary on all of d_head, repeat_kv, SwiGLU."""
    P, d, h, dh = 'model.', cfg.d_model, cfg.n_heads, cfg.d_head
    g = cfg.n_kv_heads or h
    bsz, pos = tokens.shape

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg.eps))

    def lin(x, name):
        y = x @ hf[name + '.weight'].t()
        return y + hf[name + '.bias'] if name + '.bias' in hf else y

    x = hf[P + 'embed_tokens.weight'][tokens]
    causal = torch.tril(torch.ones(pos, pos, dtype=torch.bool))
    cos, sin = _hf_cos_sin(dh, cfg.rotary_base, pos)
    for layer in range(cfg.n_layers):
        p = f'{P}layers.{layer}.'
        a = rms(x, hf[p + 'input_layernorm.weight'])
        q = lin(a, p + 'self_attn.q_proj').view(bsz, pos, h, dh).transpose(1, 2)
        k = lin(a, p + 'self_attn.k_proj').view(bsz, pos, g, dh).transpose(1, 2)
        v = lin(a, p + 'self_attn.v_proj').view(bsz, pos, g, dh).transpose(1, 2)
        q, k = q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin
        k, v = k.repeat_interleave(h // g, dim=1), v.repeat_interleave(h // g, dim=1)
        att = ((q @ k.transpose(-1, -2)) / math.sqrt(dh)).masked_fill(~causal, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(bsz, pos, h * dh)
        x = x + lin(y, p + 'self_attn.o_proj')
        m = rms(x, hf[p + 'post_attention_layernorm.weight'])
        m = F.silu(lin(m, p + 'mlp.gate_proj')) * lin(m, p + 'mlp.up_proj')
        x = x + lin(m, p + 'mlp.down_proj')
    x = rms(x, hf[P + 'norm.weight'])
    return x @ hf.get('lm_head.weight', hf[P + 'embed_tokens.weight']).t()
