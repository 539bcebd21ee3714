"""PyTorch side of bench/dla.ts: last-token direct logit attribution per head over a JSON Lines file
of prompts (token ids with an answer id), the way one would write it in PyTorch: forward hooks
only on the activations the attribution needs (each layer's z and MLP output, the embeddings and
the final LN scale), each keeping the last real position of each row only, and no unembedding
(TransformerLens's return_type=None): the job needs the answer's W_U column, not the logits.
Right-padded batches: with a causal mask and absolute positions, padding after a row's last token
cannot change it. Batches take the prompts in file order; with --group-by-length W, prompts are
sorted by length within windows of W batches first (as lazylens's streamDla does by default) and
the lines written back in file order, to show what that grouping gives PyTorch.
Writes one JSON line per prompt (index, answerId, position, total, top-5 components) like
lazylens's streamDla, and prints one JSON line {seconds, prompts, tokens, components}.
Written for this project; run: /usr/bin/python3 bench/torch_dla.py IN.jsonl OUT.jsonl --threads 2"""
import argparse
import json
import time

import torch

from torch_forward import D, H, L, Model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("inp")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--group-by-length", type=int, default=1, help="batches per window sorted by length")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = Model().eval()
    labels = ["embed", "pos_embed"] + [f"L{l}H{h}" for l in range(L) for h in range(H)] + [f"{l}_mlp_out" for l in range(L)]

    saved = {}
    rows = None  # (batch index, last position) of the batch being run

    def keep_last(name):
        def fn(_module, _inputs, output):
            saved[name] = output[rows[0], rows[1]].detach()
        return fn

    wanted = {"hook_embed", "hook_pos_embed", "ln_final.hook_scale"}
    wanted |= {f"blocks.{l}.hooks.{n}" for l in range(L) for n in ("z", "mlp_out")}
    for name, module in model.named_modules():
        if name in wanted:
            module.register_forward_hook(keep_last(name))

    t0 = time.perf_counter()
    with open(args.inp) as f:
        records = [json.loads(line) for line in f if line.strip()]
    W_O = torch.stack([b.W_O for b in model.blocks])  # [L, H, dh, D]
    mean = torch.zeros(len(labels))
    tokens_seen = 0
    window = args.batch_size * args.group_by_length
    order = []  # prompt indices in the order batches take them
    for w in range(0, len(records), window):
        order += sorted(range(w, min(w + window, len(records))), key=lambda i: len(records[i]["prompt"]))
    lines = {}
    written = 0
    with open(args.out, "w") as out, torch.no_grad():
        for start in range(0, len(order), args.batch_size):
            indices = order[start:start + args.batch_size]
            batch = [records[i] for i in indices]
            lengths = torch.tensor([len(r["prompt"]) for r in batch])
            tokens = torch.zeros(len(batch), int(lengths.max()), dtype=torch.long)
            for i, r in enumerate(batch):
                tokens[i, :len(r["prompt"])] = torch.tensor(r["prompt"])
            tokens_seen += int(lengths.sum())
            rows = (torch.arange(len(batch)), lengths - 1)
            model(tokens, return_logits=False)  # as TL's return_type=None: the job reads no logits
            z = torch.stack([saved[f"blocks.{l}.hooks.z"] for l in range(L)], 1)  # [b, L, H, dh]
            heads = torch.einsum("blhk,lhkd->blhd", z, W_O).reshape(len(batch), L * H, D)
            mlp = torch.stack([saved[f"blocks.{l}.hooks.mlp_out"] for l in range(L)], 1)
            stack = torch.cat([saved["hook_embed"][:, None], saved["hook_pos_embed"][:, None], heads, mlp], 1)
            stack = (stack - stack.mean(-1, keepdim=True)) / saved["ln_final.hook_scale"][:, None]
            answers = torch.tensor([r["answer"] for r in batch])
            attrs = torch.einsum("bcd,db->bc", stack, model.W_U[:, answers])  # [b, components]
            mean += attrs.sum(0)
            for i, r in enumerate(batch):
                a = attrs[i]
                top = a.abs().argsort(descending=True)[:5].tolist()
                lines[indices[i]] = json.dumps({"index": indices[i], "answerId": r["answer"], "position": int(lengths[i]) - 1,
                                                "total": float(a.sum()),
                                                "top": [{"component": labels[c], "attribution": float(a[c])} for c in top]}) + "\n"
            text = ""
            while written in lines:
                text += lines.pop(written)
                written += 1
            out.write(text)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "prompts": len(records), "tokens": tokens_seen, "components": len(labels)}))


if __name__ == "__main__":
    main()
