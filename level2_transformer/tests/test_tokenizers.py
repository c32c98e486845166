"""Tokenizers: the round trip for any string, save/load, and BPE training against a naive recount."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hyperion.transformer import tokenizers as T

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
        "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n"
        "The theatre, the thee, the thou; 1234 + 5678 = 6912 -- don't won't can't   end\t\ttabs\n") * 3

# any unicode string, lone surrogates (which no UTF-8 file can hold) included
ANY_TEXT = st.text(alphabet=st.characters(codec=None), max_size=60) | st.text(max_size=60)


@pytest.fixture(scope="module")
def bpe():
    return T.ByteBPETokenizer.train(TEXT, 256 + 60)


def naive_bpe_merges(text: str, n_merges: int) -> list[tuple[int, int]]:
    """The textbook algorithm: recount every pair of every piece from scratch before each merge."""
    pieces = [list(T.text_to_bytes(p)) for p in T.split_pieces(text)]
    merges = []
    for k in range(n_merges):
        counts: dict[tuple[int, int], int] = {}
        for ids in pieces:
            for pair in zip(ids, ids[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        count, pair = min((-c, p) for p, c in counts.items())
        if -count < 2:
            break
        merges.append(pair)
        new = []
        for ids in pieces:
            out, i = [], 0
            while i < len(ids):
                if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
                    out.append(256 + k)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            new.append(out)
        pieces = new
    return merges


# ---- the pieces of Task 2.7 ----------------------------------------------------------------------


def test_count_pairs_counts_adjacent_pairs_with_weights():
    assert T.count_pairs([1, 2, 1, 2, 2]) == {(1, 2): 2, (2, 1): 1, (2, 2): 1}
    assert T.count_pairs([7]) == {} and T.count_pairs([]) == {}
    counts = T.count_pairs([1, 2, 3], weight=5)
    assert T.count_pairs([2, 3, 4], counts, weight=2) is counts
    assert counts == {(1, 2): 5, (2, 3): 7, (3, 4): 2}
    T.count_pairs([1, 2, 3], counts, weight=-5)  # taking a word back out deletes pairs that reach 0
    assert counts == {(2, 3): 2, (3, 4): 2}


def test_merge_pair_replaces_left_to_right():
    assert T.merge_pair([1, 2, 1, 2, 3], (1, 2), 9) == [9, 9, 3]
    assert T.merge_pair([5, 5, 5], (5, 5), 9) == [9, 5]
    assert T.merge_pair([5, 5, 5, 5], (5, 5), 9) == [9, 9]
    assert T.merge_pair([1, 3, 2], (1, 2), 9) == [1, 3, 2]
    assert T.merge_pair([], (1, 2), 9) == [] and T.merge_pair([1], (1, 2), 9) == [1]


# ---- pre-tokenisation ----------------------------------------------------------------------------


@given(ANY_TEXT)
def test_pieces_cover_the_text(text):
    assert "".join(T.split_pieces(text)) == text


def test_pieces_keep_words_with_their_leading_space():
    assert T.split_pieces("Hello world, it's 2024!\n\n  x") == \
        ["Hello", " world", ",", " it", "'s", " 2024", "!", "\n\n ", " x"]


# ---- round trips ---------------------------------------------------------------------------------


@given(ANY_TEXT)
@example("lone \ud800 surrogates \udfff, emoji 🎭, CJK 莎士比亚, e\u0301, \x00\r\n")
def test_char_round_trip_any_string(text):
    tok = T.CharTokenizer.train("abc de\n")
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


@given(ANY_TEXT)
@example("lone \ud800 surrogates \udfff, emoji 🎭, CJK 莎士比亚, e\u0301, \x00\r\n")
def test_bpe_round_trip_any_string(bpe, text):
    ids = bpe.encode(text)
    assert all(0 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == text


@given(st.text(alphabet=st.characters(codec=None), min_size=1, max_size=40))
@settings(max_examples=30)
def test_bpe_trained_on_any_text_round_trips_it(text):
    tok = T.ByteBPETokenizer.train(text * 3, 256 + 20)
    assert tok.decode(tok.encode(text * 2)) == text * 2


def test_char_encode_array_matches_encode():
    tok = T.CharTokenizer.train(TEXT)
    assert tok.encode_array(TEXT).tolist() == tok.encode(TEXT)
    mixed = TEXT[:50] + "é☃𝄞" + TEXT[50:80]  # unseen characters take the byte fallback
    assert tok.encode_array(mixed).tolist() == tok.encode(mixed)
    assert tok.decode(tok.encode_array(mixed)) == mixed


def test_char_vocabulary_is_the_sorted_characters_then_bytes():
    tok = T.CharTokenizer.train("hello")
    assert tok.chars == ["e", "h", "l", "o"] and tok.vocab_size == 4 + 256
    assert tok.encode("hole") == [1, 3, 2, 0]
    assert tok.encode("é") == [4 + b for b in "é".encode()]


def test_decode_of_invalid_bytes_replaces_instead_of_raising(bpe):
    assert bpe.decode([0xC3]) == "\ufffd"  # the first byte of "é" alone
    assert T.CharTokenizer.train("a").decode([1 + 0xC3, 0]) == "\ufffda"


def test_decode_rejects_ids_outside_the_vocabulary(bpe):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        bpe.decode([bpe.vocab_size])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        T.CharTokenizer.train("ab").decode([-1])


# ---- BPE training ------------------------------------------------------------------------------


def test_bpe_training_matches_a_naive_recount():
    assert T.ByteBPETokenizer.train(TEXT, 256 + 80).merges == naive_bpe_merges(TEXT, 80)


def test_bpe_merges_are_frequent_pairs_and_shorten_the_text():
    tok = T.ByteBPETokenizer.train(TEXT, 256 + 60)
    assert len(tok.merges) == 60
    pairs = T.count_pairs([])
    for piece in T.split_pieces(TEXT):
        T.count_pairs(list(piece.encode()), pairs)
    assert pairs[tok.merges[0]] == max(pairs.values())
    lengths = [len(T.ByteBPETokenizer(tok.merges[:k]).encode(TEXT)) for k in (0, 10, 30, 60)]
    assert lengths[0] == len(TEXT.encode())
    assert lengths == sorted(lengths, reverse=True) and len(set(lengths)) == 4
    assert lengths[-1] < 0.6 * lengths[0]


def test_bpe_stops_when_no_pair_repeats():
    tok = T.ByteBPETokenizer.train("abcd", 256 + 50)
    assert tok.merges == [] and tok.encode("abcd") == list(b"abcd")


def test_bpe_vocab_size_below_256_is_an_error():
    with pytest.raises(ValueError, match="vocab_size >= 256"):
        T.ByteBPETokenizer.train(TEXT, 100)


def test_bpe_rejects_merges_that_refer_to_later_ids():
    with pytest.raises(ValueError, match="merge 0"):
        T.ByteBPETokenizer([(256, 1)])


# ---- save and load -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_save_load_round_trip(tmp_path, bpe, kind):
    tok = T.CharTokenizer.train(TEXT) if kind == "char" else bpe
    path = tmp_path / "tok.json"
    tok.save(path)
    again = T.load_tokenizer(path)
    assert type(again) is type(tok) and again.vocab_size == tok.vocab_size
    probe = TEXT + "unseen: ☃ 𝄞 \ud800"
    assert again.encode(probe) == tok.encode(probe)
    assert again.decode(tok.encode(probe)) == probe


def test_load_bad_files_names_the_problem(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("not json")
    with pytest.raises(ValueError, match="not a tokenizer file"):
        T.load_tokenizer(path)
    path.write_text(json.dumps({"type": "wordpiece"}))
    with pytest.raises(ValueError, match="unknown tokenizer type 'wordpiece'"):
        T.load_tokenizer(path)


def test_bpe_on_real_text_scale_is_deterministic():
    rng = np.random.default_rng(0)
    words = np.array(["the", "king", "queen", "thou", "art", "my", "lord", "sweet", "and", "of"])
    text = " ".join(rng.choice(words, size=3000)) + "\n"
    first = T.ByteBPETokenizer.train(text, 256 + 40)
    assert first.merges == T.ByteBPETokenizer.train(text, 256 + 40).merges
    assert len(first.encode(text)) < len(text) / 3
