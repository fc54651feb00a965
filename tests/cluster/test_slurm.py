"""A headline DAG (Random and SCN over two seeds) on a real SLURM cluster through
workflow/profiles/slurm, logging to an MLflow tracking server, with the commands of
docs/cluster.md, "Running on a cluster"; then a job that fails on the node, and the DAG resumed
without recomputing what had finished."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TABLE = "results/tables/shapes.headline.csv"   # the headline rows keep the job count small
# the second dataset's branch: its samples job, which fails on the node and is resumed (each sbatch
# job here costs ~20 s whatever it runs: the shapes branch has the method jobs)
MINI_SAMPLES = "results/mini/samples/report.json"
SHAPES_JOBS = ({"shapes", "samples", "text", "extract-shard0", "extract-shard1", "pca", "table",
                "other_query"}
               | {f"{stage}-{row}-s{seed}" for stage in ("train", "predict", "evaluate")
                  for row in ("random-default", "scn-full") for seed in (0, 1)})
GPU_RULES = {"train", "extract_fc7"}   # the profile's `gpu: 1`
# the Snakefile's localrules in this DAG: Snakemake runs them on the login node, not through sbatch
LOCAL_RULES = {"table", "other_query_samples"}
MINI_JOBS = {"samples"}

# The headline cut to Random and SCN: each sbatch job costs ~20 s here whatever it runs. SCN brings
# the feature jobs (extraction on the profile's GPU, PCA) and the text job, Random the blind branch;
# the small DAG test runs the other methods. Two seeds, where the small config has one: the table's
# mean and std over seeds. And a second dataset, in the Charades-STA format: its test split names a
# video (v9) that the durations file lacks, an unrepairable defect, so its `samples` job fails on
# the node. The shapes branch of the DAG does not depend on it and finishes.
MINI_CONFIG = """\
headline: [random/default, scn/full]
seeds: [0, 1]
datasets:
  mini:
    format: charades_sta
    annotations: {train: data/mini/train.txt, val: data/mini/val.txt, test: data/mini/test.txt}
    durations: [data/mini/durations.csv]
    ratios: [0.25, 0.5]
    ious: [0.3, 0.5]
    clip_stride_s: 1.0
    on_unrepairable: error
"""
MINI_ANNOTATIONS = {
    "train": ["v1 0.0 6.0##a person opens a door", "v2 4.0 12.0##a person sits on a chair"],
    "val": ["v3 2.0 9.0##a person closes a window"],
    "test": ["v4 1.0 7.0##a person opens a window", "v9 3.0 8.0##a person sits down"],
}
MINI_DURATIONS = ["id,length", "v1,20.0", "v2,20.0", "v3,20.0", "v4,20.0"]


def write_mini_dataset(workdir: Path) -> None:
    (workdir / "mini.yaml").write_text(MINI_CONFIG)
    data = workdir / "data/mini"
    data.mkdir(parents=True)
    for split, lines in MINI_ANNOTATIONS.items():
        (data / f"{split}.txt").write_text("\n".join(lines) + "\n")
    (data / "durations.csv").write_text("\n".join(MINI_DURATIONS) + "\n")


def repair_mini_dataset(workdir: Path) -> None:
    with open(workdir / "data/mini/durations.csv", "a") as durations:
        durations.write("v9,20.0\n")


def snakemake(workdir: Path, tracking_uri: str, *args: str) -> SimpleNamespace:
    """docs/cluster.md's command: the jobs inherit this environment (PATH finds `wsmr`)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "WSMR_TRACKING_URI": tracking_uri}
    env.pop("WSMR_TRACKING", None)
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
               "--profile", str(ROOT / "workflow/profiles/slurm"),
               # this cluster has no accounting database (slurmdbd) for sacct
               "--slurm-status-command", "squeue",
               "--slurm-init-seconds-before-status-checks", "5",
               # a one-node cluster of jobs of seconds: poll it often (the default is every 10 s)
               "--seconds-between-status-checks", "3",
               *args, "--configfile", str(ROOT / ".test/config.yaml"), str(workdir / "mini.yaml")]
    print("$", " ".join(command), flush=True)
    try:
        # about 3.5 minutes here for the failing run; the bound keeps CI's 20 minutes
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env, timeout=1200)
    except subprocess.TimeoutExpired as timeout:
        print(timeout.output, flush=True)
        raise
    print(result.stdout, flush=True)   # the CI log shows each job's sbatch submission
    return SimpleNamespace(returncode=result.returncode, log=result.stdout)


def runs(tracking_uri: str, dataset: str):
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.search_runs(experiment_names=[f"wsmr/{dataset}"])


def slurm_jobs() -> list[dict[str, str]]:
    """Every job SLURM still knows (finished ones stay for MinJobAge), as SLURM recorded it."""
    fields = ["JobID", "Comment", "State", "tres-per-job", "NumCPUs", "MinMemory", "TimeLimit"]
    formats = ",".join(f"{f}:|" for f in fields)
    out = subprocess.run(["squeue", "--states=all", "--Format=" + formats],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    print(out, flush=True)
    return [dict(zip(fields, line.split("|"), strict=False)) for line in out.splitlines()[1:]]


def rule(job: dict[str, str]) -> str:
    """The rule of a job, from the comment the plugin gives it (`rule_<name>_wildcards_...`)."""
    return job["Comment"].removeprefix("rule_").split("_wildcards_")[0]


def local_jobs(log: str) -> list[str]:
    """The rules of the jobs Snakemake ran itself (localrules), as its log names them. A failed
    job's log, which the profile prints, holds that job's own Snakemake run on the node, where
    its one job shows as a `localrule` forced to run: not one of ours."""
    blocks = re.findall(r"^localrule (\w+):\n((?:    .*\n)+)", log, flags=re.MULTILINE)
    return [rule for rule, body in blocks if "reason: Forced execution" not in body]


def mtimes(workdir: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in (workdir / "results/shapes").rglob("*")}


@pytest.fixture(scope="module")
def dag(slurm_cluster, mlflow_server, tmp_path_factory) -> SimpleNamespace:
    """The DAG run once with the defect (and --keep-going), then repaired and resumed."""
    workdir = tmp_path_factory.mktemp("slurm-dag")
    write_mini_dataset(workdir)
    failed = snakemake(workdir, mlflow_server, TABLE, MINI_SAMPLES, "--keep-going")
    jobs = slurm_jobs()
    finished = SimpleNamespace(mtimes=mtimes(workdir), shapes_runs=runs(mlflow_server, "shapes"),
                               mini_runs=runs(mlflow_server, "mini"))
    repair_mini_dataset(workdir)
    resumed = snakemake(workdir, mlflow_server, TABLE, MINI_SAMPLES, "--rerun-incomplete")
    return SimpleNamespace(workdir=workdir, uri=mlflow_server, failed=failed, resumed=resumed,
                           jobs=jobs, finished=finished)


def test_every_job_went_through_sbatch_with_its_rule_resources(dag):
    assert dag.failed.log.count("has been submitted with SLURM jobid") == len(dag.jobs)
    # every job but the localrules', which Snakemake ran itself
    assert sorted(local_jobs(dag.failed.log)) == sorted(LOCAL_RULES)
    assert not {rule(job) for job in dag.jobs} & LOCAL_RULES
    failed = [job for job in dag.jobs if job["State"] != "COMPLETED"]
    assert [(rule(job), job["State"]) for job in failed] == [("samples", "FAILED")]
    train = next(job for job in dag.jobs if rule(job) == "train")   # a shapes job: mini failed
    # the rule's threads (the dataset's train_threads), mem_mb and runtime
    threads = str(yaml.safe_load((ROOT / "config.yaml").read_text())["datasets"]["shapes"]
                  .get("train_threads", 2))
    assert ((train["NumCPUs"], train["MinMemory"], train["TimeLimit"])
            == (threads, "4000M", "2:00:00"))
    assert {rule(job) for job in dag.jobs} >= GPU_RULES | {"text", "pca_features"}
    for job in dag.jobs:   # the profile's gpu, for its GPU rules only
        assert job["tres-per-job"] == ("gres:gpu:1" if rule(job) in GPU_RULES else "N/A"), job


def test_the_table_and_one_mlflow_run_per_job_on_the_server(dag):
    lines = (dag.workdir / TABLE).read_text().splitlines()
    assert any(line.startswith("random,default,ours,2,") for line in lines)
    assert any(line.startswith("scn,full,ours,2,") for line in lines)
    runs = dag.finished.shapes_runs
    found = runs[runs["tags.stage"] != "run"]   # one run per job; "run": a seed's parent run
    names = list(found["tags.mlflow.runName"])
    completed = [job for job in dag.jobs if job["State"] == "COMPLETED"]   # all of shapes'
    local = local_jobs(dag.failed.log)   # shapes' too, run on the login node
    assert len(set(names)) == len(names) == len(completed) + len(local)
    assert SHAPES_JOBS <= set(names)
    assert set(found["status"]) == {"FINISHED"} and set(found["tags.dataset"]) == {"shapes"}
    trained = found[found["tags.stage"] == "train"]
    assert set(trained["tags.method"]) == {"random", "scn"}
    assert set(trained["tags.seed"]) == {"0", "1"}
    parents = runs[runs["tags.stage"] == "run"]
    assert set(trained["tags.mlflow.parentRunId"]) <= set(parents["run_id"])


def test_the_failed_job_is_reported_with_its_logs(dag):
    assert dag.failed.returncode != 0
    report = dag.failed.log
    assert "Error in rule samples" in report
    assert "logs/mini/samples.log" in report
    assert ".snakemake/slurm_logs/rule_samples/mini/" in report
    assert "no duration known for video v9" in report   # the rule's log, shown by the profile
    assert list(dag.finished.mini_runs["status"]) == ["FAILED"]


def test_resuming_reruns_only_the_failed_branch(dag):
    assert dag.resumed.returncode == 0, dag.resumed.log[-3000:]
    assert (dag.workdir / MINI_SAMPLES).exists()
    assert mtimes(dag.workdir) == dag.finished.mtimes
    shapes_runs = runs(dag.uri, "shapes")
    assert sorted(shapes_runs["run_id"]) == sorted(dag.finished.shapes_runs["run_id"])
    mini_runs = runs(dag.uri, "mini")
    rerun = mini_runs[~mini_runs["run_id"].isin(dag.finished.mini_runs["run_id"])]
    rerun = rerun[rerun["tags.stage"] != "run"]   # the jobs, not the seed's parent run
    assert sorted(rerun["tags.mlflow.runName"]) == sorted(MINI_JOBS)
    assert set(rerun["status"]) == {"FINISHED"}
