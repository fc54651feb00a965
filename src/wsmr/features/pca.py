"""fc7 shards -> PCA (fit on the training split only) -> the features contract, `c3d_pca500.h5`.

The fitted PCA is kept beside the features (`pca.h5`) in the layout of ActivityNet's official
`PCA_activitynet_v1-3.hdf5`: `data/x_mean` (D,) and `data/U` (D, k), one component per column,
projecting as `(x - x_mean) @ U[:, :dim]`. So one reader projects a new video's fc7 into either
space: a dataset's own PCA, or the official one (`features.pca.path`).
"""

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


def write_pca_features(shards: Shards, pca: IncrementalPCA, vids: list[str], out: str | Path
                       ) -> dict:
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


def write_pca(pca: IncrementalPCA, out: str | Path) -> None:
    """The fitted mean and components, in the official file's layout (see the module doc)."""
    from wsmr.io import atomic_path

    with atomic_path(out) as tmp, h5py.File(tmp, "w") as h5:
        h5["data/x_mean"] = pca.mean_.astype(np.float32)
        h5["data/U"] = pca.components_.T.astype(np.float32)
        h5["data/explained_variance_ratio"] = pca.explained_variance_ratio_.astype(np.float32)


def read_pca(path: str | Path, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(x_mean (D,), U (D, dim)) from a PCA file: `data/U` and `data/x_mean` (ours and
    ActivityNet's official file), or the same two at the root."""
    with h5py.File(path, "r") as h5:
        group = h5["data"] if "data" in h5 else h5
        if "U" not in group or "x_mean" not in group:
            raise ValueError(f"{path}: not a PCA file: expected datasets data/U (D, k) and "
                             f"data/x_mean (D,), found {sorted(h5)}")
        mean, components = np.asarray(group["x_mean"], np.float64).ravel(), group["U"]
        if components.ndim != 2 or components.shape[0] != len(mean) or components.shape[1] < dim:
            raise ValueError(f"{path}: U has shape {components.shape}, x_mean {mean.shape}; "
                             f"projecting to {dim} dimensions needs U of ({len(mean)}, >= {dim})")
        return mean, np.asarray(components[:, :dim], np.float64)


def project(fc7: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """fc7 (n, D) into the PCA space (n, k), as IncrementalPCA.transform computes it."""
    if fc7.shape[1] != len(mean):
        raise ValueError(f"fc7 has {fc7.shape[1]} dimensions but the PCA was fit on {len(mean)}")
    return ((fc7.astype(np.float64) - mean) @ components).astype(np.float32)
