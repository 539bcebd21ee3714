"""Reference GPT-2 forward pass and weight processing with TransformerLens semantics.

Written from the maths of the GPT-2 block and TransformerLens's weight processing, not from TransformerLens code.
All computation is in float64; callers round to float32 for storage.

Conventions (TL names and shapes; b=batch, p=pos, h=n_heads, d=d_model, dh=d_head, m=d_mlp, V=vocab):
  embed.W_E [V,d], pos_embed.W_pos [n_ctx,d], blocks.L.ln1.w/b [d],
  blocks.L.attn.W_Q/W_K/W_V [h,d,dh], b_Q/b_K/b_V [h,dh], W_O [h,dh,d], b_O [d],
  blocks.L.ln2.w/b [d], blocks.L.mlp.W_in [d,m], b_in [m], W_out [m,d], b_out [d],
  ln_final.w/b [d], unembed.W_U [d,V], unembed.b_U [V].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


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


# ------------------------------------------------------------------------------------------
# Hugging Face GPT-2 layout -> TL layout
# ------------------------------------------------------------------------------------------
def hf_to_tl(hf: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    d, h, dh = cfg.d_model, cfg.n_heads, cfg.d_head
    sd: dict[str, torch.Tensor] = {
        'embed.W_E': hf['wte.weight'].clone(),
        'pos_embed.W_pos': hf['wpe.weight'].clone(),
    }
    for layer in range(cfg.n_layers):
        p = f'h.{layer}.'
        t = f'blocks.{layer}.'
        sd[t + 'ln1.w'] = hf[p + 'ln_1.weight'].clone()
        sd[t + 'ln1.b'] = hf[p + 'ln_1.bias'].clone()
        # Conv1D weight is [in=d, out=3d]; the out axis is (q|k|v), each (head, d_head).
        w_qkv = hf[p + 'attn.c_attn.weight']
        b_qkv = hf[p + 'attn.c_attn.bias']
        for i, name in enumerate('QKV'):
            w = w_qkv[:, i * d : (i + 1) * d]  # [d, h*dh]
            sd[t + f'attn.W_{name}'] = w.reshape(d, h, dh).permute(1, 0, 2).contiguous()  # [h,d,dh]
            sd[t + f'attn.b_{name}'] = b_qkv[i * d : (i + 1) * d].reshape(h, dh).clone()
        # c_proj weight is [in=h*dh, out=d]
        sd[t + 'attn.W_O'] = hf[p + 'attn.c_proj.weight'].reshape(h, dh, d).clone()
        sd[t + 'attn.b_O'] = hf[p + 'attn.c_proj.bias'].clone()
        sd[t + 'ln2.w'] = hf[p + 'ln_2.weight'].clone()
        sd[t + 'ln2.b'] = hf[p + 'ln_2.bias'].clone()
        sd[t + 'mlp.W_in'] = hf[p + 'mlp.c_fc.weight'].clone()
        sd[t + 'mlp.b_in'] = hf[p + 'mlp.c_fc.bias'].clone()
        sd[t + 'mlp.W_out'] = hf[p + 'mlp.c_proj.weight'].clone()
        sd[t + 'mlp.b_out'] = hf[p + 'mlp.c_proj.bias'].clone()
    sd['ln_final.w'] = hf['ln_f.weight'].clone()
    sd['ln_final.b'] = hf['ln_f.bias'].clone()
    sd['unembed.W_U'] = hf['wte.weight'].t().contiguous()  # tied embedding
    sd['unembed.b_U'] = torch.zeros(cfg.d_vocab, dtype=hf['wte.weight'].dtype)
    return sd


# ------------------------------------------------------------------------------------------
# Forward pass with every hook captured
# ------------------------------------------------------------------------------------------
def gelu_new(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def _norm(hook, prefix: str, x: torch.Tensor, eps: float, w, b) -> torch.Tensor:
    """LN (w, b given) or LNPre (w = b = None). scale = sqrt(mean((x-mean)^2) + eps), [b,p,1]."""
    x = x - x.mean(-1, keepdim=True)
    scale = hook(prefix + 'hook_scale', (x.pow(2).mean(-1, keepdim=True) + eps).sqrt())
    x = x / scale
    if w is not None:
        x = x * w + b
    return hook(prefix + 'hook_normalized', x)


def run_with_cache(sd: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: Cfg, hooks=None):
    """Return (logits [b,p,V], cache: dict name -> tensor in execution order).

    The normalization is LN when `ln1.w` is in the state dict, else LNPre (after fold_ln).
    `hook_result` is always computed (TL only does so with use_attn_result=True).
    `hooks` (optional) maps hook names to functions tensor -> tensor, applied when that hook point
    fires, like TL's forward hooks: the returned value is cached and flows downstream.
    """
    folded = 'ln_final.w' not in sd
    cache: dict[str, torch.Tensor] = {}

    def hook(name: str, x: torch.Tensor) -> torch.Tensor:
        if hooks and name in hooks:
            x = hooks[name](x)
        cache[name] = x
        return x

    bsz, pos = tokens.shape
    embed = hook('hook_embed', sd['embed.W_E'][tokens])
    pos_embed = hook('hook_pos_embed', sd['pos_embed.W_pos'][:pos].unsqueeze(0).expand(bsz, pos, cfg.d_model))
    resid = embed + pos_embed
    causal = torch.ones(pos, pos, dtype=torch.bool).tril()
    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        g = lambda k: sd.get(t + k)  # noqa: E731
        resid = hook(t + 'hook_resid_pre', resid)
        x = _norm(hook, t + 'ln1.', resid, cfg.eps, g('ln1.w'), g('ln1.b'))
        q = hook(t + 'attn.hook_q', torch.einsum('bpd,hde->bphe', x, g('attn.W_Q')) + g('attn.b_Q'))
        k = hook(t + 'attn.hook_k', torch.einsum('bpd,hde->bphe', x, g('attn.W_K')) + g('attn.b_K'))
        v = hook(t + 'attn.hook_v', torch.einsum('bpd,hde->bphe', x, g('attn.W_V')) + g('attn.b_V'))
        scores = torch.einsum('bqhe,bkhe->bhqk', q, k) / math.sqrt(cfg.d_head)
        scores = scores.masked_fill(~causal, float('-inf'))
        scores = hook(t + 'attn.hook_attn_scores', scores)
        pattern = torch.softmax(scores, dim=-1)
        pattern = torch.where(torch.isnan(pattern), torch.zeros_like(pattern), pattern)
        pattern = hook(t + 'attn.hook_pattern', pattern)
        z = hook(t + 'attn.hook_z', torch.einsum('bkhe,bhqk->bqhe', v, pattern))
        result = hook(t + 'attn.hook_result', torch.einsum('bqhe,hed->bqhd', z, g('attn.W_O')))
        attn_out = hook(t + 'hook_attn_out', result.sum(dim=2) + g('attn.b_O'))
        resid_mid = hook(t + 'hook_resid_mid', resid + attn_out)
        x2 = _norm(hook, t + 'ln2.', resid_mid, cfg.eps, g('ln2.w'), g('ln2.b'))
        pre = hook(t + 'mlp.hook_pre', x2 @ g('mlp.W_in') + g('mlp.b_in'))
        post = hook(t + 'mlp.hook_post', gelu_new(pre))
        mlp_out = hook(t + 'hook_mlp_out', post @ g('mlp.W_out') + g('mlp.b_out'))
        resid = hook(t + 'hook_resid_post', resid_mid + mlp_out)
    xf = _norm(hook, 'ln_final.', resid, cfg.eps, sd.get('ln_final.w'), sd.get('ln_final.b'))
    logits = xf @ sd['unembed.W_U'] + sd['unembed.b_U']
    assert folded == ('blocks.0.ln1.w' not in sd)
    return logits, cache


def lm_cross_entropy_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Mean over batch and positions 0..p-2 of -log p(token[i+1] | ..i)."""
    log_probs = torch.log_softmax(logits, dim=-1)
    picked = log_probs[:, :-1].gather(-1, tokens[:, 1:, None])[..., 0]
    return -picked.mean()


def hf_forward(hf: dict[str, torch.Tensor], tokens: torch.Tensor, cfg: Cfg) -> torch.Tensor:
    """Independent forward straight from the Hugging Face tensors (as GPT2LMHeadModel computes it),
    used only to cross-check the TL-layout conversion."""
    F = torch.nn.functional
    d, h, dh = cfg.d_model, cfg.n_heads, cfg.d_head
    bsz, pos = tokens.shape
    x = hf['wte.weight'][tokens] + hf['wpe.weight'][torch.arange(pos)]
    mask = torch.ones(pos, pos, dtype=torch.bool).tril()
    for layer in range(cfg.n_layers):
        p = f'h.{layer}.'
        a = F.layer_norm(x, (d,), hf[p + 'ln_1.weight'], hf[p + 'ln_1.bias'], cfg.eps)
        qkv = a @ hf[p + 'attn.c_attn.weight'] + hf[p + 'attn.c_attn.bias']
        q, k, v = (t.reshape(bsz, pos, h, dh).transpose(1, 2) for t in qkv.split(d, dim=-1))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        att = att.masked_fill(~mask, float('-inf')).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(bsz, pos, d)
        x = x + y @ hf[p + 'attn.c_proj.weight'] + hf[p + 'attn.c_proj.bias']
        m = F.layer_norm(x, (d,), hf[p + 'ln_2.weight'], hf[p + 'ln_2.bias'], cfg.eps)
        m = F.gelu(m @ hf[p + 'mlp.c_fc.weight'] + hf[p + 'mlp.c_fc.bias'], approximate='tanh')
        x = x + m @ hf[p + 'mlp.c_proj.weight'] + hf[p + 'mlp.c_proj.bias']
    x = F.layer_norm(x, (d,), hf['ln_f.weight'], hf['ln_f.bias'], cfg.eps)
    return x @ hf['wte.weight'].t()


# ------------------------------------------------------------------------------------------
# from_pretrained weight processing, in TL's order
# ------------------------------------------------------------------------------------------
def fold_ln(sd: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    """Fold each LN's affine into the weights that read its output, then center those reading
    weights along their d_model (input) axis. LN becomes LNPre: its w/b leave the state dict.

    LN(x) = n*w + b with n centered, so (n*w + b) @ W + c = n @ (w[:,None]*W) + (c + b @ W), and
    n @ (W' - mean_d W') = n @ W' because sum_d n = 0.
    """
    sd = dict(sd)
    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        w1, b1 = sd.pop(t + 'ln1.w'), sd.pop(t + 'ln1.b')
        for n in 'QKV':
            W = sd[t + f'attn.W_{n}']  # [h,d,dh]
            sd[t + f'attn.b_{n}'] = sd[t + f'attn.b_{n}'] + torch.einsum('d,hde->he', b1, W)
            W = W * w1[None, :, None]
            sd[t + f'attn.W_{n}'] = W - W.mean(dim=1, keepdim=True)
        w2, b2 = sd.pop(t + 'ln2.w'), sd.pop(t + 'ln2.b')
        W = sd[t + 'mlp.W_in']  # [d,m]
        sd[t + 'mlp.b_in'] = sd[t + 'mlp.b_in'] + b2 @ W
        W = W * w2[:, None]
        sd[t + 'mlp.W_in'] = W - W.mean(dim=0, keepdim=True)
    wf, bf = sd.pop('ln_final.w'), sd.pop('ln_final.b')
    W = sd['unembed.W_U']  # [d,V]
    sd['unembed.b_U'] = sd['unembed.b_U'] + bf @ W
    W = W * wf[:, None]
    sd['unembed.W_U'] = W - W.mean(dim=0, keepdim=True)
    return sd


def center_writing_weights(sd: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    """Subtract the d_model mean from everything that writes to the residual stream."""
    sd = dict(sd)
    c = lambda x: x - x.mean(dim=-1, keepdim=True)  # noqa: E731  (d_model is the last axis)
    sd['embed.W_E'] = c(sd['embed.W_E'])
    sd['pos_embed.W_pos'] = c(sd['pos_embed.W_pos'])
    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        for k in ('attn.W_O', 'attn.b_O', 'mlp.W_out', 'mlp.b_out'):
            sd[t + k] = c(sd[t + k])
    return sd


def center_unembed(sd: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    """W_U -= mean over vocab; b_U -= mean(b_U). Changes logits by a per-position constant only."""
    sd = dict(sd)
    sd['unembed.W_U'] = sd['unembed.W_U'] - sd['unembed.W_U'].mean(dim=-1, keepdim=True)
    sd['unembed.b_U'] = sd['unembed.b_U'] - sd['unembed.b_U'].mean()
    return sd


def fold_value_biases(sd: dict[str, torch.Tensor], cfg: Cfg, recenter: bool) -> dict[str, torch.Tensor]:
    """b_O += sum_h b_V[h] @ W_O[h]; b_V = 0 (exact since pattern rows sum to 1).
    With centered writing weights the added term is already centered; re-center b_O anyway."""
    sd = dict(sd)
    for layer in range(cfg.n_layers):
        t = f'blocks.{layer}.'
        b_V, W_O = sd[t + 'attn.b_V'], sd[t + 'attn.W_O']
        b_O = sd[t + 'attn.b_O'] + torch.einsum('he,hed->d', b_V, W_O)
        if recenter:
            b_O = b_O - b_O.mean()
        sd[t + 'attn.b_O'] = b_O
        sd[t + 'attn.b_V'] = torch.zeros_like(b_V)
    return sd


def process_weights(sd: dict[str, torch.Tensor], cfg: Cfg) -> dict[str, torch.Tensor]:
    """TL's default from_pretrained processing, in order: fold_ln, center_writing_weights,
    center_unembed, fold_value_biases."""
    sd = fold_ln(sd, cfg)
    sd = center_writing_weights(sd, cfg)
    sd = center_unembed(sd, cfg)
    sd = fold_value_biases(sd, cfg, recenter=True)
    return sd


# Hook names in execution order (TL main, with hook_result enabled).
def hook_names(cfg: Cfg) -> list[str]:
    per_block = [
        'hook_resid_pre',
        'ln1.hook_scale',
        'ln1.hook_normalized',
        'attn.hook_q',
        'attn.hook_k',
        'attn.hook_v',
        'attn.hook_attn_scores',
        'attn.hook_pattern',
        'attn.hook_z',
        'attn.hook_result',
        'hook_attn_out',
        'hook_resid_mid',
        'ln2.hook_scale',
        'ln2.hook_normalized',
        'mlp.hook_pre',
        'mlp.hook_post',
        'hook_mlp_out',
        'hook_resid_post',
    ]
    names = ['hook_embed', 'hook_pos_embed']
    for layer in range(cfg.n_layers):
        names += [f'blocks.{layer}.{n}' for n in per_block]
    return names + ['ln_final.hook_scale', 'ln_final.hook_normalized']
