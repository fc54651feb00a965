"""The one training loop shared by every learned method.

A method hands the loop a `Learner` (wsmr.methods.learned): its model, its training batches and
loss, and its predictions for a split. The loop knows a learner by those four only, so it
imports nothing of wsmr.methods. The loop owns everything else: the device (CUDA when present,
with AMP; fp32 on CPU unless `cpu_bf16`), Adam with the papers' warm-up then inverse-sqrt
schedule, gradient clipping, validation after every epoch, the best epoch chosen on validation
(never on test), an early stop once validation has not improved for `patience` epochs (when
set), a resumable state after every epoch, `history.csv`, per-epoch MLflow metrics and the
final `checkpoint.pt`.
On CPU it is deterministic given the seed, resumed or not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wsmr.evaluation import evaluate_files, width_shares
from wsmr.hardware import cpu_has_native_bf16, keep_freed_memory
from wsmr.io import atomic_path, write_history

log = logging.getLogger("wsmr.training")

STATE = "train_state.pt"     # resumable state; not a rule output, so it survives a killed job


@dataclass
class LoopSettings:
    epochs: int
    batch_size: int
    lr: float
    warmup_updates: int
    warmup_init_lr: float
    grad_clip: float
    select_on: str = "mIoU"   # validation metric that picks the best epoch
    patience: int | None = None   # stop after this many epochs without a better validation score
    cpu_bf16: bool = False   # bf16 autocast on a CPU with native bf16 (off: fp32 on every CPU)

    @classmethod
    def from_settings(cls, settings: dict) -> LoopSettings:
        return cls(**{k: settings[k] for k in cls.__dataclass_fields__ if k in settings})


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast_dtype(device: torch.device, cpu_bf16: bool = False) -> torch.dtype | None:
    """bf16 where the GPU supports it, else fp16. On CPU none (fp32) unless `cpu_bf16` asks
    for bf16 and the CPU has it natively: emulated, it is orders of magnitude slower. fp32 is
    the CPU default because bf16 changes a run's numbers, and they would then differ between
    CPUs with and without it."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if not cpu_bf16:
        return None
    if cpu_has_native_bf16():
        return torch.bfloat16
    log.warning("cpu_bf16: this CPU has no native bf16 (avx512_bf16, amx_bf16); training in fp32")
    return None


def learning_rate(update: int, s: LoopSettings) -> float:
    """Linear warm-up from `warmup_init_lr` to `lr`, then decay with 1/sqrt(update)."""
    if update < s.warmup_updates:
        return s.warmup_init_lr + (s.lr - s.warmup_init_lr) * update / s.warmup_updates
    return s.lr * math.sqrt(s.warmup_updates / max(update, 1)) if s.warmup_updates else s.lr


def settings_digest(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


class Loop:
    def __init__(self, learner, settings: dict, run_dir: Path, seed: int,
                 ious: list[float], val_samples: list[dict], tracker, amp: bool = True):
        self.learner, self.run_dir, self.seed = learner, Path(run_dir), seed
        self.s = LoopSettings.from_settings(settings)
        self.digest = settings_digest({**settings, "seed": seed})
        self.ious, self.val_samples, self.tracker = ious, val_samples, tracker
        self.device = pick_device()
        # amp=False: fp32 on CUDA too
        self.amp = autocast_dtype(self.device, self.s.cpu_bf16) if amp else None
        keep_freed_memory()   # a step's activations are reused, not mapped afresh each step
        self.model = learner.model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.s.lr)
        self.scaler = torch.amp.GradScaler(enabled=self.amp == torch.float16)
        self.epoch, self.updates, self.history = 0, 0, []
        self.best = {"score": -math.inf, "epoch": -1, "model": None}

    # -- state ------------------------------------------------------------------------------
    def save_state(self) -> None:
        state = {"digest": self.digest, "epoch": self.epoch, "updates": self.updates,
                 "history": self.history, "best": self.best, "model": self.model.state_dict(),
                 "optimizer": self.optimizer.state_dict(), "scaler": self.scaler.state_dict(),
                 "torch_rng": torch.get_rng_state()}
        with atomic_path(self.run_dir / STATE) as tmp:
            torch.save(state, tmp)

    def resume(self) -> None:
        """Continue from the last finished epoch of an interrupted run with the same settings."""
        path = self.run_dir / STATE
        if not path.exists():
            return
        state = torch.load(path, map_location=self.device, weights_only=True)
        if state["digest"] != self.digest:
            log.warning("%s belongs to other settings; starting afresh", path)
            return
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.updates = state["epoch"], state["updates"]
        self.history, self.best = state["history"], state["best"]
        log.info("resumed after epoch %d (%d updates)", self.epoch, self.updates)

    # -- training ---------------------------------------------------------------------------
    def step(self, batch) -> dict[str, float]:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.updates, self.s)
        autocast = (torch.autocast(self.device.type, dtype=self.amp) if self.amp
                    else contextlib.nullcontext())
        with autocast:
            loss, parts = self.learner.loss(batch, self.updates)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.s.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.updates += 1
        return {"loss": float(loss.detach()), **parts}

    def run_epoch(self) -> dict[str, float]:
        self.model.train()
        started, sums, samples = time.perf_counter(), {}, 0
        rng = np.random.default_rng([self.seed, self.epoch])  # order depends on epoch only
        for batch in self.learner.batches(rng, self.s.batch_size):
            for name, value in self.step(batch).items():
                sums[name] = sums.get(name, 0.0) + value
            samples += len(batch["qids"])
        seconds = time.perf_counter() - started
        n_batches = max(1, self.updates - (self.history[-1]["updates"] if self.history else 0))
        return {**{f"train_{k}": v / n_batches for k, v in sums.items()},
                "epoch_time_s": seconds, "samples_per_s": samples / seconds}

    def validate(self) -> dict[str, float]:
        self.model.eval()
        with torch.no_grad():
            predictions = self.learner.predict("val")
        metrics = {**evaluate_files(predictions, self.val_samples, self.ious),
                   **width_shares(predictions, self.val_samples)}
        return {f"val_{k}": v for k, v in metrics.items()}

    def out_of_patience(self) -> bool:
        """`patience` epochs have passed since the best validation score; read from the state,
        so a resumed run stops where an uninterrupted one does."""
        return (self.s.patience is not None and self.best["epoch"] >= 0
                and self.epoch - 1 - self.best["epoch"] >= self.s.patience)

    def fit(self) -> dict:
        self.resume()
        while self.epoch < self.s.epochs and not self.out_of_patience():
            row = {"epoch": self.epoch, **self.run_epoch()}
            row.update(self.validate())
            row.update({"updates": self.updates, "lr": learning_rate(self.updates, self.s)})
            self.history.append(row)
            self.tracker.log_metrics({k: v for k, v in row.items() if k != "epoch"},
                                     step=self.epoch)
            score = row[f"val_{self.s.select_on}"]
            if score > self.best["score"]:
                self.best = {"score": score, "epoch": self.epoch,
                             "model": {k: v.detach().cpu().clone()
                                       for k, v in self.model.state_dict().items()}}
            log.info("epoch %d: %s", self.epoch, ", ".join(
                f"{k} {v:.4g}" for k, v in row.items() if k != "epoch"))
            self.epoch += 1
            self.save_state()
        if self.epoch < self.s.epochs:
            log.info("stopped after epoch %d: no better validation %s in %d epochs",
                     self.epoch - 1, self.s.select_on, self.s.patience)
        self.write_outputs()
        return self.best

    def write_outputs(self) -> None:
        write_history(self.run_dir / "history.csv", self.history)
        with atomic_path(self.run_dir / "checkpoint.pt") as tmp:
            torch.save({"model": self.best["model"], "epoch": self.best["epoch"],
                        "val_score": self.best["score"], "select_on": self.s.select_on}, tmp)
        self.tracker.log_metrics({"best_epoch": self.best["epoch"], "epochs_run": self.epoch,
                                  f"best_val_{self.s.select_on}": self.best["score"]})
        log.info("best epoch %d (val %s %.2f)", self.best["epoch"], self.s.select_on,
                 self.best["score"])
