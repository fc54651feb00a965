"""Every learned method and variant of config.yaml trains under CUDA autocast: its loss reaches
no op that CUDA autocast refuses, and ranks, selects and rewards on fp32 values (the policy is
emulated on CPU: tests/autocast_policy.py). Where CUDA is present, each also trains for real."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from autocast_policy import CudaAutocastPolicy
from toy_features import build
from wsmr import config as wcfg
from wsmr import training
from wsmr.hardware import cpu_has_native_bf16
from wsmr.methods import load
from wsmr.methods.base import Job
from wsmr.methods.learned import LearnedMethod
from wsmr.tracking import Tracker
from wsmr.training import Loop, autocast_dtype

CONFIG = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())
DATASET = {"name": "shapes", **{k: CONFIG["datasets"]["shapes"][k]
                                 for k in ("ratios", "ious", "clip_stride_s")}}
LEARNED = [(method, variant) for method, spec in CONFIG["methods"].items()
           if issubclass(load(method), LearnedMethod) for variant in spec["variants"]]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return build(tmp_path_factory.mktemp("toy"), {"train": 4, "val": 1, "test": 1})


def learner_and_batch(toy, method: str, variant: str, batch_size: int = 4, **overrides):
    """The method's learner at its `shapes` settings, and one training batch of the toy twin."""
    settings = {**wcfg.method_settings(CONFIG, "shapes", method, variant), **overrides}
    torch.manual_seed(0)
    learner = load(method)(Job(DATASET, method, variant, settings, seed=0)).learner(toy)
    return learner, settings, next(iter(learner.batches(np.random.default_rng(0), batch_size)))


def test_the_emulated_policy_catches_what_cuda_autocast_refuses_or_rounds():
    layer, x = torch.nn.Linear(8, 4), torch.randn(3, 8)
    cases = {
        "binary_cross_entropy": lambda: F.binary_cross_entropy(torch.sigmoid(layer(x)).float(),
                                                               torch.rand(3, 4)),
        "argmax": lambda: torch.sigmoid(layer(x)).argmax(1),            # bf16 scores
        "_log_softmax": lambda: layer(x).float().log_softmax(-1),       # bf16 logits, upcast
    }
    for name, run in cases.items():
        with torch.autocast("cpu", dtype=torch.bfloat16), CudaAutocastPolicy() as policy:
            run()
        assert [v.split(":")[0] for v in policy.violations] == [name], (name, policy.violations)
    # bf16 states, projected in fp32: the logits carry no rounding of their own
    with torch.autocast("cpu", dtype=torch.bfloat16), CudaAutocastPolicy() as policy:
        hidden = torch.relu(layer(x))
        with torch.autocast("cpu", enabled=False):
            logits = torch.nn.Linear(4, 4)(hidden.float())
        logits.log_softmax(-1).argmax(1)
        F.binary_cross_entropy_with_logits(logits, torch.rand(3, 4))
    assert policy.violations == []


@pytest.mark.parametrize("method, variant", LEARNED)
def test_loss_is_safe_under_cuda_autocast(toy, method, variant):
    learner, _, batch = learner_and_batch(toy, method, variant)
    # oneDNN has no bf16 LSTM on CPUs without native bf16; ATen's runs it (in fp32: the
    # projections after it still run in bf16, as on CUDA)
    with torch.backends.mkldnn.flags(enabled=False), \
            torch.autocast("cpu", dtype=torch.bfloat16), CudaAutocastPolicy() as policy:
        loss, _ = learner.loss(batch, updates=0)
    assert policy.violations == [], f"{method}/{variant}: {sorted(set(policy.violations))}"
    loss.backward()
    assert torch.isfinite(loss)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method, variant", LEARNED)
def test_trains_on_cuda_under_autocast(toy, tmp_path, method, variant):
    """The loop's own step (CUDA, its autocast dtype, GradScaler for fp16) fits one batch."""
    losses = fit_one_batch(toy, tmp_path, method, variant)
    assert all(np.isfinite(losses)) and np.mean(losses[-5:]) < np.mean(losses[:5]), losses


@pytest.mark.skipif(torch.cuda.is_available() or not cpu_has_native_bf16(),
                    reason="needs a CPU with native bf16, and no CUDA")
@pytest.mark.parametrize("method", ["scn", "ms2d", "cpl"])
def test_trains_on_cpu_in_bf16_when_asked(toy, tmp_path, method):
    """`cpu_bf16`: the loop's step under CPU autocast fits one batch."""
    losses = fit_one_batch(toy, tmp_path, method, "full", cpu_bf16=True)
    assert all(np.isfinite(losses)) and np.mean(losses[-5:]) < np.mean(losses[:5]), losses


def test_cpu_bf16_is_bf16_only_where_the_cpu_has_it(monkeypatch, caplog):
    cpu = torch.device("cpu")
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    assert autocast_dtype(cpu, cpu_bf16=True) == torch.bfloat16
    assert autocast_dtype(cpu) is None                       # fp32 unless asked
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: False)
    assert autocast_dtype(cpu, cpu_bf16=True) is None
    assert "no native bf16" in caplog.text


def fit_one_batch(toy, run_dir, method, variant, steps=30, **overrides):
    """Losses of `steps` loop steps on one batch, at the full step size from the first."""
    learner, settings, batch = learner_and_batch(toy, method, variant, warmup_updates=0,
                                                 **overrides)
    loop = Loop(learner, settings, run_dir, 0, DATASET["ious"], [], Tracker(False))
    assert loop.amp == autocast_dtype(loop.device, settings.get("cpu_bf16", False))
    assert loop.amp is not None
    return [loop.step(batch)["loss"] for _ in range(steps)]
