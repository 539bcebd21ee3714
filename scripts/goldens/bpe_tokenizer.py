"""A tiny GPT-2-style byte-level BPE tokenizer, written from scratch for the golden fixtures.

It builds the vocabulary and merge list, serializes them as a Hugging Face ``tokenizer.json``
(model type BPE, ByteLevel pre-tokenizer/decoder/post-processor) and implements encode/decode
independently, so the TypeScript side can check its tokenizer against these Python results.

Only the Python standard library is used.
"""

from __future__ import annotations

import unicodedata

EOT = '<|endoftext|>'

# Merges over common English letter pairs and words, in rank order (rank 0 first). Each entry is
# (left, right) in byte-level symbols ("Ġ" is the byte for a space). Every part must already be in
# the vocabulary when its merge is reached; the merged string is appended to the vocabulary.
MERGES: list[tuple[str, str]] = [
    ('Ġ', 't'),
    ('h', 'e'),
    ('Ġ', 'a'),
    ('i', 'n'),
    ('Ġt', 'he'),
    ('e', 'r'),
    ('o', 'n'),
    ('Ġ', 's'),
    ('a', 't'),
    ('Ġ', 'w'),
    ('Ġ', 'o'),
    ('r', 'e'),
    ('n', 'd'),
    ('Ġ', 'c'),
    ('i', 's'),
    ('Ġ', 'b'),
    ('e', 'n'),
    ('Ġ', 'f'),
    ('Ġ', 'm'),
    ('o', 'u'),
    ('Ġ', 'p'),
    ('e', 'd'),
    ('in', 'g'),
    ('Ġ', 'd'),
    ('Ġa', 'nd'),
    ('Ġ', 'on'),
    ('Ġ', 'i'),
    ('Ġs', 'at'),
    ('Ġc', 'at'),
    ('Ġm', 'at'),
    ('T', 'he'),
    ('o', 'r'),
    ('Ġt', 'o'),
    ('Ġo', 'f'),
    ('l', 'l'),
    ('Ġ', 'is'),
    ('Ġ', 'in'),
    ('a', 'r'),
    ('Ġ', 'h'),
    ('e', 's'),
    ('s', 't'),
    ('Ġ', 'l'),
    ('o', 'g'),
    ('Ġd', 'og'),
    ('Ġ', 'r'),
    ('a', 'n'),
    ('Ġr', 'an'),
]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable-unicode-character table.

    Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves; the other 68 bytes
    (controls, space, DEL, NBSP, soft hyphen) map, in byte order, to U+0100, U+0101, ...
    The dict's insertion order is GPT-2's vocabulary order for the 256 byte tokens.
    """
    printable = (
        list(range(ord('!'), ord('~') + 1))
        + list(range(ord('¡'), ord('¬') + 1))
        + list(range(ord('®'), ord('ÿ') + 1))
    )
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_TO_UNICODE = bytes_to_unicode()
UNICODE_TO_BYTE = {c: b for b, c in BYTE_TO_UNICODE.items()}


class ByteLevelBPE:
    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        for ch in BYTE_TO_UNICODE.values():
            self.vocab[ch] = len(self.vocab)
        self.merges: list[tuple[str, str]] = []
        self.ranks: dict[tuple[str, str], int] = {}
        for left, right in MERGES:
            assert left in self.vocab and right in self.vocab, (left, right)
            merged = left + right
            assert merged not in self.vocab, merged
            self.ranks[(left, right)] = len(self.merges)
            self.merges.append((left, right))
            self.vocab[merged] = len(self.vocab)
        self.eot_id = len(self.vocab)
        self.vocab[EOT] = self.eot_id
        self.id_to_token = {i: t for t, i in self.vocab.items()}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    # --- pre-tokenization -------------------------------------------------------------------
    # GPT-2's split pattern, re-implemented as a scanner (the stdlib `re` lacks \p{L}/\p{N}):
    #   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    @staticmethod
    def _kind(ch: str) -> str:
        if ch.isspace():
            return 's'
        cat = unicodedata.category(ch)
        if cat.startswith('L'):
            return 'L'
        if cat.startswith('N'):
            return 'N'
        return 'O'

    @classmethod
    def pre_tokenize(cls, text: str) -> list[str]:
        out: list[str] = []
        i, n = 0, len(text)
        while i < n:
            # 1. contractions, in alternation order
            hit = None
            for c in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
                if text.startswith(c, i):
                    hit = c
                    break
            if hit is not None:
                out.append(hit)
                i += len(hit)
                continue
            # 2-4. optional single space, then a run of letters / numbers / other
            start = i
            j = i + 1 if (text[i] == ' ' and i + 1 < n) else i
            kind = cls._kind(text[j])
            if kind in ('L', 'N', 'O') and (j == i or text[i] == ' '):
                k = j
                while k < n and cls._kind(text[k]) == kind:
                    k += 1
                out.append(text[start:k])
                i = k
                continue
            # 5-6. whitespace: \s+(?!\S) backtracks one char before a non-space; else \s+
            assert cls._kind(text[i]) == 's'
            k = i
            while k < n and cls._kind(text[k]) == 's':
                k += 1
            if k < n and k - 1 > i:
                k -= 1
            out.append(text[i:k])
            i = k
        return out

    # --- BPE --------------------------------------------------------------------------------
    def bpe(self, word: str) -> list[str]:
        """Apply merges to one byte-level word: repeatedly merge the lowest-ranked adjacent pair
        (leftmost occurrence first)."""
        parts = list(word)
        while len(parts) > 1:
            best = None
            for idx in range(len(parts) - 1):
                r = self.ranks.get((parts[idx], parts[idx + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, idx)
            if best is None:
                break
            idx = best[1]
            parts[idx : idx + 2] = [parts[idx] + parts[idx + 1]]
        return parts

    def encode(self, text: str) -> list[int]:
        """Encode text as the HF tokenizer does (no special tokens added; `<|endoftext|>` in the
        text is recognized as the special token)."""
        ids: list[int] = []
        chunks = text.split(EOT)
        for ci, chunk in enumerate(chunks):
            if ci > 0:
                ids.append(self.eot_id)
            for word in self.pre_tokenize(chunk):
                mapped = ''.join(BYTE_TO_UNICODE[b] for b in word.encode('utf-8'))
                ids.extend(self.vocab[t] for t in self.bpe(mapped))
        return ids

    def tokens(self, ids: list[int]) -> list[str]:
        return [self.id_to_token[i] for i in ids]

    def decode(self, ids: list[int]) -> str:
        out: list[str] = []
        buf = bytearray()
        for i in ids:
            tok = self.id_to_token[i]
            if i == self.eot_id:
                out.append(buf.decode('utf-8', errors='replace'))
                buf = bytearray()
                out.append(tok)
            else:
                buf.extend(UNICODE_TO_BYTE[c] for c in tok)
        out.append(buf.decode('utf-8', errors='replace'))
        return ''.join(out)

    # --- serialization ----------------------------------------------------------------------
    def tokenizer_json(self) -> dict:
        byte_level = {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}
        return {
            'version': '1.0',
            'truncation': None,
            'padding': None,
            'added_tokens': [
                {
                    'id': self.eot_id,
                    'content': EOT,
                    'single_word': False,
                    'lstrip': False,
                    'rstrip': False,
                    'normalized': True,
                    'special': True,
                }
            ],
            'normalizer': None,
            'pre_tokenizer': dict(byte_level),
            'post_processor': dict(byte_level),
            'decoder': dict(byte_level),
            'model': {
                'type': 'BPE',
                'dropout': None,
                'unk_token': None,
                'continuing_subword_prefix': None,
                'end_of_word_suffix': None,
                'fuse_unk': False,
                'byte_fallback': False,
                'vocab': self.vocab,
                'merges': [f'{a} {b}' for a, b in self.merges],
            },
        }

    def tokenizer_config_json(self, model_max_length: int) -> dict:
        return {
            'add_bos_token': False,
            'add_prefix_space': False,
            'bos_token': EOT,
            'eos_token': EOT,
            'unk_token': EOT,
            'clean_up_tokenization_spaces': False,
            'errors': 'replace',
            'model_max_length': model_max_length,
            'tokenizer_class': 'GPT2Tokenizer',
        }

    def self_check(self) -> None:
        """Every merged token must be reachable: BPE over its own characters yields itself."""
        assert len(set(BYTE_TO_UNICODE.values())) == 256
        for left, right in self.merges:
            tok = left + right
            got = self.bpe(tok)
            assert got == [tok], f'merge {left!r}+{right!r} unreachable: {got}'
        for s in ['The cat sat on the mat.', "  hello  world\n\nit's 42!", 'x <|endoftext|> y', 'héllo ü']:
            assert self.decode(self.encode(s)) == s, s
