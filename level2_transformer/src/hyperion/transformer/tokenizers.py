"""Tokenizers: text to integer ids and back. A character-level one and a byte-level BPE.

Both promise ``decode(encode(s)) == s`` for every Python string ``s``, including characters the
tokenizer never saw: text is UTF-8 bytes underneath, and bytes are the fallback.

``CharTokenizer``  one id per character of the training text (65 or so for Shakespeare), plus 256
                   byte ids used only for characters outside that set.
``ByteBPETokenizer`` GPT-2's scheme: ids 0-255 are the bytes, and each learnt *merge* adds one id
                   that stands for a pair of existing ids. Training repeatedly merges the most
                   frequent adjacent pair (Task 2.7 is one merge step). Text is first split into
                   pieces (words with their leading space, numbers, punctuation runs, whitespace)
                   so that merges never cross a word boundary.

Both save to and load from a small JSON file (``save(path)``, ``load_tokenizer(path)``).
"""

from __future__ import annotations

import heapq
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

# Pieces as GPT-2's pattern, written for Python's ``re``: contractions, a word (letters) with an
# optional leading space, digits, other symbols, whitespace. The final ``.`` catches anything the
# alternatives miss, so the pieces always add up to the whole text (the round trip relies on it).
PIECE_PATTERN = (r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+|.")


def text_to_bytes(text: str) -> bytes:
    """UTF-8, keeping lone surrogates (``"\\ud800"``) so that every ``str`` survives the round trip."""
    return text.encode("utf-8", errors="surrogatepass")


def bytes_to_text(data: bytes) -> str:
    """The inverse of :func:`text_to_bytes`; bytes that are not valid UTF-8 (a model's sample can cut a
    character in half) become U+FFFD instead of raising."""
    try:
        return data.decode("utf-8", errors="surrogatepass")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")


def _check_ids(ids: Iterable[int], vocab_size: int, who: str) -> list[int]:
    out = [int(i) for i in (ids.tolist() if isinstance(ids, np.ndarray) else ids)]
    bad = [i for i in out if not 0 <= i < vocab_size]
    if bad:
        raise ValueError(f"{who}.decode: id {bad[0]} is outside the vocabulary [0, {vocab_size})")
    return out


def _write_json(path: str | os.PathLike, payload: dict) -> None:
    Path(path).write_text(json.dumps(payload, ensure_ascii=True) + "\n", encoding="utf-8")


# ---- character level ------------------------------------------------------------------------------


class CharTokenizer:
    """One id per distinct character of the training text, in sorted order; ids from
    ``len(chars)`` to ``len(chars) + 255`` are UTF-8 bytes, used for any other character."""

    kind = "char"

    def __init__(self, chars: Sequence[str]) -> None:
        chars = list(chars)
        if any(len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
            raise ValueError("CharTokenizer needs distinct single characters")
        self.chars = sorted(chars)
        self._index = {c: i for i, c in enumerate(self.chars)}
        # for the vectorised encode: sorted code points and their ids
        self._codes = np.array([ord(c) for c in self.chars], dtype=np.uint32)

    @classmethod
    def train(cls, text: str) -> CharTokenizer:
        """The vocabulary of ``text``: every character that occurs in it."""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 256

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        base = len(self.chars)
        for c in text:
            i = self._index.get(c)
            if i is None:
                ids.extend(base + b for b in text_to_bytes(c))
            else:
                ids.append(i)
        return ids

    def encode_array(self, text: str) -> np.ndarray:
        """``encode`` as an int64 array, vectorised for a whole corpus (same ids)."""
        codes = np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
        pos = np.searchsorted(self._codes, codes).clip(max=max(len(self._codes) - 1, 0))
        known = self._codes[pos] == codes if len(self._codes) else np.zeros(len(codes), bool)
        if known.all():
            return pos.astype(np.int64)
        return np.array(self.encode(text), dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        base, out, pending = len(self.chars), [], bytearray()
        for i in _check_ids(ids, self.vocab_size, "CharTokenizer"):
            if i >= base:
                pending.append(i - base)
                continue
            if pending:
                out.append(bytes_to_text(bytes(pending)))
                pending.clear()
            out.append(self.chars[i])
        if pending:
            out.append(bytes_to_text(bytes(pending)))
        return "".join(out)

    def save(self, path: str | os.PathLike) -> None:
        _write_json(path, {"type": self.kind, "chars": "".join(self.chars)})

    def __repr__(self) -> str:
        return f"CharTokenizer({len(self.chars)} characters + 256 bytes)"


# ---- byte-level BPE -----------------------------------------------------------------------------


def count_pairs(ids: Sequence[int], counts: dict[tuple[int, int], int] | None = None,
                weight: int = 1) -> dict[tuple[int, int], int]:
    """Task 2.7: count each adjacent pair of ``ids``, adding ``weight`` per occurrence into ``counts``.

    ``count_pairs([1, 2, 1, 2, 2])`` is ``{(1, 2): 2, (2, 1): 1, (2, 2): 1}``. ``counts`` (updated in
    place and returned; a new dict when ``None``) lets a trainer total the pairs of many words, each
    word weighted by how often it occurs in the corpus (``weight``); a negative weight takes a word's
    pairs back out, which is how training updates its counts after a merge instead of recounting.
    Pairs whose count falls to 0 are deleted, so ``counts`` only ever holds pairs that occur.
    """
    # BEGIN SOLUTION
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        total = counts.get(pair, 0) + weight
        if total:
            counts[pair] = total
        else:
            del counts[pair]
    return counts
    # END SOLUTION


def merge_pair(ids: Sequence[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Task 2.7: replace every occurrence of ``pair`` in ``ids`` by ``new_id``, scanning left to right.

    ``merge_pair([1, 2, 1, 2, 3], (1, 2), 9)`` is ``[9, 9, 3]``. Overlaps are resolved from the left,
    as in a left-to-right scan that jumps past each merge: ``merge_pair([5, 5, 5], (5, 5), 9)`` is
    ``[9, 5]``. This is the whole of BPE encoding, applied once per learnt merge, in order.
    """
    # BEGIN SOLUTION
    out: list[int] = []
    i, n = 0, len(ids)
    first, second = pair
    while i < n:
        if i + 1 < n and ids[i] == first and ids[i + 1] == second:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
    # END SOLUTION


def split_pieces(text: str) -> list[str]:
    """The pre-tokenisation: pieces that merges never cross; ``"".join(split_pieces(t)) == t``."""
    return _PIECES.findall(text)


_PIECES = re.compile(PIECE_PATTERN, re.DOTALL)


class ByteBPETokenizer:
    """Byte-level BPE: ``merges[k] = (a, b)`` means id ``256 + k`` stands for id ``a`` followed by id ``b``."""

    kind = "byte_bpe"

    def __init__(self, merges: Sequence[tuple[int, int]] = ()) -> None:
        self.merges = [(int(a), int(b)) for a, b in merges]
        for k, (a, b) in enumerate(self.merges):
            if not (0 <= a < 256 + k and 0 <= b < 256 + k):
                raise ValueError(f"merge {k} = ({a}, {b}) refers to an id not defined before it")
        self._rank = {pair: k for k, pair in enumerate(self.merges)}
        self.vocab = [bytes([b]) for b in range(256)]
        for a, b in self.merges:
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self._cache: dict[str, list[int]] = {}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    @classmethod
    def train(cls, text: str, vocab_size: int, verbose: bool = False) -> ByteBPETokenizer:
        """Learn ``vocab_size - 256`` merges from ``text`` (fewer if no pair occurs twice any more).

        Pair counts are kept up to date incrementally: a merge only touches the words that contain
        the merged pair, and a max-heap with lazy deletion finds the next most frequent pair. Ties go
        to the smallest pair ``(a, b)``, so training is deterministic.
        """
        if vocab_size < 256:
            raise ValueError(f"a byte-level BPE needs vocab_size >= 256 (the bytes), got {vocab_size}")
        words = Counter(split_pieces(text))
        symbols = [list(text_to_bytes(w)) for w in words]
        freqs = list(words.values())
        counts: dict[tuple[int, int], int] = {}
        where: dict[tuple[int, int], set[int]] = {}
        for w, (ids, freq) in enumerate(zip(symbols, freqs)):
            count_pairs(ids, counts, freq)
            for pair in zip(ids, ids[1:]):
                where.setdefault(pair, set()).add(w)
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)
        merges: list[tuple[int, int]] = []
        while len(merges) < vocab_size - 256 and heap:
            negative, pair = heapq.heappop(heap)
            if counts.get(pair, 0) != -negative:
                continue  # stale entry: this pair's count changed after it was pushed
            if -negative < 2:
                break  # merging a pair that occurs once compresses nothing worth a new id
            new_id = 256 + len(merges)
            merges.append(pair)
            changed: set[tuple[int, int]] = set()
            for w in where.pop(pair, ()):
                old = symbols[w]
                new = merge_pair(old, pair, new_id)
                count_pairs(old, counts, -freqs[w])
                count_pairs(new, counts, freqs[w])
                for p in zip(new, new[1:]):
                    where.setdefault(p, set()).add(w)
                changed.update(zip(old, old[1:]))
                changed.update(zip(new, new[1:]))
                symbols[w] = new
            for p in changed:
                if p in counts:
                    heapq.heappush(heap, (-counts[p], p))
            if verbose:
                print(f"merge {len(merges)}: {pair} -> {new_id} ({-negative} times)")
        return cls(merges)

    def _encode_piece(self, piece: str) -> list[int]:
        cached = self._cache.get(piece)
        if cached is not None:
            return cached
        ids = list(text_to_bytes(piece))
        while len(ids) > 1:
            ranked = [(self._rank.get(p, len(self.merges)), p) for p in zip(ids, ids[1:])]
            rank, pair = min(ranked)
            if rank == len(self.merges):
                break
            ids = merge_pair(ids, pair, 256 + rank)
        if len(self._cache) < 200_000:
            self._cache[piece] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Split into pieces, then apply the merges to each piece in the order they were learnt."""
        out: list[int] = []
        for piece in split_pieces(text):
            out.extend(self._encode_piece(piece))
        return out

    def encode_array(self, text: str) -> np.ndarray:
        return np.array(self.encode(text), dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> str:
        ids = _check_ids(ids, self.vocab_size, "ByteBPETokenizer")
        return bytes_to_text(b"".join(self.vocab[i] for i in ids))

    def save(self, path: str | os.PathLike) -> None:
        _write_json(path, {"type": self.kind, "pattern": PIECE_PATTERN, "merges": self.merges})

    def __repr__(self) -> str:
        return f"ByteBPETokenizer(256 bytes + {len(self.merges)} merges)"


Tokenizer = CharTokenizer | ByteBPETokenizer


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Read a tokenizer written by ``save``; the file says which kind it is."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no tokenizer file at {path}")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        kind = payload["type"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path}: not a tokenizer file written by save() ({error})") from error
    if kind == CharTokenizer.kind:
        return CharTokenizer(list(payload["chars"]))
    if kind == ByteBPETokenizer.kind:
        if payload.get("pattern") != PIECE_PATTERN:
            raise ValueError(f"{path}: written with a different pre-tokenisation pattern")
        return ByteBPETokenizer([tuple(m) for m in payload["merges"]])
    raise ValueError(f"{path}: unknown tokenizer type {kind!r} (expected 'char' or 'byte_bpe')")
