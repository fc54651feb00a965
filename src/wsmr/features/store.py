"""The HDF5 feature store: one array per video id, the clips' seconds beside it, provenance on top.

Layout (both the fc7 shards and the final `c3d_pca500.h5`):
- `/{vid}`: (n_clips, dim) array; attrs `clip_seconds` (n_clips, 2) float32, the start and end
  seconds of the real frames each clip sees, and `fps` (NaN when unknown).
- root attrs: `clip_length`, `stride` (frames), `fps` (the videos' common rate, NaN if they
  differ or are unknown), `source` (the weights used, e.g. `seeded-init:seed=0`, or the
  pre-extracted file), and `skipped` (JSON `{vid: reason}`, videos left out by
  `on_bad_video: skip`; their queries are dropped from prediction and evaluation).

Files are written with HDF5 ≥ 1.10's format, which stores `clip_seconds` of long videos (over
64 KiB of attribute) densely.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from wsmr.io import atomic_path

log = logging.getLogger("wsmr.features")

LIBVER = ("v110", "latest")
# C3D's clips (Sports-1M): 16 frames every 8, the contract's `clip_length` and `stride`. Here,
# not in wsmr.video, so that features and video do not import each other (video writes the store)
CLIP_FRAMES = 16
STRIDE_FRAMES = 8


@contextmanager
def create(path: str | Path, *, clip_length: int, stride: int, source: str) -> Iterator[h5py.File]:
    """A store written atomically: the file appears only when the block succeeds."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w", libver=LIBVER) as store:
        store.attrs.update({"clip_length": clip_length, "stride": stride, "source": source,
                            "fps": math.nan, "skipped": "{}"})
        yield store


def put(store: h5py.File, vid: str, array: np.ndarray, clip_seconds: np.ndarray,
        fps: float) -> None:
    if len(array) != len(clip_seconds):
        raise ValueError(f"video {vid}: {len(array)} feature rows but {len(clip_seconds)} clips")
    dataset = store.create_dataset(vid, data=array)
    dataset.attrs["clip_seconds"] = np.asarray(clip_seconds, np.float32)
    dataset.attrs["fps"] = fps


def finish(store: h5py.File, skipped: dict[str, str]) -> None:
    """Record the skipped videos and the common fps, once every video is in."""
    rates = {float(store[vid].attrs["fps"]) for vid in store}
    store.attrs["fps"] = rates.pop() if len(rates) == 1 else math.nan
    store.attrs["skipped"] = json.dumps(skipped, sort_keys=True)


def without_skipped(rows: list[dict], skipped, where: str) -> list[dict]:
    """The queries whose videos have features: those on videos the features job skipped
    (`on_bad_video: skip`) are left out, and counted in the log."""
    kept = [row for row in rows if row["vid"] not in skipped]
    if len(kept) < len(rows):
        log.warning("%s: dropped %d queries on %d videos skipped by the features job", where,
                    len(rows) - len(kept), len({row["vid"] for row in rows} & set(skipped)))
    return kept


def skipped_videos(path: str | Path) -> dict[str, str]:
    """Videos the features job left out, with the reason: {vid: reason}."""
    with h5py.File(path, "r") as store:
        return json.loads(store.attrs.get("skipped", "{}"))


def source(path: str | Path) -> str:
    with h5py.File(path, "r") as store:
        return str(store.attrs["source"])


def uniform_clip_seconds(n_clips: int, duration: float) -> np.ndarray:
    """Clip seconds when only the video's duration is known: n equal spans tiling it."""
    edges = np.linspace(0.0, duration, n_clips + 1, dtype=np.float64)
    return np.stack([edges[:-1], edges[1:]], axis=1).astype(np.float32)
