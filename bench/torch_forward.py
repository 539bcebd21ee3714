"""PyTorch side of bench/forward.ts: a GPT-2-small-shaped random model (biases included, as GPT-2
and TransformerLens have them) in eager mode, with every TransformerLens-style activation
captured by forward hooks on identity modules, and greedy generation that re-runs the whole
forward per new token (no key/value cache). Prints one JSON line of rows
{what, batch, pos, tokPerSec, peakMiB}; with --serve it keeps the model and answers timing
requests one at a time, so bench/forward.ts can alternate the two sides run by run.
Written for this project; run: /usr/bin/python3 bench/torch_forward.py --threads 1"""
import argparse
import json
import math
import sys
import time

import torch
from torch import nn

L, D, H, DH, M, V, CTX = 12, 768, 12, 64, 3072, 50257, 1024


class Hook(nn.Identity):
    """A named point whose forward hooks see the activation."""


class LayerNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(D))
        self.b = nn.Parameter(torch.zeros(D))
        self.hook_scale = Hook()
        self.hook_normalized = Hook()

    def forward(self, x):
        x = x - x.mean(-1, keepdim=True)
        scale = self.hook_scale((x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt())
        return self.hook_normalized(x / scale * self.w + self.b)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = LayerNorm(), LayerNorm()
        self.W_Q, self.W_K, self.W_V = (nn.Parameter(torch.randn(H, D, DH) * 0.02) for _ in range(3))
        self.W_O = nn.Parameter(torch.randn(H, DH, D) * 0.02)
        self.W_in = nn.Parameter(torch.randn(D, M) * 0.02)
        self.W_out = nn.Parameter(torch.randn(M, D) * 0.02)
        # GPT-2's biases, added after each product as TransformerLens adds them (zero, as TL's init).
        self.b_Q, self.b_K, self.b_V = (nn.Parameter(torch.zeros(H, DH)) for _ in range(3))
        self.b_O = nn.Parameter(torch.zeros(D))
        self.b_in, self.b_out = nn.Parameter(torch.zeros(M)), nn.Parameter(torch.zeros(D))
        names = ["resid_pre", "q", "k", "v", "attn_scores", "pattern", "z", "attn_out", "resid_mid",
                 "pre", "post", "mlp_out", "resid_post"]
        self.hooks = nn.ModuleDict({n: Hook() for n in names})

    def forward(self, x):
        h = self.hooks
        x = h["resid_pre"](x)
        a = self.ln1(x)
        q = h["q"](torch.einsum("bpd,hdk->bphk", a, self.W_Q) + self.b_Q)
        k = h["k"](torch.einsum("bpd,hdk->bphk", a, self.W_K) + self.b_K)
        v = h["v"](torch.einsum("bpd,hdk->bphk", a, self.W_V) + self.b_V)
        s = torch.einsum("bqhk,bphk->bhqp", q, k) / math.sqrt(DH)
        p = s.shape[-1]
        mask = torch.ones(p, p, dtype=torch.bool).tril()
        s = h["attn_scores"](s.masked_fill(~mask, float("-inf")))
        pat = h["pattern"](s.softmax(-1))
        z = h["z"](torch.einsum("bhqp,bphk->bqhk", pat, v))
        attn_out = h["attn_out"](torch.einsum("bqhk,hkd->bqd", z, self.W_O) + self.b_O)
        mid = h["resid_mid"](x + attn_out)
        pre = h["pre"](self.ln2(mid) @ self.W_in + self.b_in)
        post = h["post"](torch.nn.functional.gelu(pre, approximate="tanh"))
        out = h["mlp_out"](post @ self.W_out + self.b_out)
        return h["resid_post"](mid + out)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.W_E = nn.Parameter(torch.randn(V, D) * 0.02)
        self.W_pos = nn.Parameter(torch.randn(CTX, D) * 0.02)
        self.hook_embed, self.hook_pos_embed = Hook(), Hook()
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln_final = LayerNorm()
        self.W_U = nn.Parameter(torch.randn(D, V) * 0.02)

    def forward(self, tokens, return_logits=True):
        b, p = tokens.shape
        x = self.hook_embed(self.W_E[tokens]) + self.hook_pos_embed(self.W_pos[:p].expand(b, p, D))
        for blk in self.blocks:
            x = blk(x)
        x = self.ln_final(x)
        # TransformerLens's return_type=None: the final LN runs (its hooks fire), the unembed does not.
        return x @ self.W_U if return_logits else None


class Bench:
    """Times the model's passes: plain or with every hook captured, and generation."""

    def __init__(self):
        torch.manual_seed(0)
        self.model = Model().eval()
        self.cache = {}
        self.prompt = torch.randint(0, V, (1, 64))
        self.tokens = {}

    def capture(self, name):
        def fn(_module, _inputs, output):
            self.cache[name] = output.detach()
        return fn

    def forward(self, batch, pos, hooked, repeats):
        """Seconds per pass, after one warm-up pass."""
        tokens = self.tokens.setdefault((batch, pos), torch.randint(0, V, (batch, pos)))
        handles = []
        if hooked:
            handles = [m.register_forward_hook(self.capture(n))
                       for n, m in self.model.named_modules() if isinstance(m, Hook)]
        with torch.no_grad():
            self.model(tokens)  # warm-up
            t0 = time.perf_counter()
            for _ in range(repeats):
                self.cache.clear()
                self.model(tokens)
            seconds = (time.perf_counter() - t0) / repeats
        for hnd in handles:
            hnd.remove()
        self.cache.clear()
        return seconds

    def generate(self, new_tokens):
        """Seconds for `new_tokens` greedy tokens after the 64-token prompt, re-running the prompt each step."""
        def run(n):
            tokens = self.prompt
            for _ in range(n):
                nxt = self.model(tokens)[:, -1].argmax(-1, keepdim=True)
                tokens = torch.cat([tokens, nxt], dim=1)

        with torch.no_grad():
            run(2)  # warm-up
            t0 = time.perf_counter()
            run(new_tokens)
            return time.perf_counter() - t0


def serve(bench):
    """One JSON request a line on stdin, one JSON answer a line on stdout: {"seconds": s}.
    Requests: {"threads": t, "op": "forward" | "hooks", "batch": b, "pos": p, "repeats": r}
    or {"threads": t, "op": "generate", "newTokens": n}."""
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        torch.set_num_threads(req["threads"])
        if req["op"] == "generate":
            seconds = bench.generate(req["newTokens"])
        else:
            seconds = bench.forward(req["batch"], req["pos"], req["op"] == "hooks", req["repeats"])
        print(json.dumps({"seconds": seconds}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--serve", action="store_true", help="answer timing requests on stdin (see serve)")
    args = parser.parse_args()
    bench = Bench()
    if args.serve:
        serve(bench)
        return
    torch.set_num_threads(args.threads)
    rows = []
    for batch, pos in [(1, 64), (8, 128)]:
        for what, hooked in [("PyTorch eager forward", False), ("PyTorch eager forward with hooks", True)]:
            seconds = bench.forward(batch, pos, hooked, args.repeats)
            rows.append({"what": what, "batch": batch, "pos": pos, "tokPerSec": batch * pos / seconds, "peakMiB": float("nan")})
    seconds = bench.generate(args.new_tokens)
    rows.append({"what": "PyTorch eager generate (no KV cache)", "batch": 1, "pos": 64,
                 "tokPerSec": args.new_tokens / seconds, "peakMiB": float("nan")})
    print(json.dumps(rows).replace("NaN", "null"))


if __name__ == "__main__":
    main()
