"""What every method gives the train/predict rules, and what they give it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from wsmr.features.store import without_skipped
from wsmr.io import read_jsonl


@dataclass
class RunInputs:
    """Paths of a run's inputs: samples per split, and what the method `needs`. Queries on
    videos the features job skipped (`on_bad_video: skip`) are dropped, and counted."""

    samples: dict[str, Path]
    features: Path | None = None
    vocab: Path | None = None
    embeddings: Path | None = None
    skipped_videos: frozenset[str] = frozenset()
    _cache: dict = field(default_factory=dict, repr=False)

    def split(self, name: str) -> list[dict]:
        if name not in self._cache:
            self._cache[name] = without_skipped(read_jsonl(self.samples[name]),
                                                self.skipped_videos, f"{name} split")
        return self._cache[name]


@dataclass
class Job:
    """A train/predict job's resolved settings, as the rules pass them (see wsmr.config)."""

    dataset: dict
    method: str
    variant: str
    settings: dict
    seed: int


class Method(ABC):
    """A moment-retrieval method: `train` writes checkpoint.pt and history.csv into the run
    directory; `predict` returns, per query, the top moments (seconds) and their scores,
    best first, after the method's NMS."""

    def __init__(self, job: Job):
        self.job = job

    @abstractmethod
    def train(self, inputs: RunInputs, run_dir: Path, tracker) -> None: ...

    @abstractmethod
    def predict(self, inputs: RunInputs, run_dir: Path, split: str) -> list[dict]: ...
