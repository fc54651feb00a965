"""MLflow tracking: tags and names per job, and parallel jobs on a fresh SQLite store."""

import subprocess
import sys

import pytest

from wsmr import tracking

JOB = """
import sys
from wsmr import tracking
uri, seed = sys.argv[1], int(sys.argv[2])
with tracking.job_run(uri, dataset="toy", stage="train", method="random", variant="default",
                      seed=seed, params={"a": {"b": 1}}) as tracker:
    tracker.log_metrics({"loss": 1.0 / (seed + 1)}, step=0)
"""


def test_run_names():
    assert tracking.run_name("train", "scn", "full", 2) == "train-scn-full-s2"
    assert tracking.run_name("samples") == "samples"


def test_off_switch(monkeypatch):
    monkeypatch.setenv("WSMR_TRACKING", "off")
    assert not tracking.is_enabled("sqlite:///x.db")
    with tracking.job_run("sqlite:///never.db", dataset="toy", stage="x") as tracker:
        tracker.log_metrics({"a": 1.0})   # accepted, does nothing
    assert not tracking.is_enabled("off")


def test_parallel_jobs_on_a_fresh_store(tmp_path, monkeypatch):
    """Four jobs start at once on a database that does not exist yet: all four are logged."""
    monkeypatch.delenv("WSMR_TRACKING", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    jobs = [subprocess.Popen([sys.executable, "-c", JOB, uri, str(seed)], cwd=tmp_path,
                             stderr=subprocess.PIPE, text=True) for seed in range(4)]
    for job in jobs:
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err[-2000:]
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["wsmr/toy"])
    assert sorted(runs["tags.mlflow.runName"]) == [f"train-random-default-s{s}" for s in range(4)]
    assert set(runs["tags.stage"]) == {"train"} and set(runs["tags.dataset"]) == {"toy"}
    assert (runs["tags.git_sha"].str.len() > 0).all()
    assert set(runs["params.a.b"]) == {"1"}
    assert sorted(runs["metrics.loss"]) == pytest.approx([0.25, 1 / 3, 0.5, 1.0])
