"""An independent reference for llama2.c checkpoints and tokenizers, written from llama2.c's
checkpoint format (a header of seven int32s, then float32 weights) and its algorithm (run.c):
one token at a time with a key/value cache, exactly as the C program steps, in float64 numpy.
It shares no code with the TransformerLens-style reference (family_reference.py).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

MAGIC = 0x616B3432


@dataclass
class Header:
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    seq_len: int
    shared: bool
    version: int


def read_checkpoint(path: str) -> tuple[Header, dict[str, np.ndarray]]:
    buf = open(path, 'rb').read()
    (magic,) = struct.unpack('<I', buf[:4])
    if magic == MAGIC:
        (version,) = struct.unpack('<i', buf[4:8])
        assert version == 1
        fields = struct.unpack('<7i', buf[8:36])
        shared = buf[36] != 0
        offset = 256
    else:
        version = 0
        fields = struct.unpack('<7i', buf[:28])
        shared = fields[5] > 0
        offset = 28
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = fields
    h = Header(dim, hidden, layers, heads, kv_heads, abs(vocab), seq_len, shared, version)
    hs = dim // heads
    kv_dim = kv_heads * hs
    shapes = {
        'tok_emb': (h.vocab_size, dim),
        'rms_att': (layers, dim),
        'wq': (layers, dim, dim),
        'wk': (layers, kv_dim, dim),
        'wv': (layers, kv_dim, dim),
        'wo': (layers, dim, dim),
        'rms_ffn': (layers, dim),
        'w1': (layers, hidden, dim),
        'w2': (layers, dim, hidden),
        'w3': (layers, hidden, dim),
        'rms_final': (dim,),
        'freq_cos': (seq_len, hs // 2),
        'freq_sin': (seq_len, hs // 2),
    }
    if version == 0:
        order = list(shapes)
    else:
        order = ['rms_att', 'rms_ffn', 'rms_final', 'tok_emb', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3']
    if not shared:
        shapes['wcls'] = (h.vocab_size, dim)
        order.append('wcls')
    w = {}
    for name in order:
        n = int(np.prod(shapes[name]))
        w[name] = np.frombuffer(buf, dtype='<f4', count=n, offset=offset).reshape(shapes[name]).astype(np.float64)
        offset += 4 * n
    assert offset == len(buf), (offset, len(buf))
    if shared:
        w['wcls'] = w['tok_emb']
    return h, w


class Transformer:
    """run.c's forward: one position per call, keys and values cached per layer."""

    def __init__(self, h: Header, w: dict[str, np.ndarray]):
        self.h, self.w = h, w
        hs = h.dim // h.n_heads
        self.key_cache = np.zeros((h.n_layers, h.seq_len, h.n_kv_heads * hs))
        self.value_cache = np.zeros_like(self.key_cache)

    @staticmethod
    def rmsnorm(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
        ss = np.dot(x, x) / x.size + 1e-5
        return weight * (x / math.sqrt(ss))

    def forward(self, token: int, pos: int) -> np.ndarray:
        h, w = self.h, self.w
        hs = h.dim // h.n_heads
        kv_dim = h.n_kv_heads * hs
        kv_mul = h.n_heads // h.n_kv_heads
        x = w['tok_emb'][token].copy()
        for layer in range(h.n_layers):
            xb = self.rmsnorm(x, w['rms_att'][layer])
            q = w['wq'][layer] @ xb
            k = w['wk'][layer] @ xb
            v = w['wv'][layer] @ xb
            # RoPE: adjacent pairs (i, i+1) of each head; q everywhere, k for i < kv_dim
            for i in range(0, h.dim, 2):
                head_dim = i % hs
                freq = 1.0 / 10000.0 ** (head_dim / hs)
                val = pos * freq
                fcr, fci = math.cos(val), math.sin(val)
                for vec in (q, k) if i < kv_dim else (q,):
                    v0, v1 = vec[i], vec[i + 1]
                    vec[i], vec[i + 1] = v0 * fcr - v1 * fci, v0 * fci + v1 * fcr
            self.key_cache[layer, pos] = k
            self.value_cache[layer, pos] = v
            out = np.zeros(h.dim)
            for head in range(h.n_heads):
                qh = q[head * hs : (head + 1) * hs]
                kv = (head // kv_mul) * hs
                att = np.array([qh @ self.key_cache[layer, t, kv : kv + hs] for t in range(pos + 1)]) / math.sqrt(hs)
                att = np.exp(att - att.max())
                att /= att.sum()
                out[head * hs : (head + 1) * hs] = att @ self.value_cache[layer, : pos + 1, kv : kv + hs]
            x = x + w['wo'][layer] @ out
            xb = self.rmsnorm(x, w['rms_ffn'][layer])
            hb = w['w1'][layer] @ xb
            hb2 = w['w3'][layer] @ xb
            hb = hb * (1.0 / (1.0 + np.exp(-hb))) * hb2
            x = x + w['w2'][layer] @ hb
        x = self.rmsnorm(x, w['rms_final'])
        return w['wcls'] @ x


class Tokenizer:
    """run.c's Tokenizer: pieces with scores; encode by greedy best-score pair merges."""

    def __init__(self, path: str, vocab_size: int):
        buf = open(path, 'rb').read()
        offset = 4
        self.pieces: list[bytes] = []
        self.scores: list[float] = []
        for _ in range(vocab_size):
            score, n = struct.unpack('<fi', buf[offset : offset + 8])
            self.pieces.append(buf[offset + 8 : offset + 8 + n])
            self.scores.append(score)
            offset += 8 + n
        assert offset == len(buf)
        self.lookup: dict[bytes, int] = {}
        for i, p in enumerate(self.pieces):
            self.lookup.setdefault(p, i)

    def encode(self, text: str, bos: bool = True) -> list[int]:
        tokens = [1] if bos else []
        data = text.encode('utf-8')
        if data:
            tokens.append(self.lookup[b' '])
        buf = b''
        for idx, c in enumerate(data):
            if c & 0xC0 != 0x80:
                buf = b''
            buf += bytes([c])
            nxt = data[idx + 1] if idx + 1 < len(data) else 0
            if nxt & 0xC0 == 0x80 and len(buf) < 4:
                continue
            if buf in self.lookup:
                tokens.append(self.lookup[buf])
            else:
                tokens.extend(b + 3 for b in buf)
            buf = b''
        while True:
            best, best_id, best_idx = -1e10, -1, -1
            for i in range(len(tokens) - 1):
                pid = self.lookup.get(self.pieces[tokens[i]] + self.pieces[tokens[i + 1]], -1)
                if pid != -1 and self.scores[pid] > best:
                    best, best_id, best_idx = self.scores[pid], pid, i
            if best_idx == -1:
                break
            tokens[best_idx : best_idx + 2] = [best_id]
        return tokens

    def decode_piece(self, prev: int, token: int) -> bytes:
        piece = self.pieces[token]
        if prev == 1 and piece.startswith(b' '):
            piece = piece[1:]
        if len(piece) == 6 and piece.startswith(b'<0x') and piece.endswith(b'>'):
            piece = bytes([int(piece[3:5], 16)])
        return piece


def generate_greedy(model: Transformer, prompt: list[int], new_tokens: int) -> tuple[list[int], np.ndarray, float]:
    """Prompt then `new_tokens` argmax tokens (run.c's loop at temperature 0), the logits at every
    position of prompt + continuation, and the smallest top-1/top-2 logit gap among the choices
    (how close greedy came to a tie)."""
    tokens = list(prompt)
    logits_all = []
    gap = math.inf
    pos = 0
    while len(tokens) < len(prompt) + new_tokens:
        logits = model.forward(tokens[pos], pos)
        logits_all.append(logits)
        if pos >= len(prompt) - 1:
            top = np.sort(logits)[-2:]
            gap = min(gap, float(top[1] - top[0]))
            tokens.append(int(np.argmax(logits)))
        pos += 1
    logits_all.append(model.forward(tokens[pos], pos))  # the last token's logits too
    return tokens, np.stack(logits_all), gap
