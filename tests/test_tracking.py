"""MLflow tracking: tags and names per job, and parallel jobs on a fresh SQLite store or on a
tracking server (as on a cluster)."""

import subprocess
import sys

import pytest

from wsmr import tracking

JOB = """
import sys
from wsmr import tracking
uri, seed, dataset = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with tracking.job_run(uri, dataset=dataset, stage="train", method="random", variant="default",
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


@pytest.fixture(params=["sqlite", "http"])
def store(request, tmp_path):
    """A fresh store's URI and an experiment name no other test uses."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mlflow.db", "toy"
    return request.getfixturevalue("mlflow_server"), f"toy-{tmp_path.name}"


def test_parallel_jobs_on_a_fresh_store(store, tmp_path, monkeypatch):
    """Four jobs start at once on a store without their experiment: all four are logged in one."""
    monkeypatch.delenv("WSMR_TRACKING", raising=False)
    uri, dataset = store
    jobs = [subprocess.Popen([sys.executable, "-c", JOB, uri, str(seed), dataset], cwd=tmp_path,
                             stderr=subprocess.PIPE, text=True) for seed in range(4)]
    for job in jobs:
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err[-2000:]
    import mlflow

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=[f"wsmr/{dataset}"])
    assert sorted(runs["tags.mlflow.runName"]) == [f"train-random-default-s{s}" for s in range(4)]
    assert set(runs["tags.stage"]) == {"train"} and set(runs["tags.dataset"]) == {dataset}
    assert (runs["tags.git_sha"].str.len() > 0).all()
    assert set(runs["params.a.b"]) == {"1"}
    assert sorted(runs["metrics.loss"]) == pytest.approx([0.25, 1 / 3, 0.5, 1.0])


def test_an_experiment_created_meanwhile_on_a_server_is_reused(mlflow_server, tmp_path,
                                                               monkeypatch):
    """Another job creates the experiment between our look-up and our create: no error, one
    experiment."""
    import mlflow

    name = f"toy-{tmp_path.name}"
    mlflow.set_tracking_uri(mlflow_server)
    existing = mlflow.create_experiment(f"wsmr/{name}")
    looked_up = []
    real_lookup = mlflow.get_experiment_by_name

    def lookup_before_the_other_job(experiment_name):
        looked_up.append(experiment_name)
        return None if len(looked_up) == 1 else real_lookup(experiment_name)

    monkeypatch.setattr(mlflow, "get_experiment_by_name", lookup_before_the_other_job)
    assert tracking.experiment_id(mlflow_server, name) == existing
    assert len(looked_up) == 2
