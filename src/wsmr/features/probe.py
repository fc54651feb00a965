"""What the features carry: linear probes of a clip's content on a generated dataset.

Each clip is labelled from the generator's own event records by the event covering most of the
clip (more than half of its real frames), or `idle`. One logistic regression per attribute
(the acting object's colour, its shape, its action) is fit on the clips of the training videos
and scored on the clips of the test videos, against chance: the share of the test clips'
majority class; also on the test clips under an event alone, against their majority share.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from pathlib import Path

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from wsmr.io import read_jsonl

log = logging.getLogger("wsmr.probe")

ATTRIBUTES = ("colour", "shape", "action")
IDLE = "idle"


def clip_label(span: np.ndarray, events: list[dict], attribute: str) -> str:
    """The attribute of the event covering most of the clip [start, end), else idle."""
    start, end = float(span[0]), float(span[1])
    best, covered = None, 0.0
    for event in events:
        overlap = min(end, event["end"]) - max(start, event["start"])
        if overlap > covered:
            best, covered = event, overlap
    return best[attribute] if best is not None and covered > 0.5 * (end - start) else IDLE


def labelled_clips(features: str | Path, events: str | Path, split: str) -> tuple[np.ndarray, dict]:
    """Features of the split's clips and their labels per attribute."""
    by_video = defaultdict(list)
    for event in read_jsonl(events):
        if event["split"] == split:
            by_video[event["vid"]].append(event)
    rows, labels = [], {a: [] for a in ATTRIBUTES}
    with h5py.File(features, "r") as h5:
        for vid in sorted(set(by_video) & set(h5)):
            rows.append(h5[vid][()])
            for span in h5[vid].attrs["clip_seconds"]:
                for attribute in ATTRIBUTES:
                    labels[attribute].append(clip_label(span, by_video[vid], attribute))
    if not rows:
        raise ValueError(f"{features}: no {split} videos of {events} have features")
    return np.concatenate(rows), {a: np.array(v) for a, v in labels.items()}


def probe(features: str | Path, events: str | Path, seed: int = 0) -> dict:
    """Test accuracy and chance of a linear probe per attribute."""
    x_train, y_train = labelled_clips(features, events, "train")
    x_test, y_test = labelled_clips(features, events, "test")
    results = {"train_clips": len(x_train), "test_clips": len(x_test)}
    for attribute in ATTRIBUTES:
        classifier = make_pipeline(StandardScaler(),
                                   LogisticRegression(max_iter=5000, random_state=seed))
        classifier.fit(x_train, y_train[attribute])
        results[attribute] = scores(classifier, x_test, y_test[attribute])
        train_accuracy = float(classifier.score(x_train, y_train[attribute]))
        results[attribute].update(train_accuracy=train_accuracy,
                                  classes=sorted(set(y_train[attribute])))
        log.info("probe %-6s: test accuracy %.3f vs chance %.3f (majority %s); on event clips "
                 "%.3f vs %.3f; train %.3f", attribute, *(results[attribute][k] for k in (
                     "accuracy", "chance", "majority_class", "event_accuracy", "event_chance",
                     "train_accuracy")))
    return results


def scores(classifier, x: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy and chance on all clips, and on the clips under an event (idle is easy: an
    empty frame), where the words are decided."""
    events = y != IDLE
    majority, count = Counter(y).most_common(1)[0]
    _, event_count = Counter(y[events]).most_common(1)[0]
    return {"accuracy": float(classifier.score(x, y)), "chance": count / len(y),
            "majority_class": str(majority),
            "event_accuracy": float(classifier.score(x[events], y[events])),
            "event_chance": event_count / int(events.sum())}
