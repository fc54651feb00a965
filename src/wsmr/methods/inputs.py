"""What the learned methods read: clip features per video, tokenised queries, GloVe vectors,
batched as padded tensors (no Python loop over a batch's samples inside a model).

Clip times. Methods work in clip positions: position p in [0, n] of a video's n clips (after
pooling to the cap). Seconds come from the video's own clips, as the features file records
them (`clip_seconds`, from the video's fps), never from a config constant: clip i stands for
the stride it starts, from its first frame to the next clip's first frame, and the last clip
runs to the video's last frame. Those n + 1 `clip_edges` map positions to seconds and back,
linearly within a clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import h5py
import numpy as np
import torch

from wsmr.methods.base import RunInputs
from wsmr.text.vocabulary import PAD_ID, read_vocabulary


def pooled_segments(n: int, max_clips: int) -> np.ndarray:
    """The clip indices where pooled segments begin, and n: at most `max_clips` equal segments."""
    if n <= max_clips:
        return np.arange(n + 1)
    return np.linspace(0, n, max_clips + 1).round().astype(int)   # strictly rising: n > max_clips


def pool_to(features: np.ndarray, max_clips: int) -> np.ndarray:
    """At most `max_clips` rows: longer videos are mean-pooled over equal segments (the papers
    cap their frames at 200), so every clip still contributes."""
    if len(features) <= max_clips:
        return features
    edges = pooled_segments(len(features), max_clips)
    return np.stack([features[a:b].mean(axis=0) for a, b in pairwise(edges)])


def clip_edges(clip_seconds: np.ndarray, max_clips: int) -> np.ndarray:
    """(n + 1,) seconds: where each (pooled) clip's stride begins, then the end of the last
    frame. `clip_seconds` is the features file's (n_clips, 2) spans of real frames."""
    spans = np.asarray(clip_seconds, dtype=np.float64)
    edges = np.append(spans[:, 0], spans[-1, 1])
    return edges[pooled_segments(len(spans), max_clips)]


def load_features(path, vids: set[str], max_clips: int) -> tuple[dict, dict]:
    """Each video's (n_clips, dim) float32 array from the features contract, pooled to the cap,
    and its clip edges in seconds (see `clip_edges`)."""
    with h5py.File(path, "r") as store:
        missing = sorted(v for v in vids if v not in store)
        if missing:
            raise KeyError(f"{path}: no features for {len(missing)} videos, e.g. {missing[:5]}")
        features = {vid: pool_to(np.asarray(store[vid], dtype=np.float32), max_clips)
                    for vid in vids}
        no_times = sorted(v for v in vids if "clip_seconds" not in store[v].attrs)
        if no_times:
            raise ValueError(f"{path}: videos without clip_seconds (the features contract gives "
                             f"every video its clip times), e.g. {no_times[:5]}")
        edges = {vid: clip_edges(store[vid].attrs["clip_seconds"], max_clips) for vid in vids}
    return features, edges


def positions_to_seconds(positions: torch.Tensor, edges: torch.Tensor,
                         n_clips: torch.Tensor) -> torch.Tensor:
    """Clip positions (B, ...) in [0, n_clips] -> seconds, through each row's clip edges
    (B, >= n_clips + 1, padded); positions past a row's last clip are held at its end."""
    flat = positions.reshape(len(positions), -1).to(edges.dtype)
    limit = n_clips.to(edges.dtype)[:, None]
    flat = flat.clamp(min=0).minimum(limit)
    clip = flat.floor().long().minimum(n_clips[:, None] - 1)
    start, end = edges.gather(1, clip), edges.gather(1, clip + 1)
    return (start + (flat - clip) * (end - start)).reshape(positions.shape)


def seconds_to_fractions(seconds, edges: np.ndarray) -> np.ndarray:
    """Seconds -> clip positions as fractions of the video's clips (the inverse map)."""
    n = len(edges) - 1
    return np.interp(seconds, edges, np.arange(n + 1)) / n


@dataclass
class QueryData:
    """A split's queries as arrays, ready to be batched."""

    samples: list[dict]
    words: list[np.ndarray]          # word ids, capped
    tags: list[list[str]]


class MethodInputs:
    """Features, vocabulary and embeddings of a run, with batching of any split."""

    def __init__(self, inputs: RunInputs, max_clips: int, max_words: int,
                 splits=("train", "val", "test")):
        self.vocab = read_vocabulary(inputs.vocab)
        self.embeddings = torch.from_numpy(np.load(inputs.embeddings)).float()
        self.max_words = max_words
        self.splits = {split: self._queries(inputs.split(split)) for split in splits}
        vids = {s["vid"] for q in self.splits.values() for s in q.samples}
        self.features, self.clip_edges = load_features(inputs.features, vids, max_clips)
        self.feature_dim = next(iter(self.features.values())).shape[1]

    def _queries(self, samples: list[dict]) -> QueryData:
        words = [np.asarray(self.vocab.encode(s["tokens"][: self.max_words]), dtype=np.int64)
                 for s in samples]
        return QueryData(samples, words, [s["tags"][: self.max_words] for s in samples])

    def batch(self, split: str, indices) -> dict:
        """Padded tensors for the queries at `indices` of a split."""
        data = self.splits[split]
        samples = [data.samples[i] for i in indices]
        clips = [self.features[s["vid"]] for s in samples]
        words = [data.words[i] for i in indices]
        n_clips = torch.tensor([len(c) for c in clips])
        n_words = torch.tensor([len(w) for w in words])
        video = torch.zeros(len(samples), int(n_clips.max()), self.feature_dim)
        word_ids = torch.full((len(samples), int(n_words.max())), PAD_ID, dtype=torch.long)
        edges = torch.zeros(len(samples), int(n_clips.max()) + 1, dtype=torch.float64)
        # into the padded tensors
        for row, (c, w, s) in enumerate(zip(clips, words, samples, strict=True)):
            video[row, : len(c)] = torch.from_numpy(c)
            word_ids[row, : len(w)] = torch.from_numpy(w)
            edges[row, : len(c) + 1] = torch.from_numpy(self.clip_edges[s["vid"]])
        return {"qids": [s["qid"] for s in samples], "video": video, "n_clips": n_clips,
                "words": word_ids, "n_words": n_words,
                "tags": [data.tags[i] for i in indices], "clip_edges": edges}

    def epoch_batches(self, split: str, rng: np.random.Generator | None, batch_size: int):
        order = np.arange(len(self.splits[split].samples))
        if rng is not None:
            order = rng.permutation(order)
        for start in range(0, len(order), batch_size):
            yield self.batch(split, order[start: start + batch_size])
