"""What the learned methods read: clip features per video, tokenised queries, GloVe vectors,
batched as padded tensors (no Python loop over a batch's samples inside a model)."""

from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np
import torch

from wsmr.methods.base import RunInputs
from wsmr.text.vocabulary import PAD_ID, read_vocabulary


def pool_to(features: np.ndarray, max_clips: int) -> np.ndarray:
    """At most `max_clips` rows: longer videos are mean-pooled over equal segments (the papers
    cap their frames at 200), so every clip still contributes."""
    n = len(features)
    if n <= max_clips:
        return features
    edges = np.linspace(0, n, max_clips + 1).round().astype(int)
    return np.stack([features[a:max(b, a + 1)].mean(axis=0) for a, b in zip(edges, edges[1:])])


def load_features(path, vids: set[str], max_clips: int) -> dict[str, np.ndarray]:
    """Each video's (n_clips, dim) float32 array from the features contract, pooled to the cap."""
    with h5py.File(path, "r") as store:
        missing = sorted(v for v in vids if v not in store)
        if missing:
            raise KeyError(f"{path}: no features for {len(missing)} videos, e.g. {missing[:5]}")
        return {vid: pool_to(np.asarray(store[vid], dtype=np.float32), max_clips) for vid in vids}


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
        self.features = load_features(inputs.features, vids, max_clips)
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
        for row, (c, w) in enumerate(zip(clips, words)):   # copying into the padded tensors
            video[row, : len(c)] = torch.from_numpy(c)
            word_ids[row, : len(w)] = torch.from_numpy(w)
        return {"qids": [s["qid"] for s in samples], "video": video, "n_clips": n_clips,
                "words": word_ids, "n_words": n_words,
                "tags": [data.tags[i] for i in indices],
                "durations": torch.tensor([s["duration"] for s in samples], dtype=torch.float64)}

    def epoch_batches(self, split: str, rng: np.random.Generator | None, batch_size: int):
        order = np.arange(len(self.splits[split].samples))
        if rng is not None:
            order = rng.permutation(order)
        for start in range(0, len(order), batch_size):
            yield self.batch(split, order[start: start + batch_size])
