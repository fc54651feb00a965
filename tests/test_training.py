"""The shared training loop: its schedule, resuming after an interruption, early stopping."""

import csv
from types import SimpleNamespace

import pytest
import torch

from toy_features import build
from wsmr.methods.base import Job
from wsmr.methods.scn import SCN
from wsmr.tracking import Tracker
from wsmr.training import STATE, Loop, LoopSettings, learning_rate

TINY = dict(hidden=32, heads=2, layers=1, dropout=0.1, attention_dropout=None, feed_forward=4,
            feed_forward_dropout=None, k=3, ratios=None,
            exploration={"lambda1": 0.5, "lambda2": 2000}, train_nms=0.5, test_nms=0.5, top_n=5,
            mask_fraction=1 / 3, mask_weight=2.0, mask_tags=["NN", "VB"], decoder="bidirectional",
            encoders="bidirectional",
            loss_on="masked", label_smoothing=0.0, rec_reduction="sum", rewards="rank",
            beta=0.1, share=True, proposal_clips=8, max_clips=200, max_words=20, epochs=3,
            batch_size=8, lr=1e-3, warmup_updates=10, warmup_init_lr=1e-7, grad_clip=10.0,
            select_on="mIoU")
DATASET = {"name": "toy", "ratios": [0.25, 0.5], "ious": [0.3, 0.5], "clip_stride_s": 1.0}


def test_warmup_then_inverse_sqrt():
    s = LoopSettings(epochs=1, batch_size=1, lr=1e-3, warmup_updates=400, warmup_init_lr=1e-7,
                     grad_clip=1.0)
    assert learning_rate(0, s) == pytest.approx(1e-7)
    assert learning_rate(200, s) == pytest.approx((1e-7 + 1e-3) / 2)
    assert learning_rate(400, s) == pytest.approx(1e-3)
    assert learning_rate(1600, s) == pytest.approx(5e-4)   # sqrt(400 / 1600) = 1/2


class Interrupt(Exception):
    pass


class InterruptingTracker(Tracker):
    """Dies while logging the given epoch, like a job killed mid-training."""

    def __init__(self, at_step):
        super().__init__(active=False)
        self.at_step = at_step

    def log_metrics(self, metrics, step=None):
        if step == self.at_step:
            raise Interrupt


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return build(tmp_path_factory.mktemp("toy"), {"train": 6, "val": 2, "test": 2})


def train(toy, run_dir, tracker):
    SCN(Job(DATASET, "scn", "full", TINY, seed=0)).train(toy, run_dir, tracker)


def test_resume_after_interrupt_ends_as_an_uninterrupted_run(toy, tmp_path):
    train(toy, tmp_path / "whole", Tracker(active=False))
    with pytest.raises(Interrupt):
        train(toy, tmp_path / "cut", InterruptingTracker(at_step=2))
    assert (tmp_path / "cut" / STATE).exists() and not (tmp_path / "cut/checkpoint.pt").exists()
    train(toy, tmp_path / "cut", Tracker(active=False))   # the re-run continues after epoch 1
    whole = torch.load(tmp_path / "whole/checkpoint.pt", weights_only=True)
    cut = torch.load(tmp_path / "cut/checkpoint.pt", weights_only=True)
    assert whole["epoch"] == cut["epoch"]
    for name, tensor in whole["model"].items():
        assert torch.equal(tensor, cut["model"][name]), name
    assert history_without_timing(tmp_path / "whole") == history_without_timing(tmp_path / "cut")


def history_without_timing(run_dir):
    with (run_dir / "history.csv").open() as f:
        return [{k: v for k, v in row.items() if k not in ("epoch_time_s", "samples_per_s")}
                for row in csv.DictReader(f)]


class ScriptedLoop(Loop):
    """The loop with validation scores read from a script: its stopping rule, alone."""

    def __init__(self, scores, run_dir, tracker, patience):
        learner = SimpleNamespace(model=torch.nn.Linear(1, 1),
                                  batches=lambda rng, size: [{"qids": ["q"]}],
                                  loss=lambda batch, updates: (learner.model.weight.sum(), {}))
        settings = dict(epochs=len(scores), batch_size=1, lr=1e-3, warmup_updates=0,
                        warmup_init_lr=0.0, grad_clip=1.0, select_on="mIoU", patience=patience)
        super().__init__(learner, settings, run_dir, 0, [0.5], [], tracker)
        self.scores = scores

    def validate(self):
        return {"val_mIoU": self.scores[self.epoch]}


# better at epochs 1 and 4; with patience 2, epochs 2 and 3 exhaust it before 4 is reached
SCORES = [1.0, 3.0, 2.0, 2.0, 5.0, 1.0]


@pytest.mark.parametrize("patience, epochs_run, best", [(None, 6, 4), (2, 4, 1), (3, 6, 4)])
def test_patience_stops_after_epochs_without_a_better_score(tmp_path, patience, epochs_run,
                                                             best):
    chosen = ScriptedLoop(SCORES, tmp_path, Tracker(active=False), patience).fit()
    assert chosen["epoch"] == best
    assert len(history_without_timing(tmp_path)) == epochs_run


def test_a_resumed_run_stops_where_an_uninterrupted_one_does(tmp_path):
    with pytest.raises(Interrupt):
        ScriptedLoop(SCORES, tmp_path, InterruptingTracker(at_step=3), patience=2).fit()
    ScriptedLoop(SCORES, tmp_path, Tracker(active=False), patience=2).fit()
    assert [row["epoch"] for row in history_without_timing(tmp_path)] == ["0", "1", "2", "3"]
