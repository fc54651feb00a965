"""fc7 shards -> PCA (fit on the training split only) -> the features contract, `c3d_pca500.h5`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import h5py
import numpy as np
from sklearn.decomposition import IncrementalPCA

from wsmr.features import store

log = logging.getLogger("wsmr.pca")

CHUNK_ROWS = 4096  # rows per IncrementalPCA step: bounded memory on Charades/ActivityNet scale


class Shards:
    """The fc7 shards of a dataset, opened together: which shard holds which video."""

    def __init__(self, paths: Iterable[str | Path]):
        self.files = [h5py.File(path, "r") for path in paths]
        self.where = {vid: f for f in self.files for vid in f}
        self.skipped = {vid: reason for f in self.files
                        for vid, reason in store.skipped_videos(f.filename).items()}
        sources = {str(f.attrs["source"]) for f in self.files}
        if len(sources) != 1:
            raise ValueError(f"fc7 shards disagree on their C3D weights: {sorted(sources)}")
        self.source = sources.pop()
        self.attrs = dict(self.files[0].attrs)

    def __enter__(self) -> Shards:
        return self

    def __exit__(self, *exc) -> None:
        for f in self.files:
            f.close()

    def check_complete(self, vids: Iterable[str]) -> None:
        """Every annotated video has fc7 or is listed as skipped: nothing is lost silently."""
        lost = sorted(set(vids) - set(self.where) - set(self.skipped))
        if lost:
            raise ValueError(f"{len(lost)} annotated videos have no fc7 in any shard and are not "
                             f"listed as skipped: {lost[:20]}")

    def fc7(self, vid: str) -> np.ndarray:
        return self.where[vid][vid][()].astype(np.float32)


def check_enough_clips(n_clips: int, n_videos: int, dim: int) -> None:
    if n_clips < dim:
        raise ValueError(f"PCA to {dim} dimensions needs at least {dim} training clips; the "
                         f"training split has {n_clips} (from {n_videos} videos). Set "
                         f"features.pca_dim to at most {n_clips}, or add training videos.")


def chunks(arrays: Iterable[np.ndarray], min_rows: int) -> Iterator[np.ndarray]:
    """The arrays' rows in consecutive chunks of at least `min_rows`; a short tail joins the
    chunk before it (IncrementalPCA needs as many rows per step as components)."""
    held, buffer, n = None, [], 0
    for array in arrays:
        buffer.append(array)
        n += len(array)
        if n >= min_rows:
            if held is not None:
                yield held
            held, buffer, n = np.concatenate(buffer), [], 0
    if held is None:
        yield np.concatenate(buffer)
    else:
        yield np.concatenate([held, *buffer])


def fit_pca(shards: Shards, train_vids: list[str], dim: int) -> IncrementalPCA:
    train_vids = [vid for vid in sorted(set(train_vids)) if vid in shards.where]
    n_clips = sum(shards.where[vid][vid].shape[0] for vid in train_vids)
    check_enough_clips(n_clips, len(train_vids), dim)
    pca = IncrementalPCA(n_components=dim)
    for chunk in chunks((shards.fc7(vid) for vid in train_vids), max(dim, CHUNK_ROWS)):
        pca.partial_fit(chunk)
    log.info("PCA %d -> %d fit on %d clips of %d training videos: %.1f%% of the variance kept",
             pca.n_features_in_, dim, n_clips, len(train_vids),
             100 * pca.explained_variance_ratio_.sum())
    return pca


def write_pca_features(shards: Shards, pca: IncrementalPCA, vids: list[str], out: str | Path) -> dict:
    """Every video's fc7 projected, with the shards' provenance and the PCA's variance."""
    kept = [vid for vid in sorted(set(vids)) if vid in shards.where]
    with store.create(out, clip_length=int(shards.attrs["clip_length"]),
                      stride=int(shards.attrs["stride"]), source=shards.source) as h5:
        for vid in kept:
            dataset = shards.where[vid][vid]
            features = pca.transform(shards.fc7(vid)).astype(np.float32)
            store.put(h5, vid, features, dataset.attrs["clip_seconds"], dataset.attrs["fps"])
        h5.attrs["pca_dim"] = pca.n_components_
        h5.attrs["explained_variance_ratio"] = pca.explained_variance_ratio_.astype(np.float32)
        skipped = {vid: shards.skipped[vid] for vid in sorted(set(vids)) if vid in shards.skipped}
        store.finish(h5, skipped)
    return {"videos": len(kept), "clips": int(sum(shards.where[v][v].shape[0] for v in kept)),
            "skipped": skipped, "source": shards.source, "pca_dim": int(pca.n_components_),
            "explained_variance": float(pca.explained_variance_ratio_.sum())}


def plot_explained_variance(ratio: np.ndarray, out: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wsmr.io import atomic_path

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(np.arange(1, len(ratio) + 1), np.cumsum(ratio))
    ax.set(xlabel="components", ylabel="cumulative explained variance", ylim=(0, 1),
           title=f"PCA of C3D fc7: {100 * ratio.sum():.1f}% in {len(ratio)} components")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
