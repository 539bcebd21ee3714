#!/usr/bin/env python3
"""Trains the shipped `induction-mlp-2l` model with PyTorch on the CPU.

The same task and word vocabulary as `induction-2l` (random words, repeated), but a standard GPT-2
block with an MLP after each attention layer, so that lazylens's neuron and MLP methods have a
small real model to show. The attention-only model is trained by scripts/train-induction.ts on
TensorFlow.js; this one uses PyTorch, which is several times faster on a CPU.

By default it starts from `induction-2l` (`--init-from`): its embeddings, attention and LayerNorms
are copied, so the induction circuit is there from the first step, and the MLPs (output weights 0)
and everything else are then trained together on the data below, which has word-to-word maps of
its own for the MLPs to learn. (Trained from scratch, this model sat on the induction plateau for
the first few hundred steps like `induction-2l`, which needed 4000 steps; at the speed this shared
machine allowed that was hours.) `--init-from ''` trains from scratch.

Writes a Hugging Face GPT-2 folder (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json) and MODEL.md, whose figures are measured by this run. The tokenizer files
are copied from models/induction-2l (the same 355 words plus <|endoftext|>). After saving, it
reloads the folder through lazylens (npx tsx) to check the logits and measure the heads.

    /usr/bin/python3 scripts/train-induction-mlp.py                  # the shipped run
    /usr/bin/python3 scripts/train-induction-mlp.py --steps 50 --out /tmp/m   # a quick trial
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, 'goldens'))
from safetensors_io import load as load_safetensors, to_bytes  # noqa: E402

WORD_MODEL = os.path.join(ROOT, 'models', 'induction-2l')

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument('--steps', type=int, default=1000, help='most training steps')
p.add_argument('--stop-at', type=float, help='early stop at this probe accuracy (default: none)')
p.add_argument('--batch', type=int, default=32)
p.add_argument('--lr', type=float, default=1e-3)
p.add_argument('--warmup', type=int, default=50)
p.add_argument('--seed', type=int, default=4321)
p.add_argument('--d-model', type=int, default=128)
p.add_argument('--heads', type=int, default=4)
p.add_argument('--d-mlp', type=int, default=256)
p.add_argument('--n-ctx', type=int, default=65)
p.add_argument('--min-half', type=int, default=2)
p.add_argument('--max-half', type=int, default=28)
p.add_argument('--skip-share', type=float, default=0.3)
p.add_argument('--bigram-share', type=float, default=0.2)
p.add_argument('--short-share', type=float, default=0.5)
p.add_argument('--short-max', type=int, default=3)
p.add_argument('--max-gap', type=int, default=8)
p.add_argument('--unpredictable-weight', type=float, default=0.1)
p.add_argument('--eval-seqs', type=int, default=256)
p.add_argument('--log-every', type=int, default=200)
p.add_argument('--min-accuracy', type=float, default=0.9, help='refuse to save below this (trials: 0)')
p.add_argument(
    '--init-from',
    default=os.path.join('models', 'induction-2l'),
    help='start from an attention-only GPT-2 folder of the same shape (e.g. models/induction-2l): its '
    'embeddings, attention and LayerNorms are copied, the MLPs start fresh with their output weights 0',
)
p.add_argument('--threads', type=int, default=1, help='torch CPU threads')
p.add_argument('--out', default=os.path.join(ROOT, 'models', 'induction-mlp-2l'))
args = p.parse_args()
torch.set_num_threads(args.threads)

with open(os.path.join(WORD_MODEL, 'tokenizer.json')) as f:
    VOCAB: dict[str, int] = json.load(f)['model']['vocab']
EOT = '<|endoftext|>'
EOT_ID = VOCAB[EOT]
N_WORDS = EOT_ID  # the words are ids 0 … EOT_ID − 1
VOCAB_SIZE = N_WORDS + 1
assert sorted(VOCAB.values()) == list(range(VOCAB_SIZE)), 'word ids must be 0 … vocab − 1'
ID_TO_WORD = {i: w for w, i in VOCAB.items()}

D, H, DMLP, NCTX, NL = args.d_model, args.heads, args.d_mlp, args.n_ctx, 2
DH = D // H
EPS = 1e-5
assert DH * H == D, '--d-model must be a multiple of --heads'

# ---- data -------------------------------------------------------------------------------------

# Fixed word-to-word maps (their own seeds): the third word of a skip-bigram triple a, b, c is
# SKIP_BIGRAM[a]; in a bigram chain each word is BIGRAM of the one before. The first rewards a
# previous-token head, the second a lookup of the current word (the MLPs' natural job).
SKIP_BIGRAM = np.random.default_rng(7).permutation(N_WORDS)
BIGRAM = np.random.default_rng(11).permutation(N_WORDS)


def skip_bigram_row(g: np.random.Generator, n: int) -> tuple[list[int], list[float]]:
    row, pred = [EOT_ID], [0.0] * (n - 1)
    while len(row) < n:
        a, b = (int(x) for x in g.integers(0, N_WORDS, 2))
        row += [a, b, int(SKIP_BIGRAM[a])]
        if len(row) - 2 < n - 1:
            pred[len(row) - 2] = 1.0  # the target at b predicts SKIP_BIGRAM[a]
    return row[:n], pred


def bigram_row(g: np.random.Generator, n: int) -> tuple[list[int], list[float]]:
    row = [EOT_ID, int(g.integers(0, N_WORDS))]
    while len(row) < n:
        row.append(int(BIGRAM[row[-1]]))
    return row, [0.0] + [1.0] * (n - 2)


def short_repeats_row(g: np.random.Generator, n: int) -> tuple[list[int], list[float]]:
    row, pred = [EOT_ID], [0.0] * (n - 1)
    while True:
        lead = int(g.integers(0, 4))
        half = int(g.integers(2, args.short_max + 1))
        gap = int(g.integers(0, args.max_gap + 1))
        if len(row) + lead + 2 * half + gap > n:
            break
        row += [int(x) for x in g.integers(0, N_WORDS, lead)]
        segment = [int(x) for x in g.choice(N_WORDS, half, replace=False)]
        row += segment + [int(x) for x in g.integers(0, N_WORDS, gap)]
        second = len(row)
        row += segment
        for q in range(second + 1, second + half):
            pred[q - 1] = 1.0  # target t predicts position t + 1
    row += [int(x) for x in g.integers(0, N_WORDS, n - len(row))]
    return row, pred


def long_repeat_row(g: np.random.Generator, n: int) -> tuple[list[int], list[float]]:
    hi = min(args.max_half, (n - 1) // 2)
    half = int(g.integers(args.min_half, hi + 1))
    segment = [int(x) for x in g.choice(N_WORDS, half, replace=False)]
    prefix = int(g.integers(0, n - 1 - 2 * half + 1))
    suffix = n - 1 - 2 * half - prefix
    row = [EOT_ID] + [int(x) for x in g.integers(0, N_WORDS, prefix)] + segment + segment
    row += [int(x) for x in g.integers(0, N_WORDS, suffix)]
    second = 1 + prefix + half
    return row, [1.0 if second < t + 1 < second + half else 0.0 for t in range(n - 1)]


def training_batch(g: np.random.Generator, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    rows, preds = [], []
    for _ in range(batch):
        if g.random() < args.skip_share:
            r = skip_bigram_row(g, NCTX)
        elif g.random() < args.bigram_share:
            r = bigram_row(g, NCTX)
        elif g.random() < args.short_share:
            r = short_repeats_row(g, NCTX)
        else:
            r = long_repeat_row(g, NCTX)
        rows.append(r[0])
        preds.append(r[1])
    return torch.tensor(rows), torch.tensor(preds)


def repeated_batch(g: np.random.Generator, batch: int, half: int) -> torch.Tensor:
    """BOS + `half` distinct random words + the same words again."""
    rows = []
    for _ in range(batch):
        w = [int(x) for x in g.choice(N_WORDS, half, replace=False)]
        rows.append([EOT_ID] + w + w)
    return torch.tensor(rows)


# ---- model (GPT-2's block, its tensors named and laid out as in a GPT-2 checkpoint) -----------


def init_params(seed: int) -> dict[str, torch.Tensor]:
    """TransformerLens's default init: weights N(0, 0.8/√d_model), biases 0, LayerNorm weights 1."""
    gen = torch.Generator().manual_seed(seed)
    std = 0.8 / math.sqrt(D)
    shapes: dict[str, tuple[int, ...]] = {'wte.weight': (VOCAB_SIZE, D), 'wpe.weight': (NCTX, D)}
    for l in range(NL):
        shapes |= {
            f'h.{l}.attn.c_attn.weight': (D, 3 * D),
            f'h.{l}.attn.c_proj.weight': (D, D),
            f'h.{l}.mlp.c_fc.weight': (D, DMLP),
            f'h.{l}.mlp.c_proj.weight': (DMLP, D),
        }
    params = {k: torch.randn(s, generator=gen) * std for k, s in shapes.items()}
    for l in range(NL):
        for ln in ('ln_1', 'ln_2'):
            params[f'h.{l}.{ln}.weight'] = torch.ones(D)
            params[f'h.{l}.{ln}.bias'] = torch.zeros(D)
        params[f'h.{l}.attn.c_attn.bias'] = torch.zeros(3 * D)
        params[f'h.{l}.attn.c_proj.bias'] = torch.zeros(D)
        params[f'h.{l}.mlp.c_fc.bias'] = torch.zeros(DMLP)
        params[f'h.{l}.mlp.c_proj.bias'] = torch.zeros(D)
    params['ln_f.weight'] = torch.ones(D)
    params['ln_f.bias'] = torch.zeros(D)
    params['lm_head.weight'] = torch.randn((VOCAB_SIZE, D), generator=gen) * std
    if args.init_from:
        copy_attention_model(params, os.path.join(ROOT, args.init_from))
    return {k: v.requires_grad_() for k, v in params.items()}


def copy_attention_model(params: dict[str, torch.Tensor], folder: str) -> None:
    """Every tensor of the attention-only checkpoint replaces its namesake; each MLP's output
    weight becomes 0, so the copied circuit computes exactly what it did until training moves it."""
    tensors, _ = load_safetensors(os.path.join(folder, 'model.safetensors'))
    for name, value in tensors.items():
        key = name.removeprefix('transformer.')
        if key not in params or tuple(params[key].shape) != value.shape:
            raise SystemExit(f'--init-from {folder}: {name} {value.shape} does not fit this model')
        params[key] = torch.from_numpy(value.astype(np.float32).copy())
    for l in range(NL):
        params[f'h.{l}.mlp.c_proj.weight'] = torch.zeros(DMLP, D)


def gelu_new(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's tanh approximation of GELU (`activation_function: gelu_new`)."""
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def forward(params: dict[str, torch.Tensor], tokens: torch.Tensor) -> torch.Tensor:
    b, n = tokens.shape
    x = params['wte.weight'][tokens] + params['wpe.weight'][:n]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    for l in range(NL):
        pre = f'h.{l}.'
        y = F.layer_norm(x, (D,), params[pre + 'ln_1.weight'], params[pre + 'ln_1.bias'], EPS)
        qkv = y @ params[pre + 'attn.c_attn.weight'] + params[pre + 'attn.c_attn.bias']
        q, k, v = (t.reshape(b, n, H, DH).transpose(1, 2) for t in qkv.split(D, dim=-1))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(DH)
        pattern = scores.masked_fill(~causal, float('-inf')).softmax(-1)
        z = (pattern @ v).transpose(1, 2).reshape(b, n, D)
        x = x + z @ params[pre + 'attn.c_proj.weight'] + params[pre + 'attn.c_proj.bias']
        y = F.layer_norm(x, (D,), params[pre + 'ln_2.weight'], params[pre + 'ln_2.bias'], EPS)
        hidden = gelu_new(y @ params[pre + 'mlp.c_fc.weight'] + params[pre + 'mlp.c_fc.bias'])
        x = x + hidden @ params[pre + 'mlp.c_proj.weight'] + params[pre + 'mlp.c_proj.bias']
    x = F.layer_norm(x, (D,), params['ln_f.weight'], params['ln_f.bias'], EPS)
    return x @ params['lm_head.weight'].T


def token_losses(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy per position: [batch, n − 1]."""
    v = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, v), tokens[:, 1:].reshape(-1), reduction='none').reshape(
        tokens.shape[0], -1
    )


# ---- evaluation -------------------------------------------------------------------------------


@torch.no_grad()
def evaluate_repeats(params, seed: int, seqs: int, half: int) -> dict[str, float]:
    """Mean loss and top-1 on the repeated half (queries half+1 … 2·half−1) and the first half (0 … half−1)."""
    tokens = repeated_batch(np.random.default_rng(seed), seqs, half)
    logits = forward(params, tokens)
    hits = logits.argmax(-1)[:, :-1] == tokens[:, 1:]
    return {
        'half': half,
        'loss': token_losses(logits, tokens).mean().item(),
        'repeated': hits[:, half + 1 : 2 * half].float().mean().item(),
        'first': hits[:, :half].float().mean().item(),
    }


@torch.no_grad()
def evaluate_maps(params, seed: int, seqs: int) -> dict[str, float]:
    """Top-1 on the predictable targets of held-out bigram chains and skip-bigram triples."""
    g = np.random.default_rng(seed)
    out = {}
    for name, make in (('bigram', bigram_row), ('skip', skip_bigram_row)):
        rows = [make(g, NCTX) for _ in range(seqs)]
        tokens = torch.tensor([r[0] for r in rows])
        pred = torch.tensor([r[1] for r in rows]) > 0
        hits = forward(params, tokens).argmax(-1)[:, :-1] == tokens[:, 1:]
        out[name] = hits[pred].float().mean().item()
    return out


# ---- export -----------------------------------------------------------------------------------


def config_json() -> dict:
    return {
        'architectures': ['GPT2LMHeadModel'],
        'model_type': 'gpt2',
        'activation_function': 'gelu_new',
        'n_layer': NL,
        'n_embd': D,
        'n_head': H,
        'n_inner': DMLP,
        'n_positions': NCTX,
        'n_ctx': NCTX,
        'vocab_size': VOCAB_SIZE,
        'layer_norm_epsilon': EPS,
        'scale_attn_weights': True,
        'scale_attn_by_inverse_layer_idx': False,
        'tie_word_embeddings': False,
        'bos_token_id': EOT_ID,
        'eos_token_id': EOT_ID,
        'torch_dtype': 'float32',
    }


def write_folder(out: str, params, metadata: dict[str, str]) -> None:
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'config.json'), 'w') as f:
        f.write(json.dumps(config_json(), indent=2) + '\n')
    tensors = {}
    for k, v in params.items():
        name = k if k == 'lm_head.weight' else f'transformer.{k}'
        tensors[name] = v.detach().numpy().astype('<f4')
    with open(os.path.join(out, 'model.safetensors'), 'wb') as f:
        f.write(to_bytes(tensors, {'format': 'pt', **metadata}))
    for name in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copyfile(os.path.join(WORD_MODEL, name), os.path.join(out, name))


def run_tsx(*argv: str) -> str:
    done = subprocess.run(['npx', 'tsx', *argv], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'npx tsx {" ".join(argv)} failed:\n{done.stderr}')
    return done.stdout.strip()


# ---- training ---------------------------------------------------------------------------------


def learning_rate(step: int) -> float:
    """Linear warm-up, then cosine decay to a tenth of --lr over --steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def main() -> None:
    torch.manual_seed(args.seed)
    params = init_params(args.seed)
    n_params = sum(v.numel() for v in params.values())
    opt = torch.optim.Adam(params.values(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    data = np.random.default_rng(args.seed + 1)
    eval_seed, probe_seed = args.seed + 2, args.seed + 3
    print(
        f'induction-mlp-2l: {NL} layers, d_model {D}, {H} heads x {DH}, d_mlp {DMLP}, n_ctx {NCTX}, '
        f'vocab {VOCAB_SIZE}, {n_params} parameters; torch {torch.__version__}, {args.threads} thread(s)',
        flush=True,
    )
    # what the starting weights already do (for the card: what training changed)
    start_evals = evaluate_repeats(params, eval_seed, args.eval_seqs, 20)
    start_maps = evaluate_maps(params, eval_seed + 100, args.eval_seqs)
    started, cpu_start = time.time(), time.process_time()
    recent, steps_run, last_loss = 0.0, 0, float('nan')
    for step in range(args.steps):
        tokens, predictable = training_batch(data, args.batch)
        weights = torch.where(predictable > 0, 1.0, args.unpredictable_weight)
        loss = (token_losses(forward(params, tokens), tokens) * weights).sum() / weights.sum()
        for group in opt.param_groups:
            group['lr'] = learning_rate(step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 1.0)
        opt.step()
        recent += loss.item()
        last_loss = loss.item()
        steps_run = step + 1
        if steps_run % args.log_every == 0 or steps_run == args.steps:
            probes = [evaluate_repeats(params, probe_seed, 64, h) for h in (3, 20)]
            low = min(pr['repeated'] for pr in probes)
            n = (step % args.log_every) + 1
            print(
                f'step {steps_run:5d}  loss {recent / n:.4f}  lr {learning_rate(step):.2e}  probe repeated '
                f'L=3 {probes[0]["repeated"]:.2%} L=20 {probes[1]["repeated"]:.2%}  {time.time() - started:.0f} s',
                flush=True,
            )
            recent = 0.0
            if args.stop_at is not None and low >= args.stop_at:
                break
    train_s, cpu_s = time.time() - started, time.process_time() - cpu_start

    evals = [evaluate_repeats(params, eval_seed, args.eval_seqs, h) for h in (20, 8, 16, 28)]
    maps = evaluate_maps(params, eval_seed + 100, args.eval_seqs)
    for e in evals:
        print(f'held-out BOS + {e["half"]} + {e["half"]}: loss {e["loss"]:.4f}, '
              f'repeated {e["repeated"]:.2%}, first {e["first"]:.2%}')
    print(f'held-out bigram chains {maps["bigram"]:.2%}, skip-bigram triples {maps["skip"]:.2%}')
    # Never replace a folder with a model that does not do the job.
    if evals[0]['repeated'] < args.min_accuracy:
        raise SystemExit(f'repeated-half accuracy {evals[0]["repeated"]:.2%} is below {args.min_accuracy:.0%}; '
                         f'{args.out} untouched')

    write_folder(args.out, params, {'seed': str(args.seed), 'steps': str(steps_run)})

    # The saved folder must reproduce the trained model through lazylens's own loader.
    check = repeated_batch(np.random.default_rng(eval_seed), 4, 20)
    with torch.no_grad():
        logits = forward(params, check)
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump({'tokens': check.tolist(), 'logits': logits.tolist()}, f)
    try:
        max_diff = float(run_tsx('scripts/induction/compareLogits.ts', args.out, f.name))
    finally:
        os.unlink(f.name)
    print(f'reloaded through lazylens: max |dlogit| = {max_diff:.2e}')
    if not max_diff < 1e-4:
        raise SystemExit(f'the saved model differs from the trained one (max |dlogit| {max_diff})')
    mechanism = run_tsx('scripts/induction/mechanism.ts', args.out)
    print(mechanism)
    total_s = time.time() - started
    with open(os.path.join(args.out, 'MODEL.md'), 'w') as f:
        f.write(model_card(evals, maps, start_evals, start_maps, steps_run, last_loss, n_params, max_diff, mechanism, train_s, cpu_s, total_s))
    print(f'training {train_s:.0f} s wall ({cpu_s:.0f} s CPU), total {total_s:.0f} s')


def model_card(evals, maps, start_evals, start_maps, steps_run, last_loss, n_params, max_diff, mechanism, train_s, cpu_s, total_s) -> str:
    pct = lambda x: f'{100 * x:.2f}%'  # noqa: E731
    rows = '\n'.join(
        f'| BOS + {e["half"]} + {e["half"]} | {e["loss"]:.4f} | {pct(e["repeated"])} | {pct(e["first"])} |'
        for e in evals
    )
    # the folder it was written to is not part of the recipe (the shipped copy is models/induction-mlp-2l)
    argv = sys.argv[1:]
    given = ' '.join(a for i, a in enumerate(argv) if a != '--out' and (i == 0 or argv[i - 1] != '--out'))
    command = f'/usr/bin/python3 scripts/train-induction-mlp.py {given}'.strip()
    size = os.path.getsize(os.path.join(args.out, 'model.safetensors'))
    a, b = 'cat', ID_TO_WORD[int(BIGRAM[VOCAB['cat']])]
    stop_text = (
        f'Early stop: every {args.log_every} steps a probe (64 held-out sequences each of L = 3 and '
        'L = 20, own seed) measures top-1 on the repeated half; training stops at the first probe whose '
        f'lower accuracy is ≥ {pct(args.stop_at)}.'
        if args.stop_at is not None
        else 'No early stop.'
    )
    tl_init = "TransformerLens's default (weights N(0, 0.8/√d_model), biases 0, LN weights 1)"
    init_text = (
        f'from `{args.init_from}`: its token and position embeddings, attention weights, LayerNorms and '
        f'unembedding copied; the MLPs and `ln_2` fresh ({tl_init}), except each MLP output weight, '
        'which starts at 0 so that the copied circuit computes exactly what it did. Before training, '
        f'these weights scored {pct(start_evals["repeated"])} on the repeated half of BOS + 20 + 20 and '
        f'{pct(start_maps["bigram"])} on this script\'s bigram chains (Results has the numbers after)'
        if args.init_from
        else tl_init
    )
    return f"""# induction-mlp-2l

A 2-layer transformer **with MLPs** trained by lazylens on the same task and words as
`induction-2l`: shown `BOS + w1 … wL + w1 … wL`, it predicts the second copy of the words from the
first (induction heads), and it also learnt two fixed word-to-word maps (see Training). It exists so
lazylens's examples, docs and tests have a small real model whose MLP neurons can be read
(`cache.get('blocks.0.mlp.hook_post')`, neuron attributions), in {size / 1e6:.2f} MB of weights.

Licence: MIT, as the lazylens project (weights made by this project's own script; the tokenizer
and word list are `induction-2l`'s; no external data).

## Architecture

A standard GPT-2 block (TransformerLens's `HookedTransformerConfig`): {NL} layers, `d_model` {D},
{H} heads of `d_head` {DH}, `d_mlp` {DMLP} with `gelu_new`, `n_ctx` {NCTX}, LayerNorm (eps 1e-5)
before attention, before the MLP and before the unembedding, learned positional embeddings,
untied unembedding without bias, vocabulary {VOCAB_SIZE} ({N_WORDS} words + `<|endoftext|>`).
{n_params:,} parameters.

Stored as a Hugging Face GPT-2 folder: `config.json` (`GPT2LMHeadModel`), `model.safetensors`
(F32, GPT-2 tensor names, `lm_head.weight` untied), and `induction-2l`'s `tokenizer.json` and
`tokenizer_config.json` (one token per word; see that model's card).

```ts
const model = await HookedTransformer.fromPretrained('induction-mlp-2l');
```

## Training

- Trainer: PyTorch {torch.__version__} on the CPU ({args.threads} thread), `scripts/train-induction-mlp.py`;
  the forward pass is GPT-2's, written out in the script.
- Data: rows of {NCTX} tokens, `<|endoftext|>` then words (NumPy PCG64 generator), {args.batch} rows
  per step, every batch fresh. Four kinds of row, as `induction-2l`'s trainer makes them:
  {pct(args.skip_share)} skip-bigram triples (random a, random b, then a fixed permutation of a),
  {pct((1 - args.skip_share) * args.bigram_share)} bigram chains (each word a fixed permutation of
  the one before; e.g. `{a}` → `{b}`), {pct((1 - args.skip_share) * (1 - args.bigram_share) * args.short_share)}
  rows of short repeats (segments of 2…{args.short_max} words, up to {args.max_gap} words apart), and
  the rest one long repeat of {args.min_half}…{args.max_half} words. The permutations are this
  script's own (seeds 7 and 11 of NumPy's generator), not `induction-2l`'s.
- Loss: next-token cross-entropy, weighted 1 on targets the row makes predictable and
  {args.unpredictable_weight} elsewhere.
- Optimiser: Adam (β 0.9/0.999, ε 1e-8), global-norm clipping at 1, learning rate {args.lr} with
  {args.warmup} warm-up steps then cosine decay towards {args.lr / 10:g} over at most {args.steps}
  steps; batch {args.batch}. {stop_text} **Steps run: {steps_run}** ({steps_run * args.batch:,} rows).
- Init: {init_text}; seeds {args.seed} (init), {args.seed + 1} (data),
  {args.seed + 2} (evaluation), {args.seed + 3} (probe).
- Wall time: **{train_s / 60:.1f} min** training ({total_s / 60:.1f} min with evaluation, saving and
  the lazylens checks), {cpu_s / 60:.1f} min of CPU, on a shared 2-core machine.
- Final training loss (last batch, weighted): {last_loss:.4f}.
- Command (from the repository root):

```
{command}
```

## Results

Held-out evaluation ({args.eval_seqs} fresh sequences per row from the evaluation seed). "Repeated
half": predictions at positions L+1 … 2L−1, whose next token already occurred; "first half":
positions 0 … L−1 (chance is 1/{N_WORDS} = {pct(1 / N_WORDS)}).

| sequence | loss | top-1, repeated half | top-1, first half |
| --- | --- | --- | --- |
{rows}

On the fixed maps ({args.eval_seqs} held-out rows each): top-1 {pct(maps['bigram'])} on bigram chains,
{pct(maps['skip'])} on the third word of skip-bigram triples.

Reloaded through lazylens (`HookedTransformer.fromPretrainedNoProcessing`, checked by
`scripts/induction/compareLogits.ts`): max |Δlogit| against PyTorch = {max_diff:.2e}.

## Mechanism (measured)

Per head, on 16 held-out sequences of BOS + 20 + 20 (lazylens's own data stream), queries at the
repeated-half positions 21 … 39, as in `induction-2l`'s card; measured through lazylens by
`npx tsx scripts/induction/mechanism.ts models/induction-mlp-2l`.

{mechanism}

`test/model/inductionMlp.test.ts` loads the model by name and checks its repeated-half accuracy.
"""


if __name__ == '__main__':
    main()
