"""Temporal IoU, NMS, R@n IoU=m and mIoU, as the papers define them.

R@n, IoU=m is the share of queries for which at least one of the top-n moments (after NMS)
has a temporal IoU with the ground truth *larger than* m (SCN, "Evaluation Metric"); mIoU is
the mean IoU of the top-1 moment. Both are reported in percent. Moments are (start, end) in
seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def nms(moments: np.ndarray, scores: np.ndarray, threshold: float, top_n: int | None = None) -> np.ndarray:
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


def evaluate_files(predictions: list[dict], samples: list[dict], ious: Sequence[float]) -> dict:
    """`evaluate` on the predictions contract (`qid`, `moments`, `scores`) and samples.

    The contract lists moments best first; scores out of order mean a method broke it, which
    would silently change R@1, so that is an error.
    """
    for p in predictions:
        if np.any(np.diff(p["scores"]) > 0):
            raise ValueError(f"query {p['qid']}: moments are not sorted by descending score")
    by_qid = {p["qid"]: p["moments"] for p in predictions}
    targets = {s["qid"]: (s["start"], s["end"]) for s in samples}
    return evaluate(by_qid, targets, ious)


def width_shares(predictions: list[dict], samples: list[dict]) -> dict[str, float]:
    """Mean length, as a share of the video, of the top-1 moments and of the ground truth: the
    first sign of a weakly supervised method drifting to wide (or narrow) proposals."""
    by_qid = {p["qid"]: p["moments"][0] for p in predictions}
    top1 = [(by_qid[s["qid"]][1] - by_qid[s["qid"]][0]) / s["duration"] for s in samples]
    truth = [(s["end"] - s["start"]) / s["duration"] for s in samples]
    return {"top1_width": float(np.mean(top1)), "gt_width": float(np.mean(truth))}
