"""Learned methods: a `Learner` is what a method hands the shared training loop
(wsmr.training.Loop); `LearnedMethod` trains it there and predicts from the selected checkpoint."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from wsmr.evaluation import ranked_prediction
from wsmr.methods.base import Method, RunInputs
from wsmr.methods.inputs import MethodInputs, positions_to_seconds
from wsmr.training import Loop, pick_device


class Learner(ABC):
    """What a method gives the loop: its model, its data (`MethodInputs`), its loss and its
    predictions (`ranking_candidates`); `s` holds its resolved settings."""

    model: torch.nn.Module
    data: MethodInputs
    s: dict

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def on_device(self, batch: dict) -> dict:
        """The batch's tensors on the model's device (ids and tags stay as they are)."""
        return {k: v.to(self.device) if isinstance(v, torch.Tensor) else v
                for k, v in batch.items()}

    def batches(self, rng: np.random.Generator, batch_size: int) -> Iterator:
        """One epoch of training batches, shuffled with `rng`."""
        return self.data.epoch_batches("train", rng, batch_size)

    @abstractmethod
    def loss(self, batch, updates: int) -> tuple[torch.Tensor, dict[str, float]]:
        """The training loss of a batch, and named parts to log (`updates` so far, for
        schedules)."""

    @abstractmethod
    def ranking_candidates(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """A batch's candidate moments, on CPU: positions (B, M, 2) in clips, their scores
        (B, M), and which are valid (B, M; None: all). The method's hook into `predict`."""

    def prediction_stream(self):
        """What `predict` runs inside: a method that draws at test time seeds its own stream."""
        return contextlib.nullcontext()

    def predict(self, split: str) -> list[dict]:
        """Top moments per query of a split, in the predictions contract: each video's
        candidates in seconds (through its own clips), ranked, after the method's NMS."""
        predictions = []
        with self.prediction_stream():
            for batch in self.data.epoch_batches(split, None, self.s["batch_size"]):
                positions, scores, valid = self.ranking_candidates(self.on_device(batch))
                seconds = positions_to_seconds(positions, batch["clip_edges"],
                                               batch["n_clips"]).numpy()
                scores = scores.numpy()
                valid = np.ones(scores.shape, bool) if valid is None else valid.numpy()
                predictions += [ranked_prediction(qid, seconds[row][valid[row]],
                                                  scores[row][valid[row]], self.s["test_nms"],
                                                  self.s["top_n"])
                                for row, qid in enumerate(batch["qids"])]
        return predictions


class LearnedMethod(Method):
    """A method trained by the loop: it builds a `Learner` from a run's inputs; training,
    selection on validation and prediction from the selected checkpoint are the same for all."""

    @abstractmethod
    def build_learner(self, data: MethodInputs) -> Learner: ...

    def learner(self, inputs: RunInputs) -> Learner:
        s = self.job.settings
        data = MethodInputs(inputs, s["max_clips"], s["max_words"])
        torch.manual_seed(self.job.seed)   # model initialisation depends on the seed only
        return self.build_learner(data)

    def train(self, inputs: RunInputs, run_dir: Path, tracker) -> None:
        learner = self.learner(inputs)
        Loop(learner, self.job.settings, run_dir, self.job.seed, self.job.dataset["ious"],
             learner.data.splits["val"].samples, tracker).fit()

    def predict(self, inputs: RunInputs, run_dir: Path, split: str) -> list[dict]:
        learner = self.learner(inputs)
        checkpoint = torch.load(Path(run_dir) / "checkpoint.pt", map_location="cpu",
                                weights_only=True)
        learner.model.load_state_dict(checkpoint["model"])
        learner.model.to(pick_device()).eval()
        with torch.no_grad():
            return learner.predict(split)
