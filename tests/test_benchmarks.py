"""The benchmarks build every learned method's loop from config.yaml on synthetic inputs: a
method that starts reading something new of its inputs must not break them unseen (no test
else runs them, and a GPU check that fails wastes the GPU's time)."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from train import build_loop, learned_methods, synthetic_batch, timed_steps


@pytest.mark.parametrize("method", learned_methods())
def test_every_learned_method_steps_on_the_benchmark_inputs(method, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])   # config.yaml, as the scripts read it
    batch = synthetic_batch(2)
    seconds, losses = timed_steps(build_loop(method, "full", batch, dataset="shapes"), batch, 1)
    assert len(seconds) == len(losses) == 2 and all(math.isfinite(x) for x in losses)
