"""How long BPE training and encoding take on Shakespeare (CPU, wall time; noisy on a shared machine).

    python level2_transformer/benchmarks/bpe_train.py --merges 500 --chars 1000000
"""

from __future__ import annotations

import argparse
import time

from hyperion.transformer.corpus import load_corpus
from hyperion.transformer.tokenizers import ByteBPETokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merges", type=int, default=500)
    parser.add_argument("--chars", type=int, default=1_000_000, help="train on this much of the text")
    parser.add_argument("--data", default="shakespeare")
    args = parser.parse_args()
    text = load_corpus(args.data).text
    start = time.perf_counter()
    tok = ByteBPETokenizer.train(text[: args.chars], 256 + args.merges)
    trained = time.perf_counter() - start
    start = time.perf_counter()
    ids = tok.encode(text)
    encoded = time.perf_counter() - start
    assert tok.decode(ids) == text
    print(f"{len(tok.merges)} merges learnt on {min(args.chars, len(text)):,} characters in {trained:.2f} s; "
          f"encoding all {len(text):,} characters took {encoded:.2f} s ({len(text) / len(ids):.2f} characters "
          f"per token; decode(encode(text)) == text)")
    print("first merges:", [tok.vocab[256 + k].decode() for k in range(12)])


if __name__ == "__main__":
    main()
