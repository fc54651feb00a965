"""Pre-extracted features as a source: e.g. ActivityNet's official `sub_activitynet_v1-3.c3d.hdf5`
(`[video_id]['c3d_features']`, already PCA-500), or any HDF5 of per-video arrays.

Checked, then written to the same contract as extracted features, without extraction: every
annotated video must be there (the missing ones are listed), arrays must be 2-D with the
configured dimension, and finite. The file carries no timing, so a video's clips are taken to
tile its annotated duration evenly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np

from wsmr.features import store

log = logging.getLogger("wsmr.pre_extracted")

LISTED = 20  # missing videos named in an error; the count is always given


def read_array(source: h5py.File, vid: str, key: str | None) -> np.ndarray | None:
    if vid not in source:
        return None
    node = source[vid]
    if key:
        if not isinstance(node, h5py.Group) or key not in node:
            raise ValueError(f"{source.filename}: video {vid} has no dataset {key!r}")
        node = node[key]
    return node[()]


def problem(array: np.ndarray | None, dim: int) -> str | None:
    """Why a video's array cannot be used as it is, or None."""
    if array is None:
        return "missing from the file"
    if array.ndim != 2 or len(array) == 0:
        return f"array of shape {array.shape}, expected (n_clips > 0, {dim})"
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        return f"non-finite value (NaN/inf) at clip {bad[0]}, dimension {bad[1]}"
    return None


def check_dimension(path: str | Path, vid: str, array: np.ndarray, dim: int) -> None:
    """A wrong dimension is a mismatch between file and config, never one bad video."""
    if array.ndim == 2 and array.shape[1] != dim:
        raise ValueError(f"{path}: video {vid} has {array.shape[1]}-d features but "
                         f"features.pca_dim is {dim}; the file must hold {dim}-d arrays")


def import_features(path: str | Path, key: str | None, durations: dict[str, float], dim: int,
                    out: str | Path, skip_bad: bool) -> dict:
    """Copy the annotated videos' arrays into the contract; report what was skipped."""
    skipped, clips = {}, 0
    with h5py.File(path, "r") as source, store.create(
            out, clip_length=store.CLIP_FRAMES, stride=store.STRIDE_FRAMES,
            source=f"pre-extracted:{Path(path).name}") as h5:
        for vid in sorted(durations):
            array = read_array(source, vid, key)
            if array is not None:
                check_dimension(path, vid, array, dim)
            reason = problem(array, dim)
            if reason:
                skipped[vid] = reason
                continue
            store.put(h5, vid, array.astype(np.float32),
                      store.uniform_clip_seconds(len(array), durations[vid]), float("nan"))
            clips += len(array)
        if skipped and not skip_bad:
            raise ValueError(describe_problems(path, skipped))
        for vid, reason in skipped.items():
            log.warning("SKIPPED video %s: %s (on_bad_video: skip)", vid, reason)
        store.finish(h5, skipped)
    return {"videos": len(durations) - len(skipped), "clips": clips, "skipped": skipped,
            "source": f"pre-extracted:{Path(path).name}", "pca_dim": dim}


def describe_problems(path: str | Path, problems: dict[str, str]) -> str:
    missing = sorted(vid for vid, reason in problems.items() if reason == "missing from the file")
    others = {vid: reason for vid, reason in problems.items() if vid not in missing}
    lines = [f"{path}: {len(problems)} annotated videos cannot be used"]
    if missing:
        lines.append(f"{len(missing)} missing: {', '.join(missing[:LISTED])}"
                     + (" ..." if len(missing) > LISTED else ""))
    lines += [f"video {vid}: {reason}" for vid, reason in sorted(others.items())[:LISTED]]
    lines.append("(set features.on_bad_video: skip to leave them out, with their queries)")
    return "\n".join(lines)
