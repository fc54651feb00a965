"""Temporal IoU, NMS, R@n IoU=m and mIoU, as the papers define them.

R@n, IoU=m is the share of queries for which at least one of the top-n moments (after NMS)
has a temporal IoU with the ground truth *larger than* m (SCN, "Evaluation Metric"); mIoU is
the mean IoU of the top-1 moment. Both are reported in percent. Moments are (start, end) in
seconds.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np


def temporal_iou(moments: np.ndarray, target: Sequence[float]) -> np.ndarray:
    """IoU of each moment (n, 2) with one target (start, end).

    A union of zero length (a zero-length moment on a zero-length target) gives 0: nothing
    overlaps. The official evaluators divide 0 by 0 there, and their NaN compares false, so
    such a query counts as a miss in both.
    """
    moments = np.asarray(moments, dtype=np.float64).reshape(-1, 2)
    start, end = float(target[0]), float(target[1])
    inter = np.clip(np.minimum(moments[:, 1], end) - np.maximum(moments[:, 0], start), 0, None)
    union = (moments[:, 1] - moments[:, 0]) + (end - start) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(moments: np.ndarray, scores: np.ndarray, threshold: float, top_n: int | None = None
        ) -> np.ndarray:
    """Indices of the moments kept by greedy non-maximum suppression, best first.

    A moment is dropped when its IoU with an already kept one is larger than `threshold`.
    Equal scores keep their input order (a stable sort), so results do not depend on the
    sorting algorithm.
    """
    moments = np.asarray(moments, dtype=np.float64).reshape(-1, 2)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep: list[int] = []
    for index in order:
        if keep and temporal_iou(moments[keep], moments[index]).max() > threshold:
            continue
        keep.append(int(index))
        if top_n is not None and len(keep) == top_n:
            break
    return np.asarray(keep, dtype=np.int64)


def ranked_prediction(qid: str, moments: np.ndarray, scores: np.ndarray, threshold: float,
                      top_n: int) -> dict:
    """One query's entry of the predictions contract: its top-n moments (seconds) after NMS,
    best first, with their scores."""
    keep = nms(moments, scores, threshold, top_n)
    return {"qid": qid, "moments": np.asarray(moments)[keep].round(3).tolist(),
            "scores": np.asarray(scores)[keep].round(6).tolist()}


def metric_name(n: int, iou: float) -> str:
    """A name for R@n IoU=m that MLflow accepts as a metric key (no '@' or '=')."""
    return f"R{n}_IoU{iou:g}"


def evaluate(predictions: dict[str, Sequence[Sequence[float]]], targets: dict[str, Sequence[float]],
             ious: Sequence[float], ns: Sequence[int] = (1, 5)) -> dict[str, float]:
    """R@n IoU=m for every n and m, and mIoU, over the queries in `targets` (percent).

    `predictions` maps a query id to its moments, best first (already after NMS). Every target
    query must have a prediction: a missing one is an error, not a silent miss.
    """
    missing = [qid for qid in targets if qid not in predictions]
    if missing:
        raise KeyError(f"{len(missing)} queries have no prediction, e.g. {missing[:3]}")
    if not targets:
        raise ValueError("no queries to evaluate")
    top_n = max(ns)
    overlaps = np.zeros((len(targets), top_n))  # IoU of the k-th moment; 0 where fewer moments
    for row, (qid, target) in enumerate(targets.items()):
        moments = np.asarray(predictions[qid], dtype=np.float64).reshape(-1, 2)[:top_n]
        if len(moments) == 0:
            raise ValueError(f"query {qid}: prediction has no moments")
        overlaps[row, : len(moments)] = temporal_iou(moments, target)
    results = {}
    for n in ns:
        best = overlaps[:, :n].max(axis=1)
        for m in ious:
            results[metric_name(n, m)] = 100.0 * float(np.mean(best > m))
    results["mIoU"] = 100.0 * float(overlaps[:, 0].mean())
    return results


def evaluate_files(predictions: list[dict], samples: list[dict], ious: Sequence[float],
                   where: Sequence[str] | None = None) -> dict:
    """`evaluate` on the predictions contract (`qid`, `moments`, `scores`) and samples.

    Every entry is checked first (`check_predictions`); `where` names each entry in the
    errors (`file:line`), by default `prediction k`.
    """
    where = where or [f"prediction {k}" for k in range(1, len(predictions) + 1)]
    targets = {s["qid"]: (s["start"], s["end"]) for s in samples}
    return evaluate(check_predictions(predictions, where, targets), targets, ious)


def check_predictions(predictions: list[dict], where: Sequence[str],
                      targets: Collection[str]) -> dict[str, list]:
    """qid -> moments, once every entry is known to keep the contract; otherwise an error
    naming the entry. Each of these defects would change the metrics without a word: a query
    twice (the last one counted), one that is not evaluated, a NaN moment (its IoU compares
    false), a reversed one, scores that do not pair with the moments or are out of order."""
    by_qid: dict[str, list] = {}
    first_at: dict[str, str] = {}
    for entry, at in zip(predictions, where, strict=True):
        qid = entry.get("qid")
        if qid is None:
            raise ValueError(f"{at}: no qid")
        if qid in first_at:
            raise ValueError(f"{at}: query {qid!r} again (first on {line_of(first_at[qid])})")
        if qid not in targets:
            raise ValueError(f"{at}: query {qid!r} is not one of the {len(targets)} evaluated")
        check_ranked_moments(entry.get("moments"), entry.get("scores"), at)
        by_qid[qid], first_at[qid] = entry["moments"], at
    return by_qid


def check_ranked_moments(moments, scores, at: str) -> None:
    try:
        moments = np.asarray(moments, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{at}: moments and scores must be numbers") from None
    if moments.size == 0:
        raise ValueError(f"{at}: no moments")
    if moments.ndim != 2 or moments.shape[1] != 2:
        raise ValueError(f"{at}: moments must be [start, end] pairs")
    if len(moments) != len(scores):
        raise ValueError(f"{at}: {len(moments)} moments but {len(scores)} scores")
    for k, (start, end) in enumerate(moments.tolist(), start=1):
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"{at}: moment {k} [{start}, {end}] is not finite")
        if start > end:
            raise ValueError(f"{at}: moment {k} [{start}, {end}] starts after it ends")
    if not np.isfinite(scores).all():
        raise ValueError(f"{at}: a score is not finite")
    if np.any(np.diff(scores) > 0):
        raise ValueError(f"{at}: moments are not sorted by descending score")


def line_of(at: str) -> str:
    """`line 7` for a `file:7` location, the location itself otherwise."""
    _, sep, line = at.rpartition(":")
    return f"line {line}" if sep and line.isdigit() else at


def width_shares(predictions: list[dict], samples: list[dict]) -> dict[str, float]:
    """Mean length, as a share of the video, of the top-1 moments and of the ground truth: the
    first sign of a weakly supervised method drifting to wide (or narrow) proposals."""
    by_qid = {p["qid"]: p["moments"][0] for p in predictions}
    top1 = [(by_qid[s["qid"]][1] - by_qid[s["qid"]][0]) / s["duration"] for s in samples]
    truth = [(s["end"] - s["start"]) / s["duration"] for s in samples]
    return {"top1_width": float(np.mean(top1)), "gt_width": float(np.mean(truth))}
