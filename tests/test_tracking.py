"""MLflow tracking: tags and names per job, the parent run that nests a method/variant/seed's
jobs, and parallel jobs on a fresh SQLite store or on a tracking server (as on a cluster)."""

import subprocess
import sys

import pytest

from wsmr import tracking

JOB = """
import sys
from wsmr import tracking
uri, seed, dataset, stage = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with tracking.job_run(uri, dataset=dataset, stage=stage, method="random", variant="default",
                      seed=seed, params={"a": {"b": 1}}) as tracker:
    tracker.log_metrics({"loss": 1.0 / (seed + 1)}, step=0)
    if stage == "evaluate":
        tracker.log_on_parent({"R1_IoU0.5": 10.0 * (seed + 1)})
"""
STAGES = ("train", "evaluate")   # predict nests as train does


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


def test_parallel_jobs_on_a_fresh_store_nest_under_one_parent_per_run(store, tmp_path,
                                                                     monkeypatch):
    """The train and evaluate jobs of two seeds start at once on a store without their
    experiment: one experiment in MLflow's model-training view, one parent per seed with its
    jobs nested under it, the test metric on the parent; found through the search API."""
    monkeypatch.delenv("WSMR_TRACKING", raising=False)
    uri, dataset = store
    jobs = [subprocess.Popen([sys.executable, "-c", JOB, uri, str(seed), dataset, stage],
                             cwd=tmp_path, stderr=subprocess.PIPE, text=True)
            for seed in range(2) for stage in STAGES]
    for job in jobs:
        _, err = job.communicate(timeout=300)
        assert job.returncode == 0, err[-2000:]
    import mlflow

    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(f"wsmr/{dataset}")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    runs = mlflow.search_runs(experiment_names=[f"wsmr/{dataset}"])
    parents = mlflow.search_runs(experiment_names=[f"wsmr/{dataset}"],
                                 filter_string="tags.stage = 'run'")
    assert sorted(parents["tags.mlflow.runName"]) == ["random-default-s0", "random-default-s1"]
    assert len(runs) == len(parents) + 4                      # nothing else, no duplicate parent
    for _, parent in parents.iterrows():
        seed = int(parent["params.seed"])
        assert (parent["params.method"], parent["params.variant"]) == ("random", "default")
        assert parent["tags.seed"] == str(seed) and parent["params.a.b"] == "1"
        assert parent["metrics.R1_IoU0.5"] == pytest.approx(10.0 * (seed + 1))
        assert parent["status"] == "FINISHED"
        children = mlflow.search_runs(
            experiment_names=[f"wsmr/{dataset}"],
            filter_string=f"tags.mlflow.parentRunId = '{parent['run_id']}'")
        assert sorted(children["tags.mlflow.runName"]) == sorted(
            f"{stage}-random-default-s{seed}" for stage in STAGES)
        assert set(children["tags.seed"]) == {str(seed)}
        assert (children["tags.git_sha"].str.len() > 0).all()
        assert sorted(children["metrics.loss"]) == pytest.approx([1.0 / (seed + 1)] * 2)


def test_other_settings_get_a_parent_of_their_own(tmp_path, monkeypatch):
    """A run re-trained on changed settings is another parent: params never clash."""
    monkeypatch.delenv("WSMR_TRACKING", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    for lr in (0.1, 0.2, 0.1):
        with tracking.job_run(uri, dataset="toy", stage="train", method="scn", variant="full",
                              seed=0, params={"lr": lr}):
            pass
    import mlflow

    parents = mlflow.search_runs(experiment_names=["wsmr/toy"], filter_string="tags.stage = 'run'")
    assert sorted(parents["params.lr"]) == ["0.1", "0.2"]
    children = mlflow.search_runs(experiment_names=["wsmr/toy"],
                                  filter_string="tags.stage = 'train'")
    by_lr = dict(zip(parents["run_id"], parents["params.lr"], strict=True))
    assert sorted(by_lr[p] for p in children["tags.mlflow.parentRunId"]) == ["0.1", "0.1", "0.2"]


def test_a_job_without_a_method_is_not_nested(tmp_path, monkeypatch):
    monkeypatch.delenv("WSMR_TRACKING", raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with tracking.job_run(uri, dataset="toy", stage="samples"):
        pass
    import mlflow

    runs = mlflow.search_runs(experiment_names=["wsmr/toy"])
    assert list(runs["tags.mlflow.runName"]) == ["samples"]
    assert "tags.mlflow.parentRunId" not in runs or runs["tags.mlflow.parentRunId"].isna().all()


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
