"""The samples contract and the repair/reject policy shared by every annotation reader.

A sample is one query: `qid, vid, duration, start, end, sentence` (seconds). Readers hand each
raw annotation to `make_sample`, which repairs what can be repaired (and counts it) and rejects
the rest with the file and line, or, when config says `on_unrepairable: skip`, counts and lists
the skip. Nothing is dropped silently.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger("wsmr.data")

# Repairs: the annotation keeps its meaning, a boundary is moved.
SWAPPED = "swapped_start_end"
END_CLIPPED = "end_clipped_to_duration"
START_CLIPPED = "start_clipped_to_zero"
# Rejections: nothing trustworthy can be made of the annotation.
MISSING_DURATION = "missing_duration"
EMPTY_SENTENCE = "empty_sentence"
STARTS_AFTER_END = "starts_after_video_end"
MALFORMED = "malformed_line"

EXAMPLES_KEPT = 5


class AnnotationError(ValueError):
    """An annotation the pipeline cannot repair; the message names the file and line."""


def finite_seconds(value) -> float:
    """A time in seconds from an annotation field; ValueError unless it is a finite number.

    float() reads "nan" and "inf", and every comparison with NaN is false, so a NaN time would
    pass each check of `make_sample` and reach training: the readers reject it as malformed.
    """
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite number of seconds")
    return seconds


@dataclass
class DefectLog:
    """Counts of repaired and skipped annotations, with a few locations of each kind."""

    skip_unrepairable: bool = False
    repaired: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    where: dict[str, list[str]] = field(default_factory=dict)

    def repair(self, kind: str, where: str) -> None:
        self.repaired[kind] += 1
        self._remember(kind, where)

    def reject(self, kind: str, where: str, detail: str) -> None:
        """Raise, or count the skip when config allows skipping unrepairable annotations."""
        if not self.skip_unrepairable:
            raise AnnotationError(f"{where}: {detail} ({kind}; set on_unrepairable: skip "
                                  "in the dataset's config to count and skip such lines)")
        self.skipped[kind] += 1
        self._remember(kind, where)

    def _remember(self, kind: str, where: str) -> None:
        examples = self.where.setdefault(kind, [])
        if len(examples) < EXAMPLES_KEPT:
            examples.append(where)

    def summary(self) -> dict:
        return {
            "repaired": dict(sorted(self.repaired.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "examples": {k: v for k, v in sorted(self.where.items())},
        }


def make_sample(*, qid: str, vid: str, duration: float | None, start: float, end: float,
                sentence: str, where: str, defects: DefectLog) -> dict | None:
    """One sample in the contract, repaired; None when an unrepairable one is skipped."""
    sentence = sentence.strip()
    if not sentence:
        defects.reject(EMPTY_SENTENCE, where, f"empty sentence for video {vid}")
        return None
    if duration is None or not 0 < duration < math.inf:  # NaN fails both comparisons
        defects.reject(MISSING_DURATION, where, f"no duration known for video {vid}"
                       + (f" ({duration!r})" if duration is not None else ""))
        return None
    if start > end:
        start, end = end, start
        defects.repair(SWAPPED, where)
    if start >= duration:
        defects.reject(STARTS_AFTER_END, where,
                       f"moment starts at {start:g} s, after video {vid} ends ({duration:g} s)")
        return None
    if start < 0:
        start = 0.0
        defects.repair(START_CLIPPED, where)
    if end > duration:
        end = duration
        defects.repair(END_CLIPPED, where)
    return {"qid": qid, "vid": vid, "duration": float(duration), "start": float(start),
            "end": float(end), "sentence": sentence}


def hold_out_videos(samples: list[dict], fraction: float, seed: int) -> tuple[list, list]:
    """Split samples by video into (kept, held out): the validation slice of a training split.

    Whole videos go one way or the other, so no validation query shares a video with training.
    """
    videos = sorted({s["vid"] for s in samples})
    n_held = max(1, round(fraction * len(videos)))
    held = set(np.random.default_rng(seed).permutation(videos)[:n_held].tolist())
    kept = [s for s in samples if s["vid"] not in held]
    return kept, [s for s in samples if s["vid"] in held]


def log_defects(source: str, defects: DefectLog) -> None:
    summary = defects.summary()
    log.info("%s: repaired %s, skipped %s", source, summary["repaired"] or "none",
             summary["skipped"] or "none")
    for kind, where in summary["examples"].items():
        log.info("  %s, e.g. %s", kind, "; ".join(where))
