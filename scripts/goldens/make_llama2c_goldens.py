#!/usr/bin/python3
"""Generate the llama2.c golden fixtures for lazylens.

Usage (from the repository root):  /usr/bin/python3 scripts/goldens/make_llama2c_goldens.py

Writes
  test/fixtures/llama2c-tiny/          a random-weight llama2.c model: model.bin (version 0, with its
                                       own classifier), model-v1.bin (the same weights in the
                                       version 1 layout) and tokenizer.bin (300 tokens)
  test/fixtures/llama2c-tiny-golden/   golden.safetensors (tokens, logits), meta.json
  test/fixtures/stories260K-golden/    golden.safetensors, meta.json — only when
                                       ../shared/models/stories260K exists beside the repository;
                                       the model itself is never copied

The numbers come from llama2c_reference.py, which steps one token at a time as llama2.c's run.c
does (float64). Deterministic: numpy's legacy RandomState.
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True

import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import struct  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import llama2c_reference as ref  # noqa: E402
import safetensors_io  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
FIXTURES = os.path.join(REPO, 'test', 'fixtures')
STORIES = os.path.abspath(os.path.join(REPO, '..', 'shared', 'models', 'stories260K'))
COMMAND = '/usr/bin/python3 scripts/goldens/make_llama2c_goldens.py'
SEED = 20261130

TOKENIZER_CASES = [
    'Once upon a time',
    '',
    'Hello, world!',
    "The little girl's dog ran to the park.",
    '  two  spaces\nand a newline',
    'héllo ü 日本 🙂',
    'x<0x41>y',
]
TINY_CASES = ['the cat sat on the mat', 'the hat', 'zebra!', 'é']


def write_json(path: str, obj) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write('\n')


def sha256(path: str) -> str:
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def run_c_text(tok: ref.Tokenizer, tokens: list[int]) -> str:
    """What run.c prints for a sequence: each next token's piece given the previous token."""
    out = b''.join(tok.decode_piece(prev, nxt) for prev, nxt in zip(tokens, tokens[1:]))
    return out.decode('utf-8', errors='replace')


def golden_for(model_path: str, tok_path: str, prompt: str, new_tokens: int, cases: list[str]):
    h, w = ref.read_checkpoint(model_path)
    tok = ref.Tokenizer(tok_path, h.vocab_size)
    prompt_ids = tok.encode(prompt, bos=True)
    model = ref.Transformer(h, w)
    tokens, logits, gap = ref.generate_greedy(model, prompt_ids, new_tokens)
    tensors = {
        'tokens': np.array([tokens], dtype=np.int32),
        'logits': logits[None].astype(np.float32),
    }
    meta = {
        'command': COMMAND,
        'header': h.__dict__,
        'prompt': prompt,
        'prompt_ids': prompt_ids,
        'new_tokens': new_tokens,
        'continuation_ids': tokens[len(prompt_ids) :],
        'bos_in_continuation': 1 in tokens[len(prompt_ids) :],
        'text_as_run_c_prints': run_c_text(tok, tokens),
        'min_top2_logit_gap': gap,
        'tokenizer_cases': [{'text': s, 'ids': tok.encode(s, bos=False)} for s in cases],
    }
    return tensors, meta


def make_tiny(dir_: str) -> None:
    """A 2-layer llama2.c model with grouped-query attention and a separate classifier."""
    rng = np.random.RandomState(SEED)
    dim, hidden, layers, heads, kv_heads, seq_len = 32, 48, 2, 4, 2, 32
    hs = dim // heads
    merges = [' t', 'he', ' the', ' a', 'in', ' c', 'at', ' cat', ' s', ' sat', 'on', ' on']
    singles = list(' abcdefghijklmnopqrstuvwxyz.,')  # '!' is left to byte fallback
    pieces = [b'<unk>', b'\n<s>\n', b'\n</s>\n'] + [f'<0x{b:02X}>'.encode() for b in range(256)]
    scores = [0.0] * len(pieces)
    for rank, p in enumerate(merges + singles):
        pieces.append(p.encode())
        scores.append(-float(rank))
    vocab = len(pieces)
    with open(os.path.join(dir_, 'tokenizer.bin'), 'wb') as f:
        f.write(struct.pack('<i', max(len(p) for p in pieces)))
        for p, s in zip(pieces, scores):
            f.write(struct.pack('<fi', s, len(p)) + p)

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(shape):
        return rng.uniform(0.5, 1.5, size=shape).astype(np.float32)

    w = {
        'tok_emb': normal((vocab, dim), 0.5),
        'rms_att': norm((layers, dim)),
        'wq': normal((layers, dim, dim), 0.25),
        'wk': normal((layers, kv_heads * hs, dim), 0.25),
        'wv': normal((layers, kv_heads * hs, dim), 0.25),
        'wo': normal((layers, dim, dim), 0.25),
        'rms_ffn': norm((layers, dim)),
        'w1': normal((layers, hidden, dim), 0.25),
        'w2': normal((layers, dim, hidden), 0.25),
        'w3': normal((layers, hidden, dim), 0.25),
        'rms_final': norm((dim,)),
        'wcls': normal((vocab, dim), 0.3),
    }
    angles = np.arange(seq_len)[:, None] * 10000.0 ** (-np.arange(0, hs, 2) / hs)[None, :]
    fields = (dim, hidden, layers, heads, kv_heads, vocab, seq_len)
    v0 = ['tok_emb', 'rms_att', 'wq', 'wk', 'wv', 'wo', 'rms_ffn', 'w1', 'w2', 'w3', 'rms_final']
    with open(os.path.join(dir_, 'model.bin'), 'wb') as f:
        f.write(struct.pack('<7i', *fields[:5], -vocab, seq_len))  # negative: separate classifier
        for name in v0:
            f.write(w[name].tobytes())
        f.write(np.cos(angles).astype(np.float32).tobytes() + np.sin(angles).astype(np.float32).tobytes())
        f.write(w['wcls'].tobytes())
    v1 = ['rms_att', 'rms_ffn', 'rms_final', 'tok_emb', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', 'wcls']
    with open(os.path.join(dir_, 'model-v1.bin'), 'wb') as f:
        header = struct.pack('<Ii7iB', ref.MAGIC, 1, *fields, 0)
        f.write(header + b'\0' * (256 - len(header)))
        for name in v1:
            f.write(w[name].tobytes())


def main() -> None:
    tiny_dir = os.path.join(FIXTURES, 'llama2c-tiny')
    os.makedirs(tiny_dir, exist_ok=True)
    make_tiny(tiny_dir)
    outputs = [
        (
            'llama2c-tiny',
            os.path.join(tiny_dir, 'model.bin'),
            os.path.join(tiny_dir, 'tokenizer.bin'),
            'the cat sat on the mat',
            8,
            TINY_CASES,
        )
    ]
    # both layouts must give the same model
    _, w0 = ref.read_checkpoint(os.path.join(tiny_dir, 'model.bin'))
    _, w1 = ref.read_checkpoint(os.path.join(tiny_dir, 'model-v1.bin'))
    assert all(np.array_equal(w0[k], w1[k]) for k in w1)
    if os.path.isdir(STORIES):
        outputs.append(
            (
                'stories260K',
                os.path.join(STORIES, 'stories260K.bin'),
                os.path.join(STORIES, 'tok512.bin'),
                'Once upon a time',
                32,
                TOKENIZER_CASES,
            )
        )
    else:
        print(f'skipping stories260K: {STORIES} not found')
    for name, model_path, tok_path, prompt, n, cases in outputs:
        tensors, meta = golden_for(model_path, tok_path, prompt, n, cases)
        meta['description'] = (
            f'Golden tokens and logits for {name} from scripts/goldens/llama2c_reference.py, an independent '
            "float64 transcription of llama2.c's run.c (one position at a time, key/value cache), stored as float32."
        )
        meta['sha256'] = {os.path.basename(model_path): sha256(model_path), os.path.basename(tok_path): sha256(tok_path)}
        out_dir = os.path.join(FIXTURES, f'{name}-golden')
        os.makedirs(out_dir, exist_ok=True)
        safetensors_io.save(os.path.join(out_dir, 'golden.safetensors'), tensors, {'command': COMMAND})
        write_json(os.path.join(out_dir, 'meta.json'), meta)
        print(
            f'{name}: prompt {meta["prompt_ids"]} -> {meta["continuation_ids"]} '
            f'(min top-2 gap {meta["min_top2_logit_gap"]:.4f}); {meta["text_as_run_c_prints"]!r}'
        )


if __name__ == '__main__':
    main()
