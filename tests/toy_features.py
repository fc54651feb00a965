"""A feature-level twin of `shapes` for learning tests: the generator's own event plans, with
ideal clip features (a noisy code of what is visible and how it moves) instead of C3D."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import yaml

from wsmr.data.shapes import COLOURS, SHAPES, VERBS, describe, plan_video
from wsmr.features import store
from wsmr.io import write_jsonl
from wsmr.methods.base import RunInputs
from wsmr.text.vocabulary import build_vocabulary, write_vocabulary
from wsmr.video.decode import clip_seconds

GENERATOR = {"fps": 8, "layout": "tiled", "events_per_video": 3, "duration_s": [20.0, 28.0]}
CODES = {name: i for i, name in enumerate([*COLOURS, *SHAPES, *VERBS])}
STRIDE = 8  # frames between clips, as C3D's
# the twin's dataset settings, as the learning tests' jobs read them (SCN's ratios)
DATASET = {"name": "toy", "ratios": [0.167, 0.25, 0.333, 0.5], "ious": [0.3, 0.5],
           "clip_stride_s": 1.0}


def clip_features(n_frames, events, rng, noise):
    n_clips = n_frames // STRIDE
    features = rng.normal(0, noise, (n_clips, len(CODES))).astype(np.float32)
    for event in events:
        first = event.start_frame // STRIDE
        last = max(first + 1, event.end_frame // STRIDE)
        for name in (event.colour, event.shape, event.action):
            features[first:last, CODES[name]] += 1.0
    return features


def stream_generator() -> dict:
    """config.yaml's default `shapes` layout, for the twin: a blind window gains little there."""
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    return config["datasets"]["shapes"]["generator"]


def build(root: Path, videos: dict[str, int], queries_per_event: int = 2, noise: float = 0.3,
          seed: int = 0, generator: dict = GENERATOR) -> RunInputs:
    """Write features, tokenised samples, vocabulary and embeddings under `root`, the events
    planned by `generator`: the earlier tiled layout unless told (docs/shapes.md)."""
    root.mkdir(parents=True, exist_ok=True)
    samples, features = {}, {}
    for split_index, (split, count) in enumerate(videos.items()):
        samples[split] = []
        for i in range(count):
            rng = np.random.default_rng([seed, split_index, i])
            vid = f"{split}{i}"
            n_frames, events = plan_video(rng, vid, split, generator)
            features[vid] = clip_features(n_frames, events, rng, noise)
            for e, event in enumerate(events):
                if not event.queried:
                    continue
                for q, (tokens, tags) in enumerate(describe(event, rng, queries_per_event)):
                    samples[split].append({
                        "qid": f"{vid}:{e}:{q}", "vid": vid,
                        "duration": n_frames / generator["fps"],
                        "start": event.start, "end": event.end, "sentence": " ".join(tokens),
                        "tokens": tokens, "tags": tags})
    with h5py.File(root / "features.h5", "w") as h5:
        for vid, array in features.items():
            # clip i codes the stride of frames [8i, 8i + 8), as C3D's clip i starts it
            store.put(h5, vid, array, clip_seconds(len(array) * STRIDE, generator["fps"]),
                      generator["fps"])
    paths = {}
    for split, rows in samples.items():
        paths[split] = root / f"{split}.jsonl"
        write_jsonl(paths[split], rows)
    vocab = build_vocabulary([s["tokens"] for s in samples["train"]], 100)
    write_vocabulary(vocab, root / "vocab.json")
    vectors = np.random.default_rng(seed).normal(0, 1, (len(vocab), 16)).astype(np.float32)
    np.save(root / "embeddings.npy", vectors)
    return RunInputs(samples=paths, features=root / "features.h5", vocab=root / "vocab.json",
                     embeddings=root / "embeddings.npy")


def random_scores(inputs: RunInputs, ious: list[float], seeds: int = 5) -> list[dict]:
    """Random's test metrics on the twin, one dict per seed: the floor a learning test beats."""
    from wsmr.evaluation import evaluate_files
    from wsmr.io import read_jsonl
    from wsmr.methods.base import Job
    from wsmr.methods.random_baseline import RandomBaseline

    test = read_jsonl(inputs.samples["test"])
    settings = {"nms": 0.5, "top_n": 5, "max_steps": 200}
    return [evaluate_files(RandomBaseline(Job(DATASET, "random", "default", settings, seed))
                           .predict(inputs, None, "test"), test, ious)
            for seed in range(seeds)]
