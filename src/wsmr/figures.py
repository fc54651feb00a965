"""Figures: a grounding's timeline, and a run's training curves (matplotlib, Agg backend)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from wsmr.io import atomic_path

# history.csv columns that are not losses: shares of the video, an exploration probability
WIDTHS = ("train_picked_width", "val_top1_width", "val_gt_width")
NOT_LOSSES = (*WIDTHS, "train_exploration_p", "train_label")
TOP_COLOURS = ("#d62728", "#ff7f0e", "#bcbd22", "#17becf", "#9467bd")


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: str | Path) -> None:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    pyplot().close(fig)


def score_over_time(candidates: np.ndarray, scores: np.ndarray, duration: float,
                    points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """At each time, the best score among the candidates covering it: where the method looks."""
    times = np.linspace(0.0, duration, points)
    covers = (candidates[:, :1] <= times) & (times <= candidates[:, 1:])
    best = np.where(covers, scores[:, None], -np.inf).max(axis=0)
    return times, np.where(np.isfinite(best), best, np.nan)


def frames_at(video: str | Path, seconds: list[float]) -> list[np.ndarray]:
    """The decoded frames nearest to each time (RGB), in one pass over the video."""
    import av

    wanted = sorted(set(seconds))
    found: dict[float, np.ndarray] = {}
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate)
        targets = {t: max(0, round(t * fps)) for t in wanted}
        last = None
        for index, frame in enumerate(container.decode(stream)):
            last = frame
            for t, target in targets.items():
                if target == index:
                    found[t] = frame.to_ndarray(format="rgb24")
            if len(found) == len(targets):
                break
    for t in wanted:   # a time at the very end: the last frame
        found.setdefault(t, last.to_ndarray(format="rgb24"))
    return [found[t] for t in seconds]


def plot_timeline(grounding, out: str | Path) -> None:
    """The score over time, the top-5 moments, the ground truth if known, and the frames at
    the top-1's start and end."""
    plt = pyplot()
    candidates = np.asarray(grounding.candidates, dtype=np.float64).reshape(-1, 2)
    scores = np.asarray(grounding.candidate_scores, dtype=np.float64)
    times, curve = score_over_time(candidates, scores, grounding.duration)
    start, end = grounding.moments[0]
    fig = plt.figure(figsize=(9, 5.6))
    grid = fig.add_gridspec(3, 2, height_ratios=[1.1, 0.32, 0.8], hspace=0.08)
    for column, (label, t) in enumerate((("top-1 start", start), ("top-1 end", end))):
        ax = fig.add_subplot(grid[0, column])
        ax.imshow(frames_at(grounding.video, [min(t, grounding.duration - 1e-3)])[0])
        ax.set_title(f"{label}: {t:.2f} s", fontsize=10)
        ax.axis("off")
    lane = fig.add_subplot(grid[1, :])
    curve_ax = fig.add_subplot(grid[2, :], sharex=lane)
    for ax in (lane, curve_ax):
        if grounding.gt:
            ax.axvspan(*grounding.gt, color="#2ca02c", alpha=0.25,
                       label="ground truth" if ax is curve_ax else None)
    for rank, ((a, b), score) in enumerate(zip(grounding.moments, grounding.scores, strict=True)):
        lane.plot([a, b], [-rank, -rank], lw=6, solid_capstyle="butt",
                  color=TOP_COLOURS[rank % 5])
        # the label on the side with room; over the bar when neither has
        x, ha = ((b, "left") if b < 0.7 * grounding.duration else
                 (a, "right") if a > 0.3 * grounding.duration else (a, "left"))
        lane.text(x, -rank, f" #{rank + 1} {a:.1f}-{b:.1f} s ({score:.3g}) ", va="center",
                  ha=ha, fontsize=7)
    lane.set(ylim=(-len(grounding.moments) + 0.4, 0.6), yticks=[], ylabel="top-5")
    lane.tick_params(labelbottom=False)
    curve_ax.plot(times, curve, color="black", lw=1.2, label="best score covering t")
    curve_ax.set(xlim=(0, grounding.duration), xlabel="seconds", ylabel="score")
    curve_ax.legend(fontsize=7, loc="lower right")
    run = "/".join(Path(grounding.run).parts[-3:])
    fig.suptitle(f'"{grounding.sentence}" ({run})', fontsize=11)
    fig.subplots_adjust(left=0.08, right=0.97, top=0.9, bottom=0.09)
    save(fig, out)


def read_history(path: str | Path) -> dict[str, np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([float(row[key]) if row[key] else np.nan for row in rows])
            for key in rows[0]} if rows else {}


def plot_history(history: str | Path, out: str | Path, title: str) -> None:
    """A run's curves per epoch: training losses, validation R@1, and the top-1's width
    against the ground truth's, where history.csv has them."""
    plt = pyplot()
    h = read_history(history)
    epochs = h.get("epoch", np.arange(1))
    panels = [("training losses", sorted(k for k in h if k.startswith("train_")
                                         and k not in NOT_LOSSES)),
              # Random's history is one row of validation metrics, without the prefix
              ("validation R@1 (%)", sorted(k for k in h if k.startswith(("val_R1_", "R1_")))),
              ("width / video", [k for k in WIDTHS if k in h])]
    panels = [(name, keys) for name, keys in panels if keys]
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(4 * max(1, len(panels)), 3.2),
                             squeeze=False)
    for ax, (name, keys) in zip(axes[0], panels, strict=False):
        for key in keys:
            ax.plot(epochs, h[key], marker="o" if len(epochs) < 30 else None,
                    label=key.removeprefix("train_").removeprefix("val_"))
        ax.set(title=name, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save(fig, out)


def plot_probe(results: dict, out: str | Path) -> None:
    """The linear probe's test accuracy per attribute beside chance (all clips, event clips)."""
    plt = pyplot()
    attributes = sorted(k for k, v in results.items() if isinstance(v, dict))   # not counts
    x = np.arange(len(attributes))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bars = (("accuracy", "all clips"), ("event_accuracy", "event clips"),
            ("chance", "chance (all)"))
    for i, (key, label) in enumerate(bars):
        ax.bar(x + (i - 1) * 0.27, [results[a][key] for a in attributes], 0.27, label=label,
               color=("#1f77b4", "#aec7e8", "#bbbbbb")[i])
    ax.set(xticks=x, xticklabels=attributes, ylim=(0, 1), ylabel="test accuracy",
           title="linear probe of the clip features")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, out)
