"""How little can one query-blind window gain over Random? Prints a linear programme's answer.

Random (wsmr.methods.random_baseline) draws uniformly among SCN's candidate windows. For a
distribution q of ground-truth moments over those candidates, a fixed window w retrieves a
share f_q(w) of the queries, and Random retrieves the mean of f_q over the candidates. The
linear programme below finds the q that makes the best fixed window (on a fine grid) as weak
as possible relative to Random: the least a blind window gains on a dataset whose moments are
among Random's own candidates, each measure minimised on its own. It prints 1.28x at R@1
IoU=0.3, 1.21x at IoU=0.5 and 1.11x on mIoU at the defaults: a fixed window beats Random's
draws on any such dataset, so "a blind window gains nothing" can only be approached
(docs/shapes.md).

    python benchmarks/blind_bound.py [--steps 24] [--grid 96]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import linprog

from wsmr.evaluation import temporal_iou
from wsmr.methods.prior import grid_windows
from wsmr.methods.random_baseline import candidate_windows

RATIOS = [0.167, 0.25, 0.333, 0.5]   # SCN's Charades-style widths, as `shapes` uses


def overlap_matrix(windows: np.ndarray, moments: np.ndarray, measure: str) -> np.ndarray:
    """(windows, moments): 1 where the window retrieves the moment at that IoU, or the IoU."""
    ious = np.stack([temporal_iou(windows, m) for m in moments], axis=1)
    return ious if measure == "mIoU" else (ious > float(measure)).astype(float)


def least_gain(steps: int, grid: int, measure: str) -> float:
    candidates = candidate_windows(1.0, RATIOS, 1.0 / steps, steps)
    fixed = overlap_matrix(grid_windows(grid), candidates, measure)
    random = overlap_matrix(candidates, candidates, measure).mean(axis=0)
    n = len(candidates)
    # variables: q (n), t; minimise t subject to fixed @ q <= t and random @ q = 1
    result = linprog(np.r_[np.zeros(n), 1.0],
                     A_ub=np.c_[fixed, -np.ones(len(fixed))], b_ub=np.zeros(len(fixed)),
                     A_eq=np.r_[random, 0.0][None], b_eq=[1.0],
                     bounds=[(0, None)] * (n + 1), method="highs")
    if not result.success:
        raise RuntimeError(result.message)
    return float(result.fun)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24, help="grid ends (clips) per video")
    parser.add_argument("--grid", type=int, default=96, help="the fixed windows' grid, 1/grid")
    args = parser.parse_args()
    for measure, label in (("0.3", "R@1 IoU=0.3"), ("0.5", "R@1 IoU=0.5"), ("mIoU", "mIoU")):
        gain = least_gain(args.steps, args.grid, measure)
        print(f"{label}: the best fixed window gains at least {gain:.3f}x over Random")


if __name__ == "__main__":
    main()
