"""The Random baseline: the floor every learned method is measured against.

For each query it draws moments uniformly, with a seed, from SCN's candidate windows for the
dataset: every ratio r of the video's length D, ending at every step of a grid over the video.
Windows that would start before 0 are not candidates. The top-n after NMS are the first draws
that survive NMS, so R@5 is measured the same way as for the learned methods.

The grid is feature-free: D split into ceil(D / clip_stride_s) equal steps, at most
`max_steps` (as SCN caps its frames). Random reads the annotations only, never the features,
so it is the same floor whichever video features a table uses, and it runs before any video
is decoded; the learned methods' windows end on each video's own clip times instead (see
wsmr.methods.inputs). The table's note states the step.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from wsmr.evaluation import evaluate_files, ranked_prediction
from wsmr.io import atomic_path, write_history
from wsmr.methods.base import Method, RunInputs


def candidate_windows(duration: float, ratios: list[float], stride_s: float,
                      max_steps: int) -> np.ndarray:
    """(n, 2) windows (end - r * duration, end) for every ratio and grid end; start >= 0."""
    steps = max(1, min(max_steps, math.ceil(duration / stride_s - 1e-9)))
    ends = duration * np.arange(1, steps + 1) / steps
    widths = duration * np.asarray(ratios, dtype=np.float64)
    starts = ends[None, :] - widths[:, None]
    valid = starts >= -1e-9
    windows = np.stack([np.clip(starts, 0, None), np.broadcast_to(ends, starts.shape)], axis=-1)
    return windows[valid]


class RandomBaseline(Method):
    def train(self, inputs: RunInputs, run_dir: Path, tracker) -> None:
        """Nothing to learn: record the seed, and score the validation split for the history."""
        val = evaluate_files(self.predict(inputs, run_dir, "val"), inputs.split("val"),
                             self.job.dataset["ious"])
        tracker.log_metrics({f"val_{k}": v for k, v in val.items()}, step=0)
        write_history(run_dir / "history.csv", [{"epoch": 0, "updates": 0, **val}])
        with atomic_path(run_dir / "checkpoint.pt") as tmp:
            torch.save({"method": "random", "seed": self.job.seed,
                        "settings": self.job.settings}, tmp)

    def predict(self, inputs: RunInputs, run_dir: Path, split: str) -> list[dict]:
        settings, ratios = self.job.settings, self.job.dataset["ratios"]
        # one stream per split, so the validation draws never shift the test draws
        rng = np.random.default_rng([self.job.seed, ["train", "val", "test"].index(split)])
        predictions = []
        for sample in inputs.split(split):
            windows = candidate_windows(sample["duration"], ratios,
                                        self.job.dataset["clip_stride_s"], settings["max_steps"])
            scores = rng.random(len(windows))
            predictions.append(ranked_prediction(sample["qid"], windows, scores, settings["nms"],
                                                 settings["top_n"]))
        return predictions
