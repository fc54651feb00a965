"""The word vocabulary: ids for the most frequent training words, after fixed special tokens.

On disk (`vocab.json`): `words` lists every token in id order (word id i is `words[i]`),
`counts` its frequency in the training split (0 for specials), `specials` the special tokens,
which are always ids 0..4 in the order of SPECIALS.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence

from wsmr.io import read_json, write_json

SPECIALS = ("<pad>", "<unk>", "<mask>", "<bos>", "<eos>")
PAD_ID, UNK_ID, MASK_ID, BOS_ID, EOS_ID = range(len(SPECIALS))


class Vocabulary:
    """Word <-> id, with every word outside the vocabulary mapped to `<unk>`."""

    def __init__(self, words: Sequence[str], counts: Sequence[int]):
        if tuple(words[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with the specials {SPECIALS}, "
                             f"got {list(words[:5])}")
        if len(words) != len(counts):
            raise ValueError(f"{len(words)} words but {len(counts)} counts")
        self.words = list(words)
        self.counts = list(counts)
        self._ids = {word: i for i, word in enumerate(self.words)}
        if len(self._ids) != len(self.words):
            raise ValueError("a vocabulary lists some word twice")

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._ids

    def id_of(self, word: str) -> int:
        return self._ids.get(word, UNK_ID)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        return [self.id_of(token) for token in tokens]

    @property
    def plain_words(self) -> list[str]:
        """The words learnt from text, without the specials."""
        return self.words[len(SPECIALS):]


def build_vocabulary(token_lists: Iterable[Sequence[str]], size: int) -> Vocabulary:
    """The `size` most frequent tokens after the specials; equal counts ordered by the word.

    Ordering ties by the word makes the ids, and so every model trained on them, independent
    of the order in which samples were read.
    """
    if size < 1:
        raise ValueError(f"vocabulary size must be at least 1, got {size}")
    counts = Counter(token for tokens in token_lists for token in tokens)
    for special in SPECIALS:  # a literal "<unk>" in the text must not get a second id
        counts.pop(special, None)
    if not counts:
        raise ValueError("cannot build a vocabulary from no tokens")
    kept = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
    return Vocabulary(
        words=[*SPECIALS, *(word for word, _ in kept)],
        counts=[0] * len(SPECIALS) + [count for _, count in kept],
    )


def unk_share(vocab: Vocabulary, token_lists: Iterable[Sequence[str]]) -> float:
    """The share of tokens that the vocabulary maps to `<unk>` (0.0 for no tokens)."""
    total = unknown = 0
    for tokens in token_lists:
        total += len(tokens)
        unknown += sum(token not in vocab for token in tokens)
    return unknown / total if total else 0.0


def write_vocabulary(vocab: Vocabulary, path: str | os.PathLike) -> None:
    write_json(path, {"words": vocab.words, "counts": vocab.counts, "specials": list(SPECIALS)})


def read_vocabulary(path: str | os.PathLike) -> Vocabulary:
    content = read_json(path)
    try:
        return Vocabulary(content["words"], content["counts"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a wsmr vocabulary ({err})") from err
