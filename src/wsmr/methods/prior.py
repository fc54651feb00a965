"""`prior`: one query-blind window, fit on the training split's boundaries.

A bias diagnostic, not a weakly supervised competitor: it reads the training boundaries, which
a weakly supervised method never sees. Every normalised window (start/D, end/D) on a grid of
step 1/`grid` is scored by the share of training queries it would retrieve at R@1 IoU=m
(`select_on`, the metric that selects the learned methods' epochs), ties broken by its mean
IoU. We maximise R@1 at one IoU rather than fit, say, the mean start and end, because R@1 is
what the table reports: this is the strongest single window a blind predictor could commit to
for that column. The top-1 is that window for every query; the top-n are the next best windows
after NMS, so R@5 is measured as for every other row.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from wsmr.evaluation import evaluate_files, nms, ranked_prediction
from wsmr.io import atomic_path, write_history
from wsmr.methods.base import Method, RunInputs

SELECT_ON = re.compile(r"R1_IoU(?P<iou>[0-9.]+)$")


def grid_windows(grid: int) -> np.ndarray:
    """Every (start, end) with 0 <= start < end <= 1 on a grid of step 1/grid."""
    points = np.arange(grid + 1) / grid
    start, end = np.meshgrid(points, points, indexing="ij")
    keep = end > start
    return np.stack([start[keep], end[keep]], axis=-1)


def window_scores(windows: np.ndarray, targets: np.ndarray, iou: float,
                  chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """For each normalised window: the share of targets it hits at IoU > `iou`, and its mean
    IoU with them. Chunked over targets so ActivityNet's 37k queries fit in memory."""
    hits = np.zeros(len(windows))
    total_iou = np.zeros(len(windows))
    for first in range(0, len(targets), chunk):
        t = targets[first:first + chunk]
        inter = np.clip(np.minimum(windows[:, None, 1], t[None, :, 1])
                        - np.maximum(windows[:, None, 0], t[None, :, 0]), 0, None)
        union = ((windows[:, 1] - windows[:, 0])[:, None] + (t[:, 1] - t[:, 0])[None] - inter)
        overlap = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        hits += (overlap > iou).sum(axis=1)
        total_iou += overlap.sum(axis=1)
    return hits / len(targets), total_iou / len(targets)


def fit_prior(samples: list[dict], grid: int, iou: float, nms_threshold: float,
              top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """The top-n normalised windows (after NMS) and their training R@1, best first."""
    if not samples:
        raise ValueError("prior: the training split has no queries to fit a window on")
    targets = np.array([(s["start"] / s["duration"], s["end"] / s["duration"]) for s in samples])
    windows = grid_windows(grid)
    recall, mean_iou = window_scores(windows, targets, iou)
    order = np.lexsort((-mean_iou, -recall))          # recall first, then mean IoU
    # NMS needs scores that keep this order: the rank itself, best highest
    rank_score = np.empty(len(windows))
    rank_score[order] = np.arange(len(windows), 0, -1)
    keep = nms(windows, rank_score, nms_threshold, top_n)
    return windows[keep], recall[keep]


class Prior(Method):
    def train(self, inputs: RunInputs, run_dir: Path, tracker) -> None:
        """Fit the windows on the training split; score validation for the history."""
        settings = self.job.settings
        iou = select_iou(settings["select_on"])
        windows, recall = fit_prior(inputs.split("train"), settings["grid"], iou,
                                    settings["nms"], settings["top_n"])
        with atomic_path(run_dir / "checkpoint.pt") as tmp:
            torch.save({"method": "prior", "settings": settings,
                        "windows": windows.tolist(), "train_recall": recall.tolist()}, tmp)
        val = evaluate_files(self.predict(inputs, run_dir, "val"), inputs.split("val"),
                             self.job.dataset["ious"])
        tracker.log_metrics({"train_" + settings["select_on"]: 100.0 * float(recall[0]),
                             "window_start": float(windows[0, 0]),
                             "window_end": float(windows[0, 1]),
                             **{f"val_{k}": v for k, v in val.items()}}, step=0)
        write_history(run_dir / "history.csv", [{"epoch": 0, "updates": 0, **val}])

    def predict(self, inputs: RunInputs, run_dir: Path, split: str) -> list[dict]:
        state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
        windows, recall = np.asarray(state["windows"]), np.asarray(state["train_recall"])
        # the same windows for every query: already after NMS, so no threshold is applied again
        return [ranked_prediction(s["qid"], windows * s["duration"], recall, 1.0, len(windows))
                for s in inputs.split(split)]


def select_iou(select_on: str) -> float:
    match = SELECT_ON.match(select_on)
    if not match:
        raise ValueError(f"prior: select_on must be R1_IoU<m>, got {select_on!r}")
    return float(match["iou"])
