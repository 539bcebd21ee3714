#!/usr/bin/python3
"""ActivationCache goldens: TransformerLens's cache analysis methods, re-derived in PyTorch.

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_cache_golden.py
(also run at the end of make_gpt2_golden.py).

Writes, under test/fixtures/gpt2-tiny-golden/:
  cache_cases.json          a list of cases {id, cache, method, args, stack?, labels, shape, note}
  cache_goldens.safetensors one F32 tensor per case id, plus the projection directions dir.p1 [64]
                            and dir.p3 [64,3]

The methods below follow the semantics of TL's ActivationCache (seed: v2.18, plus main's
project_output_onto), written from TransformerLens's documented semantics, not from its code.
Where TL crashes or is wrong we compute the right answer and say so in the case's note. The maths
runs in float64 on the caches of tl_reference.run_with_cache (hook_result included) and is stored as
float32. See scripts/goldens/README.md.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True

import json  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import safetensors_io  # noqa: E402
import tl_reference as tl  # noqa: E402
from bpe_tokenizer import ByteLevelBPE  # noqa: E402
from golden_common import GOLDEN_DIR, REPO, f32, load_fixture, write_json  # noqa: E402

COMMAND = '/usr/bin/python3 scripts/goldens/make_cache_golden.py'
DIR_SEED = 20261128 + 2
MAX_BYTES = 3 * 1024 * 1024

# Deviations from TL, recorded per case (appended by the methods when they take such a path).
_DEV: list[str] = []


def deviate(msg: str) -> None:
    if msg not in _DEV:
        _DEV.append(msg)


# ------------------------------------------------------------------------------------------
# Slice (TL utils.Slice) over the JSON encoding used in cache_cases.json
# ------------------------------------------------------------------------------------------
class Slice:
    """JSON int -> one index (drops the dim); JSON list -> index list; {start, stop, step} -> a
    Python slice; None -> everything."""

    def __init__(self, spec):
        assert not isinstance(spec, bool), 'bools are rejected'
        self.spec = spec
        if spec is None:
            self.index = slice(None)
        elif isinstance(spec, int):
            self.index = spec
        elif isinstance(spec, list):
            self.index = torch.tensor(spec, dtype=torch.int64)
        elif isinstance(spec, dict):
            assert set(spec) <= {'start', 'stop', 'step'}, spec
            self.index = slice(spec.get('start'), spec.get('stop'), spec.get('step'))
        else:
            raise ValueError(spec)

    @property
    def is_int(self) -> bool:
        return isinstance(self.spec, int)

    def apply(self, t: torch.Tensor, dim: int = 0) -> torch.Tensor:
        dim = dim % t.ndim
        return t[(slice(None),) * dim + (self.index,)]

    def indices(self, n: int) -> list[int]:
        """Resolved non-negative indices into range(n) (ints are normalized too)."""
        r = torch.arange(n)[self.index]
        return [int(r)] if r.ndim == 0 else [int(i) for i in r]


# ------------------------------------------------------------------------------------------
# The cache
# ------------------------------------------------------------------------------------------
def act_name(name: str, layer: int | None = None, layer_type: str | None = None) -> str:
    """The subset of TL get_act_name used here."""
    alias = {'attn': 'pattern', 'attn_logits': 'attn_scores', 'mlp_pre': 'pre', 'mlp_post': 'post'}
    name = alias.get(name, name)
    if layer is None:
        return f'ln_final.hook_{name}' if name in ('scale', 'normalized') else f'hook_{name}'
    if name in ('k', 'v', 'q', 'z', 'result', 'pattern', 'attn_scores'):
        layer_type = 'attn'
    elif name in ('pre', 'post', 'mid'):
        layer_type = 'mlp'
    return f'blocks.{layer}.' + (f'{layer_type}.' if layer_type else '') + f'hook_{name}'


class Cache:
    def __init__(self, tensors, sd, cfg, norm: str, has_batch_dim: bool = True):
        self.d = dict(tensors)
        self.sd, self.cfg, self.norm, self.has_batch_dim = sd, cfg, norm, has_batch_dim
        self.L = cfg.n_layers

    def remove_batch_dim(self) -> 'Cache':
        assert self.has_batch_dim
        for k, v in self.d.items():
            assert v.shape[0] == 1, k
        return Cache({k: v[0] for k, v in self.d.items()}, self.sd, self.cfg, self.norm, False)

    def get(self, name, layer=None, layer_type=None) -> torch.Tensor:
        if layer is not None and layer < 0:
            layer += self.L
        return self.d[act_name(name, layer, layer_type)]

    def _layer(self, layer):
        return self.L if layer is None or layer == -1 else layer

    def _empty(self, pos_slice: Slice) -> torch.Tensor:
        return torch.zeros(0, *pos_slice.apply(self.d['hook_embed'], -2).shape, dtype=torch.float64)

    # --- normalization ---------------------------------------------------------------------
    def ln_final(self, x: torch.Tensor) -> torch.Tensor:
        """The model's real ln_final on every d_model vector (LN with w, b in raw; LNPre in processed)."""
        x = x - x.mean(-1, keepdim=True)
        x = x / (x.pow(2).mean(-1, keepdim=True) + self.cfg.eps).sqrt()
        if self.norm == 'LN':
            x = x * self.sd['ln_final.w'] + self.sd['ln_final.b']
        return x

    def apply_ln_to_stack(self, stack, layer=None, mlp_input=False, pos_slice=None, batch_slice=None,
                          recompute_ln=False):
        pos_slice, batch_slice = Slice(pos_slice), Slice(batch_slice)
        layer = self._layer(layer)
        if self.has_batch_dim:
            stack = batch_slice.apply(stack, 1)
        else:
            assert batch_slice.spec is None, 'batch_slice on a batchless cache'
        if recompute_ln and layer == self.L:
            if stack.ndim == 2:
                deviate('TL crashes here (#1677: a batchless stack with an int pos_slice has 1-D '
                        'components, and the recompute path squeezes dim 1); we apply ln_final to each '
                        'd_model vector')
            return self.ln_final(stack)
        stack = stack - stack.mean(-1, keepdim=True)  # LN and LNPre both center
        if layer == self.L:
            scale = self.d['ln_final.hook_scale']
        else:
            scale = self.d[f'blocks.{layer}.ln{2 if mlp_input else 1}.hook_scale']
        scale = pos_slice.apply(scale, -2)
        if self.has_batch_dim:
            scale = batch_slice.apply(scale, 0)
        return stack / scale

    # --- stacks ----------------------------------------------------------------------------
    def accumulated_resid(self, layer=None, incl_mid=False, apply_ln=False, pos_slice=None, mlp_input=False):
        ps = Slice(pos_slice)
        layer = self._layer(layer)
        assert not (mlp_input and layer == self.L), 'mlp_input needs layer < n_layers'
        comps, labels = [], []
        for l in range(layer + 1):
            if l == self.L:
                comps.append(self.get('resid_post', self.L - 1))
                labels.append('final_post')
                continue
            comps.append(self.get('resid_pre', l))
            labels.append(f'{l}_pre')
            if (incl_mid and l < layer) or (mlp_input and l == layer):
                comps.append(self.get('resid_mid', l))
                labels.append(f'{l}_mid')
        stack = torch.stack([ps.apply(c, -2) for c in comps])
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, layer, mlp_input, pos_slice, recompute_ln=layer == self.L)
        return stack, labels

    def decompose_resid(self, layer=None, mlp_input=False, mode='all', apply_ln=False, pos_slice=None,
                        incl_embeds=True):
        ps = Slice(pos_slice)
        layer = self._layer(layer)
        incl_attn, incl_mlp = mode != 'mlp', mode != 'attn'
        comps, labels = [], []
        if incl_embeds:
            comps += [self.d['hook_embed'], self.d['hook_pos_embed']]
            labels += ['embed', 'pos_embed']
        for l in range(layer):
            if incl_attn:
                comps.append(self.get('attn_out', l))
                labels.append(f'{l}_attn_out')
            if incl_mlp:
                comps.append(self.get('mlp_out', l))
                labels.append(f'{l}_mlp_out')
        if mlp_input and incl_attn:
            assert layer < self.L
            comps.append(self.get('attn_out', layer))
            labels.append(f'{layer}_attn_out')
        if comps:
            stack = torch.stack([ps.apply(c, -2) for c in comps])
        else:
            deviate('TL crashes here (torch.stack of an empty list); we return an empty stack of shape '
                    '[0, *batch_and_pos_dims, d_model]')
            stack = self._empty(ps)
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, layer, mlp_input, pos_slice)
        return stack, labels

    def stack_head_results(self, layer=-1, incl_remainder=False, pos_slice=None, apply_ln=False):
        ps = Slice(pos_slice)
        layer = self._layer(layer)
        labels = [f'L{l}H{h}' for l in range(layer) for h in range(self.cfg.n_heads)]
        if layer > 0:
            heads = torch.cat([ps.apply(self.get('result', l, 'attn'), -3) for l in range(layer)], dim=-2)
            stack = heads.movedim(-2, 0)
        else:
            stack = self._empty(ps)
        if incl_remainder:
            if layer == 0:
                deviate('TL takes the remainder from resid_post[layer-1] = resid_post[-1], which wraps to '
                        'the final layer; we use resid_pre[0], the input to layer 0')
                total = self.get('resid_pre', 0)
            else:
                total = self.get('resid_post', layer - 1)
            stack = torch.cat([stack, (ps.apply(total, -2) - stack.sum(0))[None]])
            labels.append('remainder')
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, layer, pos_slice=pos_slice)
        return stack, labels

    def stack_activation(self, activation_name, layer=-1, sublayer_type=None):
        layer = self._layer(layer)
        comps = [self.get(activation_name, l, sublayer_type) for l in range(layer)]
        if comps:
            return torch.stack(comps), None
        deviate('TL crashes here (torch.stack of an empty list); we return an empty stack of shape '
                '[0, *activation shape]')
        return torch.zeros(0, *self.get(activation_name, 0, sublayer_type).shape, dtype=torch.float64), None

    def get_neuron_results(self, layer, neuron_slice=None, pos_slice=None, project_output_onto=None):
        ps, ns = Slice(pos_slice), Slice(neuron_slice)
        acts = ns.apply(ps.apply(self.get('post', layer, 'mlp'), -2), -1)
        W_out = ns.apply(self.sd[f'blocks.{layer}.mlp.W_out'], 0)
        if project_output_onto is None:
            return acts[..., None] * W_out, None
        # Projection pushdown: a * (W_out @ p); equal to (a * W_out) @ p (asserted in identities).
        Wp = W_out @ project_output_onto
        has_out_dim = project_output_onto.ndim == 2  # a [d_model, k] matrix keeps a trailing k dim
        return (acts[..., None] * Wp if has_out_dim else acts * Wp), None

    def stack_neuron_results(self, layer, pos_slice=None, neuron_slice=None, incl_remainder=False,
                             apply_ln=False, project_output_onto=None):
        ps = Slice(pos_slice)
        layer = self._layer(layer)
        if Slice(neuron_slice).is_int:
            deviate('int neuron_slice: TL collapses the neuron dim and then concatenates along the '
                    'pos dim (wrong shape); we treat int n as [n], so the stack has one row '
                    'per layer, labelled L{l}N{n}')
            neuron_slice = [neuron_slice]
        ns = Slice(neuron_slice)
        neurons = ns.indices(self.cfg.d_mlp)
        labels = [f'L{l}N{n}' for l in range(layer) for n in neurons]
        if layer > 0:
            stack = torch.cat(
                [self.get_neuron_results(l, neuron_slice, pos_slice)[0] for l in range(layer)], dim=-2
            ).movedim(-2, 0)
        else:
            stack = self._empty(ps)
        if incl_remainder:
            if layer == 0:
                deviate('TL takes the remainder from resid_post[layer-1] = resid_post[-1], which wraps to '
                        'the final layer; we use resid_pre[0], the input to layer 0')
                total = self.get('resid_pre', 0)
            else:
                total = self.get('resid_post', layer - 1)
            stack = torch.cat([stack, (ps.apply(total, -2) - stack.sum(0))[None]])
            labels.append('remainder')
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, layer, pos_slice=pos_slice)
        return project(stack, project_output_onto), labels

    def accumulated_bias(self, layer, mlp_input=False, include_mlp_biases=True):
        b = torch.zeros(self.cfg.d_model, dtype=torch.float64)
        for l in range(layer):
            b = b + self.sd[f'blocks.{l}.attn.b_O']
            if include_mlp_biases:
                b = b + self.sd[f'blocks.{l}.mlp.b_out']
        if mlp_input:
            assert layer < self.L
            b = b + self.sd[f'blocks.{layer}.attn.b_O']
        return b

    def get_full_resid_decomposition(self, layer=None, mlp_input=False, expand_neurons=True, apply_ln=False,
                                     pos_slice=None, project_output_onto=None):
        ps = Slice(pos_slice)
        layer = self._layer(layer)
        heads, labels = self.stack_head_results(layer + (1 if mlp_input else 0), pos_slice=pos_slice)
        comps = [heads]
        if layer > 0:
            if expand_neurons:
                neurons, nl = self.stack_neuron_results(layer, pos_slice=pos_slice)
            else:
                neurons, nl = self.decompose_resid(layer, mlp_input, 'mlp', pos_slice=pos_slice, incl_embeds=False)
            comps.append(neurons)
            labels = labels + nl
        comps += [ps.apply(self.d['hook_embed'], -2)[None], ps.apply(self.d['hook_pos_embed'], -2)[None]]
        labels = labels + ['embed', 'pos_embed', 'bias']
        bias = self.accumulated_bias(layer, mlp_input, include_mlp_biases=expand_neurons)
        comps.append(bias.expand((1,) + heads.shape[1:]))
        stack = torch.cat(comps)
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, layer, mlp_input, pos_slice)
        return project(stack, project_output_onto), labels

    # --- logit attribution -----------------------------------------------------------------
    def tokens_to_residual_directions(self, tokens) -> torch.Tensor:
        W_U = self.sd['unembed.W_U']  # [d, V]
        if isinstance(tokens, int):
            return W_U[:, tokens]
        return W_U.t()[torch.tensor(tokens, dtype=torch.int64)]

    def logit_attrs(self, stack, tokens, incorrect_tokens=None, pos_slice=None, batch_slice=None):
        dirs = self.tokens_to_residual_directions(tokens)
        if incorrect_tokens is not None:
            wrong = self.tokens_to_residual_directions(incorrect_tokens)
            if dirs.shape != wrong.shape:
                raise ValueError('tokens and incorrect_tokens must have the same shape')
            dirs = dirs - wrong
        scaled = self.apply_ln_to_stack(stack, -1, pos_slice=pos_slice, batch_slice=batch_slice)
        return (scaled * dirs).sum(-1), None


def project(stack: torch.Tensor, p):
    """project_output_onto (TL main >= 3.3): the result @ p, applied last (after any LN); a [d_model]
    direction drops the last dim, a [d_model, k] matrix replaces it by k."""
    return stack if p is None else stack @ p


# ------------------------------------------------------------------------------------------
# Case table
# ------------------------------------------------------------------------------------------
SNAKE = {
    'layer': 'layer', 'inclMid': 'incl_mid', 'applyLn': 'apply_ln', 'posSlice': 'pos_slice',
    'mlpInput': 'mlp_input', 'mode': 'mode', 'inclEmbeds': 'incl_embeds', 'inclRemainder': 'incl_remainder',
    'activationName': 'activation_name', 'sublayerType': 'sublayer_type', 'neuronSlice': 'neuron_slice',
    'projectOutputOnto': 'project_output_onto', 'batchSlice': 'batch_slice', 'recomputeLn': 'recompute_ln',
    'expandNeurons': 'expand_neurons', 'tokens': 'tokens', 'incorrectTokens': 'incorrect_tokens',
}
METHODS = {
    'accumulatedResid': 'accumulated_resid', 'decomposeResid': 'decompose_resid',
    'stackHeadResults': 'stack_head_results', 'stackActivation': 'stack_activation',
    'getNeuronResults': 'get_neuron_results', 'stackNeuronResults': 'stack_neuron_results',
    'applyLnToStack': 'apply_ln_to_stack', 'getFullResidDecomposition': 'get_full_resid_decomposition',
    'logitAttrs': 'logit_attrs',
}
LABELLED = {'accumulatedResid', 'decomposeResid', 'stackHeadResults', 'stackNeuronResults',
            'getFullResidDecomposition'}

P1, P3 = 'dir.p1', 'dir.p3'
T_THE, T_CAT = ' the', ' cat'


def build_cases(tokens_rows: list[list[int]]) -> list[tuple]:
    """(cache, method, args, stack or None, extra note). posSlice etc. use the JSON encoding."""
    R, P, R1, P1c = 'raw', 'processed', 'raw_b1', 'processed_b1'
    S = lambda start=None, stop=None, step=None: {'start': start, 'stop': stop, 'step': step}  # noqa: E731
    row0, row1 = tokens_rows
    next_tok = [[*r[1:], r[0]] for r in tokens_rows]  # next token (wrapping at the end): [2, 8]
    last = [row0[-1], row1[-1]]  # [batch]
    c: list[tuple] = []
    A = lambda cache, method, args, stack=None, note='': c.append((cache, method, args, stack, note))  # noqa: E731

    # accumulatedResid
    m = 'accumulatedResid'
    A(R, m, {})
    A(P, m, {'layer': None})
    A(R, m, {'layer': 0})
    A(R, m, {'layer': 1})
    A(P, m, {'layer': 2})
    A(R, m, {'layer': -1, 'inclMid': True})
    A(R, m, {'inclMid': True, 'applyLn': True},
      note='full depth: recompute_ln runs the real ln_final (LN with w, b) on every component')
    A(P, m, {'applyLn': True}, note='full depth: recompute_ln runs ln_final (LNPre) on every component')
    A(R, m, {'layer': 2, 'applyLn': True, 'posSlice': -1}, note='layer 2 == n_layers: recompute path')
    A(R, m, {'layer': 1, 'applyLn': True}, note='layer < n_layers: cached blocks.1.ln1 scale, no affine')
    A(R, m, {'layer': 1, 'inclMid': True, 'applyLn': True, 'mlpInput': True}, note='cached blocks.1.ln2 scale')
    A(P, m, {'layer': 0, 'mlpInput': True, 'applyLn': True}, note='appends resid_mid[0]; cached blocks.0.ln2 scale')
    A(R, m, {'layer': 0, 'mlpInput': True})
    A(P, m, {'layer': 1, 'applyLn': True, 'posSlice': 2, 'mlpInput': True})
    A(P, m, {'posSlice': [0, 3, 5], 'inclMid': True})
    A(R, m, {'layer': 1, 'posSlice': S(1, 7, 2)})
    A(P, m, {'layer': -1, 'applyLn': True, 'posSlice': S(-3)})
    A(R, m, {'applyLn': True, 'posSlice': S(None, -1)}, note='{start:null, stop:-1} = all but the last position')
    A(R1, m, {'applyLn': True, 'posSlice': -1})
    A(P1c, m, {'applyLn': True, 'posSlice': -1})
    A(R1, m, {'applyLn': True})
    A(R1, m, {'layer': 1, 'applyLn': True, 'posSlice': 2})
    A(P1c, m, {'inclMid': True})
    A(P1c, m, {'layer': 0, 'mlpInput': True, 'applyLn': True, 'posSlice': [1, 4]})

    # decomposeResid
    m = 'decomposeResid'
    A(R, m, {})
    A(P, m, {})
    A(R, m, {'layer': 0})
    A(R, m, {'layer': 1})
    A(P, m, {'layer': 2})
    A(R, m, {'layer': 1, 'mlpInput': True})
    A(P, m, {'layer': 0, 'mlpInput': True})
    A(R, m, {'mode': 'mlp'})
    A(R, m, {'mode': 'attn'})
    A(P, m, {'layer': 1, 'mode': 'attn', 'mlpInput': True})
    A(P, m, {'layer': 1, 'mode': 'mlp', 'mlpInput': True}, note="mode 'mlp' with mlpInput adds no attn_out")
    A(R, m, {'applyLn': True}, note='cached ln_final scale, centered, no affine (raw LN weights are not applied)')
    A(P, m, {'applyLn': True, 'posSlice': -1})
    A(R, m, {'layer': 1, 'mlpInput': True, 'applyLn': True})
    A(P, m, {'layer': 1, 'applyLn': True})
    A(R, m, {'inclEmbeds': False})
    A(R, m, {'layer': 0, 'inclEmbeds': False})
    A(P, m, {'layer': 0, 'inclEmbeds': False, 'posSlice': -1})
    A(R, m, {'layer': 0, 'inclEmbeds': False, 'mlpInput': True})
    A(P, m, {'layer': 0, 'inclEmbeds': False, 'applyLn': True, 'posSlice': [2, 6]})
    A(R, m, {'posSlice': [1, -1]})
    A(P, m, {'layer': 1, 'mode': 'mlp', 'posSlice': S(2, 5)})
    A(R1, m, {'posSlice': -1, 'applyLn': True})
    A(P1c, m, {'mode': 'attn', 'applyLn': True})
    A(R1, m, {'layer': 0, 'inclEmbeds': False, 'posSlice': -1})
    A(P1c, m, {'layer': 1, 'mlpInput': True, 'inclEmbeds': False})

    # stackHeadResults
    m = 'stackHeadResults'
    A(R, m, {})
    A(P, m, {'layer': -1})
    A(R, m, {'layer': 0})
    A(R, m, {'layer': 1})
    A(P, m, {'layer': 2})
    A(P, m, {'layer': None, 'posSlice': 5})
    A(R, m, {'inclRemainder': True})
    A(R, m, {'layer': 1, 'inclRemainder': True})
    A(R, m, {'layer': 0, 'inclRemainder': True})
    A(P, m, {'layer': 0, 'inclRemainder': True, 'posSlice': -1})
    A(R, m, {'posSlice': -1})
    A(P, m, {'posSlice': [0, 7]})
    A(R, m, {'posSlice': S(2, 5)})
    A(R, m, {'applyLn': True}, note='cached ln_final scale')
    A(P, m, {'layer': 1, 'applyLn': True, 'inclRemainder': True}, note='cached blocks.1.ln1 scale')
    A(R, m, {'layer': 0, 'applyLn': True, 'inclRemainder': True, 'posSlice': 3}, note='cached blocks.0.ln1 scale')
    A(R1, m, {'posSlice': -1, 'applyLn': True})
    A(P1c, m, {'inclRemainder': True})
    A(R1, m, {'layer': 0})
    A(P1c, m, {'layer': 1, 'posSlice': 4, 'inclRemainder': True})

    # stackActivation
    m = 'stackActivation'
    A(R, m, {'activationName': 'resid_pre'}, note='layer omitted = -1 = all layers')
    A(P, m, {'activationName': 'resid_pre', 'layer': -1})
    A(R, m, {'activationName': 'resid_pre', 'layer': 1})
    A(R, m, {'activationName': 'resid_pre', 'layer': 0})
    A(R, m, {'activationName': 'pattern', 'layer': -1})
    A(P, m, {'activationName': 'pattern', 'layer': 1})
    A(R, m, {'activationName': 'pattern', 'layer': 0})
    A(R, m, {'activationName': 'scale', 'sublayerType': 'ln1', 'layer': -1})
    A(P, m, {'activationName': 'scale', 'sublayerType': 'ln1', 'layer': 1})
    A(R, m, {'activationName': 'scale', 'sublayerType': 'ln1', 'layer': 0})
    A(R1, m, {'activationName': 'resid_pre', 'layer': -1})
    A(R1, m, {'activationName': 'pattern', 'layer': 0})
    A(P1c, m, {'activationName': 'scale', 'sublayerType': 'ln1', 'layer': -1})

    # getNeuronResults
    m = 'getNeuronResults'
    A(R, m, {'layer': 0, 'posSlice': -1})
    A(P, m, {'layer': 1, 'posSlice': [0, 7], 'neuronSlice': S(None, None, 8)})
    A(R, m, {'layer': 0, 'neuronSlice': [0, 5, 7]})
    A(P, m, {'layer': 1, 'neuronSlice': S(10, 20)})
    A(R, m, {'layer': 1, 'neuronSlice': 3}, note='int neuronSlice collapses the neuron dim, as in TL')
    A(R, m, {'layer': 0, 'neuronSlice': 3, 'posSlice': -1})
    A(P, m, {'layer': 0, 'neuronSlice': S(None, None, 64)})
    A(P, m, {'layer': 1, 'neuronSlice': S(10, 20), 'posSlice': S(1, 8, 3)})
    A(P, m, {'layer': 0, 'projectOutputOnto': P1})
    A(R, m, {'layer': 1, 'projectOutputOnto': P3})
    A(P, m, {'layer': 1, 'neuronSlice': [0, 5, 7], 'posSlice': [0, 4], 'projectOutputOnto': P3})
    A(R, m, {'layer': 0, 'neuronSlice': 3, 'projectOutputOnto': P1})
    A(R, m, {'layer': 1, 'neuronSlice': 3, 'projectOutputOnto': P3, 'posSlice': -1})
    A(P, m, {'layer': 1, 'neuronSlice': S(10, 20), 'projectOutputOnto': P1, 'posSlice': 6})
    A(R1, m, {'layer': 0, 'neuronSlice': [0, 5, 7], 'posSlice': -1})
    A(P1c, m, {'layer': 1, 'neuronSlice': 3, 'posSlice': 2})
    A(R1, m, {'layer': 1, 'projectOutputOnto': P1})
    A(P1c, m, {'layer': 0, 'neuronSlice': 3, 'posSlice': 2, 'projectOutputOnto': P1}, note='0-d result')

    # stackNeuronResults
    m = 'stackNeuronResults'
    A(R, m, {'layer': 0}, note='empty stack (TL also returns zeros(0, ...) here)')
    A(R, m, {'layer': 0, 'inclRemainder': True})
    A(R, m, {'layer': 1, 'posSlice': -1, 'neuronSlice': S(1, None, 2)})
    A(R, m, {'layer': 2, 'neuronSlice': [0, 5, 7]})
    A(P, m, {'layer': 2, 'neuronSlice': S(10, 20), 'inclRemainder': True})
    A(R, m, {'layer': 2, 'neuronSlice': 3})
    A(P, m, {'layer': 1, 'neuronSlice': 3, 'inclRemainder': True, 'posSlice': -1})
    A(R, m, {'layer': 2, 'projectOutputOnto': P1})
    A(P, m, {'layer': 2, 'projectOutputOnto': P3, 'posSlice': -1})
    A(R, m, {'layer': 2, 'projectOutputOnto': P1, 'inclRemainder': True, 'applyLn': True})
    A(P, m, {'layer': 2, 'applyLn': True, 'neuronSlice': [0, 5, 7]}, note='cached ln_final scale')
    A(R, m, {'layer': 1, 'applyLn': True, 'neuronSlice': S(10, 20), 'posSlice': [2, 5]},
      note='cached blocks.1.ln1 scale')
    A(P, m, {'layer': 1, 'applyLn': True, 'projectOutputOnto': P3, 'inclRemainder': True})
    A(R, m, {'layer': -1, 'posSlice': -1, 'neuronSlice': [-1]}, note='neuron -1 resolves to 255 in the labels')
    A(P, m, {'layer': 2, 'neuronSlice': [0, 5, 7], 'inclRemainder': True, 'posSlice': S(None, None, 2)})
    A(R1, m, {'layer': 2, 'neuronSlice': [0, 5, 7], 'posSlice': -1, 'applyLn': True})
    A(P1c, m, {'layer': 2, 'projectOutputOnto': P1, 'inclRemainder': True, 'posSlice': -1})
    A(R1, m, {'layer': 1, 'neuronSlice': 3, 'posSlice': 4})

    # applyLnToStack
    m = 'applyLnToStack'
    dec = lambda **a: {'method': 'decomposeResid', 'args': a}  # noqa: E731
    dn, d1 = dec(layer=None), dec(layer=1)
    A(R, m, {}, dn)
    A(P, m, {}, dn)
    A(R, m, {'recomputeLn': True}, dn, note='recompute: real ln_final (LN with w, b) per component')
    A(P, m, {'layer': None, 'recomputeLn': True}, dn)
    A(R, m, {'layer': 1}, d1)
    A(P, m, {'layer': 1, 'mlpInput': True}, dec(layer=1, mlpInput=True))
    A(R, m, {'layer': 1, 'recomputeLn': True}, d1, note='recomputeLn is ignored below the final layer (TL too)')
    A(R, m, {'layer': 1, 'mlpInput': True}, d1, note='stack of layer-1 attn input scaled by the ln2 scale')
    A(R, m, {'posSlice': -1}, dec(posSlice=-1))
    A(P, m, {'layer': 1, 'posSlice': [0, 2]}, dec(layer=1, posSlice=[0, 2]))
    A(R, m, {'batchSlice': 1}, dn, note='batchSlice applies to stack dim 1 and to the scale')
    A(P, m, {'batchSlice': [1]}, dn)
    A(R, m, {'posSlice': -1, 'batchSlice': S(1), 'recomputeLn': True}, dec(posSlice=-1),
      note='{start:1, stop:null} on batch; recompute path')
    A(P, m, {'layer': 1, 'batchSlice': 0, 'posSlice': S(2, 6)}, dec(layer=1, posSlice=S(2, 6)))
    A(R1, m, {'posSlice': -1, 'recomputeLn': True}, dec(posSlice=-1))
    A(P1c, m, {'layer': 1}, d1)
    A(R1, m, {'layer': 1, 'mlpInput': True, 'posSlice': 3}, dec(layer=1, mlpInput=True, posSlice=3))

    # getFullResidDecomposition
    m = 'getFullResidDecomposition'
    A(R, m, {'expandNeurons': False})
    A(P, m, {'expandNeurons': False, 'applyLn': True})
    A(R, m, {'layer': 1, 'expandNeurons': False})
    A(R, m, {'layer': 1, 'mlpInput': True, 'expandNeurons': False})
    A(P, m, {'layer': 1, 'mlpInput': True, 'expandNeurons': True, 'posSlice': -1})
    A(R, m, {'posSlice': -1}, note='expandNeurons defaults to true')
    A(P, m, {'projectOutputOnto': P1})
    A(R, m, {'projectOutputOnto': P3, 'posSlice': -1, 'applyLn': True})
    A(P, m, {'layer': 1, 'applyLn': True, 'projectOutputOnto': P1, 'mlpInput': True}, note='cached blocks.1.ln2 scale')
    A(R, m, {'layer': 1, 'applyLn': True, 'projectOutputOnto': P3, 'posSlice': [0, 5]},
      note='cached blocks.1.ln1 scale')
    A(R, m, {'layer': 0})
    A(R, m, {'layer': 0, 'mlpInput': True, 'applyLn': True})
    A(P, m, {'layer': 2, 'expandNeurons': False, 'posSlice': [0, 7], 'applyLn': True})
    A(P1c, m, {'posSlice': -1, 'expandNeurons': True, 'applyLn': True})
    A(R1, m, {'expandNeurons': False, 'layer': 1, 'mlpInput': True})
    A(R1, m, {'projectOutputOnto': P3, 'posSlice': S(4)})

    # logitAttrs
    m = 'logitAttrs'
    acc = lambda **a: {'method': 'accumulatedResid', 'args': a}  # noqa: E731
    full = lambda **a: {'method': 'getFullResidDecomposition', 'args': {'expandNeurons': True, **a}}  # noqa: E731
    A(P, m, {'tokens': next_tok}, dec(), note='tokens [batch,pos]: the next token (row wraps at the end)')
    A(R, m, {'tokens': next_tok}, dec())
    A(R, m, {'tokens': last, 'posSlice': -1}, dec(posSlice=-1), note='tokens [batch] with an int posSlice')
    A(P, m, {'tokens': 260, 'posSlice': -1}, acc(layer=-1, posSlice=-1), note='tokens int')
    A(P, m, {'tokens': next_tok}, acc(), note='final_post row + b_U[token] == logits[token] (fold_ln)')
    A(R, m, {'tokens': next_tok}, acc(inclMid=True))
    A(P, m, {'tokens': next_tok}, full())
    A(R, m, {'tokens': last, 'incorrectTokens': [284, 285], 'posSlice': -1}, full(posSlice=-1))
    A(P, m, {'tokens': T_THE}, dec(), note="tokens ' the' = id 260")
    A(P, m, {'tokens': T_THE, 'incorrectTokens': T_CAT}, dec(), note="' the' = 260, ' cat' = 284")
    A(R, m, {'tokens': 260, 'incorrectTokens': 284}, dec(layer=1, mode='attn'))
    A(P, m, {'tokens': last, 'incorrectTokens': [row0[0], row1[0]], 'posSlice': -1}, acc(inclMid=True, posSlice=-1))
    A(P, m, {'tokens': [next_tok[1]], 'batchSlice': [1]}, dec(), note='batchSlice [1]: stack dim 1 and scale')
    A(R, m, {'tokens': 260, 'posSlice': -1, 'batchSlice': 0}, dec(posSlice=-1),
      note='int batchSlice drops the batch dim')
    A(P, m, {'tokens': [r[1:8:2] for r in next_tok], 'posSlice': [1, 3, 5, 7]}, dec(posSlice=[1, 3, 5, 7]))
    A(R, m, {'tokens': [next_tok[1]], 'batchSlice': S(1, 2), 'incorrectTokens': [next_tok[0]]}, dec(layer=1))
    A(P1c, m, {'tokens': 260, 'posSlice': -1}, acc(posSlice=-1), note='batchless cache, int posSlice')
    A(R1, m, {'tokens': next_tok[0]}, dec(), note='batchless: a 1-D token list is aligned with positions [pos]')
    A(P1c, m, {'tokens': T_THE, 'posSlice': -1}, full(posSlice=-1), note="' the' = 260")
    A(R1, m, {'tokens': 285, 'incorrectTokens': 284, 'posSlice': [6, 7]}, dec(posSlice=[6, 7], mode='mlp'))
    return c


# ------------------------------------------------------------------------------------------
def call(cache: Cache, method: str, args: dict, stack, dirs: dict, tok: ByteLevelBPE):
    kw = {}
    for k, v in args.items():
        key = SNAKE[k]
        if key == 'project_output_onto':
            v = dirs[v]
        if key in ('tokens', 'incorrect_tokens') and isinstance(v, str):
            ids = tok.encode(v)
            assert len(ids) == 1, (v, ids)
            v = ids[0]
        kw[key] = v
    fn = getattr(cache, METHODS[method])
    if stack is not None:
        st, _ = call(cache, stack['method'], stack['args'], None, dirs, tok)
        res = fn(st, **kw)
    else:
        res = fn(**kw)
    return res if isinstance(res, tuple) else (res, None)


def main() -> dict[str, float]:
    torch.set_grad_enabled(False)
    fx = load_fixture()
    cfg, tokens = fx.cfg, fx.tokens
    tok = ByteLevelBPE()

    caches: dict[str, Cache] = {}
    for name, sd, norm in (('raw', fx.raw_sd, 'LN'), ('processed', fx.proc_sd, 'LNPre')):
        logits, d = tl.run_with_cache(sd, tokens, cfg)
        caches[name] = Cache(d, sd, cfg, norm)
        caches[name].logits = logits
        _, d1 = tl.run_with_cache(sd, tokens[0:1], cfg)
        caches[name + '_b1'] = Cache(d1, sd, cfg, norm).remove_batch_dim()

    rng = np.random.RandomState(DIR_SEED)
    dirs_np = {
        P1: rng.standard_normal(cfg.d_model).astype(np.float32),
        P3: rng.standard_normal((cfg.d_model, 3)).astype(np.float32),
    }
    dirs = {k: torch.from_numpy(v).to(torch.float64) for k, v in dirs_np.items()}

    out: dict[str, np.ndarray] = dict(dirs_np)
    cases = []
    for i, (cname, method, args, stack, extra) in enumerate(build_cases(tokens.tolist())):
        cid = f'c{i:03d}'
        _DEV.clear()
        res, labels = call(caches[cname], method, args, stack, dirs, tok)
        assert (labels is not None) == (method in LABELLED), method
        if labels is not None:
            assert len(labels) == res.shape[0], (cid, len(labels), res.shape)
        notes = []
        if extra:
            notes.append(extra)
        if 'projectOutputOnto' in args:
            notes.append('projectOutputOnto (TL main >= 3.3, not in the v2.18 seed) = the unprojected result @ p, '
                         'applied last (after any LN, to every row incl. remainder/heads/embeds/bias); '
                         + ('dir.p1 [64] drops the d_model dim' if args['projectOutputOnto'] == P1
                            else 'dir.p3 [64,3] replaces d_model by 3'))
        notes += ['DEVIATION from TL: ' + d for d in _DEV]
        case = {'id': cid, 'cache': cname, 'method': method, 'args': args}
        if stack is not None:
            case['stack'] = stack
        case.update({'labels': labels, 'shape': list(res.shape), 'note': '; '.join(notes)})
        cases.append(case)
        out[cid] = f32(res)

    checks = identities(caches, cfg, dirs, tokens)
    checks['every _b1 case == the same call on the batch-2 cache, batch row 0'] = b1_vs_batched(
        cases, caches, dirs, tok, out)
    assert checks['every _b1 case == the same call on the batch-2 cache, batch row 0'] <= 1e-6
    sens = f32_input_sensitivity(cases, caches, dirs, tok, out)

    total = sum(v.nbytes for v in out.values())
    assert total <= MAX_BYTES, f'cache goldens too big: {total} bytes'
    path = os.path.join(GOLDEN_DIR, 'cache_goldens.safetensors')
    safetensors_io.save(path, out, {
        'format': 'lazylens-golden', 'command': COMMAND, 'cases': 'test/fixtures/gpt2-tiny-golden/cache_cases.json',
        'identities_max_abs_err': json.dumps(checks),
        'float32_cache_inputs_max_abs_err': json.dumps(sens),
    })
    back, _ = safetensors_io.load(path)
    assert list(back) == list(out) and all(np.array_equal(back[k], v) for k, v in out.items())
    write_json(os.path.join(GOLDEN_DIR, 'cache_cases.json'), cases, compact_lists=True)

    for k, v in checks.items():
        print(f'{v:.3e}  {k}')
    print(f"-- recomputed from float32-rounded caches and weights vs stored goldens: max abs "
          f"{sens['max_abs']:.3e} (case {sens['argmax_abs']}), max abs / (1 + max|golden|) {sens['max_scaled']:.3e}")
    by_method: dict[str, int] = {}
    for c in cases:
        by_method[c['method']] = by_method.get(c['method'], 0) + 1
    print(f'{len(cases)} cases: ' + ', '.join(f'{k} {v}' for k, v in by_method.items()))
    print(f'{sum(1 for c in cases if "DEVIATION" in c["note"])} cases deviate from TL (see notes)')
    for f in ('cache_cases.json', 'cache_goldens.safetensors'):
        p = os.path.join(GOLDEN_DIR, f)
        print(f'{os.path.getsize(p):>9}  {os.path.relpath(p, REPO)}')
    return checks


def f32_input_sensitivity(cases, caches, dirs, tok, out) -> dict:
    """Re-run every case on caches and weights rounded to float32 (what the TS tests load from
    raw/processed.safetensors), in float64, against the stored goldens: a floor for TS tolerances."""
    r = lambda t: t.to(torch.float32).to(torch.float64)  # noqa: E731
    c32 = {}
    for k, c in caches.items():
        c32[k] = Cache({n: r(v) for n, v in c.d.items()}, {n: r(v) for n, v in c.sd.items()}, c.cfg, c.norm,
                       c.has_batch_dim)
    worst, worst_id, scaled = 0.0, None, 0.0
    for c in cases:
        res, _ = call(c32[c['cache']], c['method'], c['args'], c.get('stack'), dirs, tok)
        g = out[c['id']].astype(np.float64)
        if g.size == 0:
            continue
        e = float(np.abs(res.numpy() - g).max())
        scaled = max(scaled, e / (1.0 + float(np.abs(g).max())))
        if e > worst:
            worst, worst_id = e, c['id']
    assert scaled < 1e-5, scaled
    return {'max_abs': worst, 'argmax_abs': worst_id, 'max_scaled': scaled}


def b1_vs_batched(cases, caches, dirs, tok, out) -> float:
    """Each batchless case, re-run on the batched cache of the same variant, must give batch row 0
    (compared on the stored float32 values)."""
    e = 0.0
    for c in cases:
        if not c['cache'].endswith('_b1'):
            continue
        args = dict(c['args'])
        if c['method'] == 'logitAttrs' and isinstance(args.get('tokens'), list):
            args['tokens'] = [args['tokens']] * 2  # a [pos] list becomes [batch, pos]
        res, _ = call(caches[c['cache'][:-3]], c['method'], args, c.get('stack'), dirs, tok)
        row0 = res[0] if c['method'] == 'getNeuronResults' else res[:, 0]
        assert list(row0.shape) == c['shape'], (c['id'], row0.shape, c['shape'])
        e = max(e, float(np.abs(f32(row0).astype(np.float64) - out[c['id']].astype(np.float64)).max(initial=0)))
    return e


# ------------------------------------------------------------------------------------------
# Identities
# ------------------------------------------------------------------------------------------
def identities(caches: dict[str, Cache], cfg, dirs, tokens) -> dict[str, float]:
    mx = lambda a, b: float((a - b).abs().max())  # noqa: E731
    ck: dict[str, float] = {}
    h, m, L = cfg.n_heads, cfg.d_mlp, cfg.n_layers
    for name in ('raw', 'processed'):
        c, b1 = caches[name], caches[name + '_b1']
        sd = c.sd
        ck[f'{name}_b1 cache == row 0 of {name} cache'] = max(mx(b1.d[k], c.d[k][0]) for k in c.d)
        heads, _ = c.stack_head_results(-1)
        e = 0.0
        for l in range(L):
            e = max(e, mx(heads[l * h:(l + 1) * h].sum(0) + sd[f'blocks.{l}.attn.b_O'], c.get('attn_out', l)))
        ck[f'{name}: sum of stackHeadResults heads of layer l + b_O[l] == attn_out[l]'] = e
        neurons, _ = c.stack_neuron_results(L)
        e = e2 = 0.0
        for l in range(L):
            e = max(e, mx(neurons[l * m:(l + 1) * m].sum(0) + sd[f'blocks.{l}.mlp.b_out'], c.get('mlp_out', l)))
            e2 = max(e2, mx(c.get_neuron_results(l)[0].sum(-2) + sd[f'blocks.{l}.mlp.b_out'], c.get('mlp_out', l)))
        ck[f'{name}: sum of stackNeuronResults neurons of layer l + b_out[l] == mlp_out[l]'] = e
        ck[f'{name}: sum_n getNeuronResults(l) + b_out[l] == mlp_out[l]'] = e2
        e = 0.0
        for layer in range(L + 1):
            for mlp_input in ((False, True) if layer < L else (False,)):
                target = c.get('resid_mid', layer) if mlp_input else (
                    c.get('resid_post', L - 1) if layer == L else c.get('resid_pre', layer))
                for expand in (True, False):
                    st, _ = c.get_full_resid_decomposition(layer, mlp_input, expand)
                    e = max(e, mx(st.sum(0), target))
                    st, _ = c.get_full_resid_decomposition(layer, mlp_input, expand, pos_slice=-1)
                    e = max(e, mx(st.sum(0), target[:, -1]))
        ck[f'{name}: getFullResidDecomposition sums to resid_pre[L] (resid_mid[L] with mlpInput), '
           f'L = 0..{L}, expandNeurons both'] = e
        e = 0.0
        for layer in range(L + 1):
            st, _ = c.decompose_resid(layer)
            e = max(e, mx(st.sum(0), c.get('resid_post', L - 1) if layer == L else c.get('resid_pre', layer)))
        ck[f'{name}: decomposeResid(L) sums to resid_pre[L]'] = e
        e = 0.0
        for layer in range(L + 1):
            st, _ = c.stack_head_results(layer, incl_remainder=True)
            e = max(e, mx(st.sum(0), c.get('resid_post', L - 1) if layer == L else c.get('resid_pre', layer)))
            st, _ = c.stack_neuron_results(layer, neuron_slice=[0, 5, 7], incl_remainder=True)
            e = max(e, mx(st.sum(0), c.get('resid_post', L - 1) if layer == L else c.get('resid_pre', layer)))
        ck[f'{name}: stack*Results(L, inclRemainder) sums to resid_pre[L] (incl. L = 0)'] = e
        # projection pushdown == materialize-then-project
        e = 0.0
        for l in range(L):
            for ns in (None, [0, 5, 7], 3):
                for ps in (None, -1):
                    for p in (dirs[P1], dirs[P3]):
                        full_, _ = c.get_neuron_results(l, ns, ps)
                        e = max(e, mx(c.get_neuron_results(l, ns, ps, p)[0], full_ @ p))
        ck[f'{name}: getNeuronResults projected (a * (W_out @ p)) == (a * W_out) @ p'] = e
        # analytic LN-projected neurons: (a/s) * (W_out p - mean(W_out) sum p), ln1 scale of `layer`
        st, _ = c.stack_neuron_results(1, apply_ln=True, project_output_onto=dirs[P1])
        post, W = c.get('post', 0, 'mlp'), sd['blocks.0.mlp.W_out']
        s = c.d['blocks.1.ln1.hook_scale']
        analytic = (post / s) * (W @ dirs[P1] - W.mean(-1) * dirs[P1].sum())
        ck[f'{name}: stackNeuronResults(1, applyLn, p1) == (a/s)(W_out p - mean(W_out) sum p)'] = mx(
            st, analytic.movedim(-1, 0))
        # head results straight from z (TL compute_head_results) == cached hook_result
        ck[f'{name}: (z[..., None] * W_O).sum(-2) == hook_result'] = max(
            mx((c.get('z', l)[..., None] * sd[f'blocks.{l}.attn.W_O']).sum(-2), c.get('result', l)) for l in range(L))
        # recompute path == torch's layer_norm with the final LN's affine (raw) / without (processed)
        acc, _ = c.accumulated_resid(-1, incl_mid=True, apply_ln=True, pos_slice=[1, 6])
        ref, _ = c.accumulated_resid(-1, incl_mid=True, pos_slice=[1, 6])
        F = torch.nn.functional
        ref = F.layer_norm(ref, (cfg.d_model,), sd.get('ln_final.w'), sd.get('ln_final.b'), cfg.eps)
        ck[f'{name}: accumulatedResid(-1, applyLn) == F.layer_norm(component) per component'] = mx(acc, ref)
        # LN linearity with the cached scale: sum of the LN'd decomposition == LN'd total
        st, _ = c.decompose_resid(apply_ln=True)
        normed = c.d['ln_final.hook_normalized']
        if name == 'raw':
            normed = (normed - sd['ln_final.b']) / sd['ln_final.w']
        ck[f'{name}: sum decomposeResid(applyLn) == ln_final normalized (before affine)'] = mx(st.sum(0), normed)
        # logit lens: accumulatedResid(-1, applyLn) final_post @ W_U + b_U == logits (recompute_ln)
        acc, labels = c.accumulated_resid(-1, apply_ln=True)
        assert labels[-1] == 'final_post'
        ck[f'{name}: accumulatedResid(-1, applyLn) final_post @ W_U + b_U == logits'] = mx(
            acc[-1] @ sd['unembed.W_U'] + sd['unembed.b_U'], c.logits)
        # direct logit attribution (exact only with fold_ln)
        if name == 'processed':
            nxt = torch.cat([tokens[:, 1:], tokens[:, :1]], dim=1)
            picked = c.logits.gather(-1, nxt[..., None])[..., 0]
            bU = sd['unembed.b_U'][nxt]
            acc_raw, _ = c.accumulated_resid(-1)
            la, _ = c.logit_attrs(acc_raw, nxt.tolist())
            ck['processed: logitAttrs(accumulatedResid(-1)) final_post + b_U[token] == logits[token]'] = mx(
                la[-1] + bU, picked)
            for label, (st, _) in (
                ('decomposeResid()', c.decompose_resid()),
                ('getFullResidDecomposition(expandNeurons)', c.get_full_resid_decomposition()),
                ('stackHeadResults(-1, inclRemainder)', c.stack_head_results(-1, incl_remainder=True)),
            ):
                la, _ = c.logit_attrs(st, nxt.tolist())
                ck[f'processed: sum logitAttrs({label}) + b_U[token] == logits[token]'] = mx(la.sum(0) + bU, picked)
    for k, v in ck.items():
        assert v <= 1e-9, f'identity failed: {k}: {v}'
    return ck


if __name__ == '__main__':
    main()
