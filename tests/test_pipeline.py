"""The whole DAG on the small test config: the table, MLflow runs, and what re-runs."""

import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from wsmr import config as wcfg
from wsmr.methods import needs

ROOT = Path(__file__).resolve().parents[1]
TABLE = "results/tables/shapes.csv"
VOCAB = "results/shapes/text/vocab.json"
FEATURES = "results/shapes/features/c3d_pca500.h5"
PROBE = "results/shapes/features/probe.json"

pytestmark = pytest.mark.pipeline


def snakemake(workdir: Path, *args: str, configfiles: tuple[Path, ...] = ()) -> str:
    """Run the DAG on the small test config (and any config files merged over it)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("WSMR_TRACKING", None)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
         "--cores", "2", *args,
         "--configfile", str(ROOT / ".test/config.yaml"), *map(str, configfiles)],
        capture_output=True, text=True, env=env, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def merged_test_config() -> dict:
    """config.yaml with .test/config.yaml merged over it, as Snakemake merges them."""
    read = lambda path: yaml.safe_load(path.read_text())
    return wcfg.deep_merge(read(ROOT / "config.yaml"), read(ROOT / ".test/config.yaml"))


def runs(workdir: Path):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workdir}/mlflow.db")
    return mlflow.search_runs(experiment_names=["wsmr/shapes"])


# a few runs' report figures (tests/test_own_video.py reads them): one of each method
REPORT_RUNS = ("random/default", "scn/full", "ms2d/full")
FIGURES = tuple(f"results/shapes/runs/{run}/seed0/{figure}" for run in REPORT_RUNS
                for figure in ("history.png", "timelines/query0.png"))


def run_small_dag(workdir: Path) -> Path:
    """The DAG on the small test config; conftest's session fixture `small_dag` runs it once
    for every test file that reads it."""
    if shutil.which("snakemake", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("snakemake is not installed beside this Python")
    snakemake(workdir, TABLE, VOCAB, FEATURES, PROBE, "results/shapes/features/probe.png",
              *FIGURES)
    return workdir


@pytest.fixture(scope="module")
def workdir(small_dag):
    return small_dag


def test_table_has_a_row_per_configured_method_and_variant(workdir):
    """One seed here (each seed is a dozen more jobs); the cluster test's DAG runs two, and
    tests/test_evaluation.py checks the mean ± std over seeds."""
    lines = (workdir / TABLE).read_text().splitlines()
    assert lines[0].startswith("method,variant,source,seeds,R@1 IoU=0.3,R@1 IoU=0.3 std")
    ours = {tuple(line.split(",")[:2]): line.split(",") for line in lines[1:]
            if line.split(",")[2] == "ours"}
    assert sorted(ours) == sorted(wcfg.method_variants(merged_test_config()))
    random_row = ours[("random", "default")]
    assert random_row[3] == "1" and 0 < float(random_row[4]) < 100
    assert "| random | default | ours | 1 |" in (workdir / "results/tables/shapes.md").read_text()


def test_one_mlflow_run_per_job_with_tags(workdir):
    found = runs(workdir)
    names = Counter(found["tags.mlflow.runName"])
    config = merged_test_config()
    rows = wcfg.method_variants(config)
    expected = ({"shapes", "samples", "text", "table", "extract-shard0", "extract-shard1", "pca",
                 "probe", "other_query"}
                | {f"{stage}{method}-{variant}-s{seed}"
                   for stage in ("train-", "predict-", "evaluate-", "")   # "": the run's parent
                   for method, variant in rows for seed in config["seeds"]})
    assert set(names) == expected and set(names.values()) == {1}
    trained = found[found["tags.stage"] == "train"]
    assert set(zip(trained["tags.method"], trained["tags.variant"], strict=True)) == set(rows)
    assert set(trained["tags.seed"]) == {str(s) for s in config["seeds"]}
    assert set(found["tags.dataset"]) == {"shapes"}
    assert found["tags.git_sha"].notna().all()


def test_a_checkpoint_of_variant_predicts_with_the_other_variants_model(workdir):
    """cpl/vote trains nothing: its train job copies cpl/full's checkpoint (same seed), tagged
    so in MLflow, and its predictions rank that model's proposals by vote."""
    runs_dir = workdir / "results/shapes/runs/cpl"
    for name in ("checkpoint.pt", "history.csv"):
        assert (runs_dir / "vote/seed0" / name).read_bytes() == \
            (runs_dir / "full/seed0" / name).read_bytes()
    found = runs(workdir)
    vote = found[(found["tags.stage"] == "train") & (found["tags.variant"] == "vote")]
    assert list(vote["tags.checkpoint_of"]) == ["results/shapes/runs/cpl/full/seed0"]
    full, voted = ((runs_dir / v / "seed0/predictions.jsonl").read_text().splitlines()
                   for v in ("full", "vote"))
    assert len(full) == len(voted) > 0


def test_table_carries_prior_and_the_other_query_control(workdir):
    import json

    lines = (workdir / TABLE).read_text().splitlines()
    header = lines[0].split(",")
    rows = {tuple(line.split(",")[:2]): dict(zip(header, line.split(","), strict=True))
            for line in lines[1:]}
    assert float(rows[("prior", "default")]["R@1 IoU=0.5"]) >= 0
    # blind rows have no control; every row that reads the query has one, with its drop
    assert rows[("prior", "default")]["R@1 IoU=0.5 other query"] == ""
    assert rows[("random", "default")]["R@1 IoU=0.5 drop"] == ""
    for method, variant in wcfg.method_variants(merged_test_config()):
        if "text" in needs(method):
            row = rows[(method, variant)]
            assert 0 <= float(row["R@1 IoU=0.5 other query"]) <= 100
            assert -100 <= float(row["R@1 IoU=0.5 drop"]) <= 100
    report = json.loads((workdir / "results/shapes/controls/other_query.report.json").read_text())
    assert report["rewritten"] == report["queries"] > 0     # shapes: 3 moments in every video
    assert "Other-query control" in (workdir / "results/tables/shapes.md").read_text()


def test_every_video_has_its_clips_and_seeded_init_is_tagged(workdir):
    import json
    import math

    import h5py

    samples = [json.loads(line) for split in ("train", "val", "test") for line in
               (workdir / f"results/shapes/samples/{split}.jsonl").read_text().splitlines()]
    durations = {s["vid"]: s["duration"] for s in samples}
    with h5py.File(workdir / FEATURES) as h5:
        assert sorted(h5) == sorted(durations) and h5.attrs["pca_dim"] == 16
        assert h5.attrs["source"] == "seeded-init:seed=0:width=1/4" and h5.attrs["fps"] == 8
        for vid, duration in durations.items():
            frames = round(duration * 8)   # 8 fps
            assert h5[vid].shape == (math.ceil(frames / 8), 16), vid
            assert h5[vid].attrs["clip_seconds"][-1, 1] == pytest.approx(duration, abs=1e-3)
    probe = json.loads((workdir / PROBE).read_text())
    assert {"colour", "shape", "action"} <= set(probe)
    found = runs(workdir)
    feature_jobs = found[found["tags.stage"].isin(["extract", "pca", "probe"])]
    assert len(feature_jobs) == 4 and set(feature_jobs["tags.c3d_weights"]) == {"seeded-init"}


def test_text_stage_runs_offline_from_the_generator_tags(workdir):
    import json

    import numpy as np

    report = json.loads((workdir / "results/shapes/text/report.json").read_text())
    assert report["sentences_tagged"] == 0 and report["sentences_pretagged"] > 0
    assert report["oov_words"] == 0   # every word of the grammar is in GloVe 6B
    vocab = json.loads((workdir / VOCAB).read_text())
    embeddings = np.load(workdir / "results/shapes/text/embeddings.npy")
    assert embeddings.shape == (len(vocab["words"]), 50)
    first = json.loads((workdir / "results/shapes/text/train.jsonl").read_text().splitlines()[0])
    assert len(first["tokens"]) == len(first["tags"]) > 3


def test_rerun_does_nothing_and_a_deleted_prediction_reruns_only_its_dependents(workdir):
    assert "Nothing to be done" in snakemake(workdir, TABLE, VOCAB, "-n")
    before = len(runs(workdir))
    predictions = workdir / "results/shapes/runs/random/default/seed0/predictions.jsonl"
    predictions.unlink()
    # Snakemake 9 does not rebuild a deleted intermediate on its own; --forcerun names it
    log = snakemake(workdir, TABLE, "--forcerun", str(predictions.relative_to(workdir)))
    assert predictions.exists()
    after = runs(workdir).iloc[: len(runs(workdir)) - before]
    assert sorted(after["tags.mlflow.runName"]) == [
        "evaluate-random-default-s0", "predict-random-default-s0", "table"], log[-2000:]


@pytest.mark.parametrize("features, planned", [
    ({"weights": {"path": "resources/c3d/c3d.pickle", "url": "file:///nowhere/c3d.pickle",
                  "sha256": "0" * 64}}, {"c3d_weights", "extract_fc7", "pca_features"}),
    ({"source": "hdf5", "path": "given.hdf5", "key": "c3d_features", "pca_dim": 500},
     {"import_features"}),
])
def test_the_features_source_picks_the_rules(tmp_path, features, planned):
    """Configured weights under resources/c3d/ are downloaded first; a pre-extracted file is
    imported without extraction (dry runs)."""
    import yaml

    if features.get("source") == "hdf5":
        (tmp_path / "given.hdf5").touch()
    extra = tmp_path / "features.yaml"
    extra.write_text(yaml.safe_dump({"datasets": {"shapes": {"features": features}}}))
    log = snakemake(tmp_path, FEATURES, "-n", configfiles=(extra,))
    jobs = {line.split()[1].rstrip(":") for line in log.splitlines() if line.startswith("rule ")}
    assert planned <= jobs and ("extract_fc7" in jobs) == ("extract_fc7" in planned), jobs


def test_the_heavy_rules_are_benchmarked(workdir):
    """Extraction, PCA and training write Snakemake benchmark files; wsmr.rule_times (run by
    benchmarks/rule_times.py and `make docs`) sums them per rule."""
    from wsmr.rule_times import summary, to_markdown

    rows = {row["rule"]: row for row in summary(workdir / "results", "shapes")}
    assert rows["extract"]["jobs"] == 2 and rows["pca"]["jobs"] == 1
    seeds = len(merged_test_config()["seeds"])
    assert rows["train scn/full"]["jobs"] == seeds and rows["train scn/full"]["total_s"] > 0
    assert rows["extract"]["max_rss_mb"] > 100   # C3D's weights alone are ~300 MB
    assert "| shapes | extract | 2 |" in to_markdown(list(rows.values()))
