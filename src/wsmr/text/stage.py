"""The text stage end to end: tokens and tags on every sample, then vocabulary and embeddings."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from wsmr import defaults
from wsmr.io import atomic_path, read_jsonl, write_jsonl
from wsmr.text.embeddings import embedding_matrix, lookup_glove
from wsmr.text.tagging import tag_sentences
from wsmr.text.tokens import cap_words, lower_case, split_words
from wsmr.text.vocabulary import build_vocabulary, unk_share, write_vocabulary

log = logging.getLogger("wsmr.text")

DEFAULT_SETTINGS = defaults.TEXT   # wsmr.defaults holds every default
REQUIRED_SPLITS = ("train", "test")  # train makes the vocabulary, test measures its coverage


def resolve_settings(settings: Mapping | None) -> dict:
    """The defaults overlaid with `settings`; an unknown key is an error, not a silent default."""
    resolved = copy.deepcopy(DEFAULT_SETTINGS)
    for key, value in (settings or {}).items():
        if key not in resolved:
            raise ValueError(f"unknown text setting {key!r}; known: {sorted(resolved)}")
        if key == "glove":
            value = value or {}  # `glove:` left empty in YAML means the defaults
            unknown = set(value) - set(resolved["glove"])
            if unknown:
                raise ValueError(f"unknown glove settings {sorted(unknown)}; "
                                 f"known: {sorted(resolved['glove'])}")
            resolved["glove"].update(value)
        else:
            resolved[key] = value
    if resolved["max_words"] < 1:
        raise ValueError(f"max_words must be at least 1, got {resolved['max_words']}")
    return resolved


def add_tokens_and_tags(samples: list[dict], path: str | os.PathLike, max_words: int
                        ) -> dict[str, int]:
    """Give every sample capped `tokens` and `tags` (in place); return what was done, counted.

    A sample that already carries both (the `shapes` generator writes its own) keeps them, so
    a dataset made only of such samples needs no NLTK data at all.
    """
    to_tag = []
    for record_no, sample in enumerate(samples, start=1):
        tokens, tags = sample.get("tokens"), sample.get("tags")
        if tokens is None and tags is None:
            if not sample.get("sentence", "").strip():
                raise ValueError(f"{_where(path, record_no, sample)} has no sentence")
            to_tag.append(sample)
        elif tokens is None or tags is None or len(tokens) != len(tags) or not tokens:
            raise ValueError(f"{_where(path, record_no, sample)} needs both tokens and tags, "
                             "as many of each, or neither")
    words = [split_words(sample["sentence"]) for sample in to_tag]
    for sample, sentence_words, tags in zip(to_tag, words, tag_sentences(words), strict=True):
        sample["tokens"], sample["tags"] = lower_case(sentence_words), tags
    cut = 0
    for sample in samples:
        sample["tokens"], sample["tags"], was_cut = cap_words(sample["tokens"], sample["tags"],
                                                              max_words)
        cut += was_cut
    return {"tagged": len(to_tag), "pretagged": len(samples) - len(to_tag), "cut": cut}


def _where(path, record_no: int, sample: dict) -> str:
    # Records, not lines: read_jsonl skips blank lines (write_jsonl writes none, so they agree).
    return f"{path}: record {record_no} (qid {sample.get('qid')})"


def save_embeddings(matrix: np.ndarray, path: str | os.PathLike) -> None:
    # Through a file object: np.save given a name appends ".npy" to the temporary one.
    with atomic_path(path) as tmp, tmp.open("wb") as out:
        np.save(out, matrix)


def build_text(samples_in: Mapping[str, Path], samples_out: Mapping[str, Path],
               vocab_path: str | os.PathLike, embeddings_path: str | os.PathLike,
               settings: Mapping | None = None) -> dict:
    """Tokenise and tag every split, build the vocabulary (train only) and its embeddings.

    `samples_in`/`samples_out` map split names (train, val, test) to JSON Lines paths.
    Returns flat counts for tracking: vocab_size, vocab_words, train_distinct_words,
    test_unk_share, oov_words, embedding_dim, sentences_cut, sentences_tagged,
    sentences_pretagged.
    """
    settings = resolve_settings(settings)
    missing_splits = [s for s in REQUIRED_SPLITS if s not in samples_in]
    if missing_splits or set(samples_in) != set(samples_out):
        raise ValueError(f"samples_in needs splits {REQUIRED_SPLITS} and samples_out the same "
                         f"splits; got {sorted(samples_in)} and {sorted(samples_out)}")

    samples, done = {}, {"tagged": 0, "pretagged": 0, "cut": 0}
    for split, path in samples_in.items():
        samples[split] = read_jsonl(path)
        split_done = add_tokens_and_tags(samples[split], path, settings["max_words"])
        log.info("%s: %d sentences tagged, %d pre-tagged, %d cut at %d tokens", split,
                 split_done["tagged"], split_done["pretagged"], split_done["cut"],
                 settings["max_words"])
        done = {key: done[key] + split_done[key] for key in done}

    train_tokens = [sample["tokens"] for sample in samples["train"]]
    vocab = build_vocabulary(train_tokens, settings["vocab_size"])
    glove = settings["glove"]
    found, dim = lookup_glove(vocab.plain_words, glove["source"], glove["path"], glove["dim"])
    matrix, oov = embedding_matrix(vocab, found, dim, settings["seed"])
    if oov:
        log.info("words without a GloVe vector (seeded random ones instead): %s%s",
                 " ".join(oov[:50]), " ..." if len(oov) > 50 else "")

    counts = {
        "vocab_size": len(vocab),
        "vocab_words": len(vocab.plain_words),
        "train_distinct_words": len({token for tokens in train_tokens for token in tokens}),
        "test_unk_share": unk_share(vocab, (sample["tokens"] for sample in samples["test"])),
        "oov_words": len(oov),
        "embedding_dim": dim,
        "sentences_cut": done["cut"],
        "sentences_tagged": done["tagged"],
        "sentences_pretagged": done["pretagged"],
    }

    # Written only now that every step succeeded: a failed run (a bad GloVe row, say) leaves
    # no tagged samples or vocabulary that a user could take for the stage's finished output.
    for split, path in samples_out.items():
        write_jsonl(path, samples[split])
    write_vocabulary(vocab, vocab_path)
    save_embeddings(matrix, embeddings_path)
    for key, value in counts.items():
        log.info("%s = %s", key, value)
    return counts
