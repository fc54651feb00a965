"""`wsmr ground` on a rendered test video through the run's whole input chain, its errors, and
Snakemake's report from the small DAG's outputs."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from wsmr import config as wcfg
from wsmr.evaluation import temporal_iou
from wsmr.grounding import GroundingError, Run, ground, stored_features, video_features
from wsmr.io import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
SEED = 7   # not a configured seed: the DAG never builds (or rebuilds) this run
# ms2d/supervised trained long enough to localise on the small DAG's 4 training videos
SUPERVISED = {"epochs": 30, "dim": 16, "conv_layers": 2, "batch_size": 8}


def small_config() -> dict:
    """The small DAG's config, with config.yaml's ms2d/supervised (the DAG leaves it out)."""
    read = lambda path: yaml.safe_load(path.read_text())
    full = read(ROOT / "config.yaml")
    # the variant's own `datasets` entry is merged last: SUPERVISED goes there
    supervised = wcfg.deep_merge(full["methods"]["ms2d"]["variants"]["supervised"],
                                 {"datasets": {"shapes": SUPERVISED}})
    config = wcfg.deep_merge(full, read(ROOT / ".test/config.yaml"))
    return wcfg.deep_merge(config, {"methods": {"ms2d": {"variants": {"supervised": supervised}}}})


def videos_of_test_split(workdir: Path) -> dict[str, list[dict]]:
    rows = read_jsonl(workdir / "results/shapes/text/test.jsonl")
    return {vid: [r for r in rows if r["vid"] == vid] for vid in sorted({r["vid"] for r in rows})}


@pytest.fixture(scope="module")
def supervised_run(small_dag) -> tuple[Path, dict]:
    return train_supervised(small_dag)


def train_supervised(workdir: Path) -> tuple[Path, dict]:
    """ms2d/supervised trained on the DAG's features, text and samples (Method interface)."""
    from wsmr.methods import load
    from wsmr.methods.base import Job, RunInputs
    from wsmr.tracking import Tracker

    config, data = small_config(), workdir / "results/shapes"
    spec = json.loads(wcfg.job_settings(config, "shapes", "ms2d", "supervised"))
    run_dir = data / f"runs/ms2d/supervised/seed{SEED}"
    job = Job(spec["dataset"], "ms2d", "supervised", spec["settings"], SEED)
    inputs = RunInputs(samples={s: data / f"text/{s}.jsonl" for s in wcfg.SPLITS},
                       features=data / "features/c3d_pca500.h5", vocab=data / "text/vocab.json",
                       embeddings=data / "text/embeddings.npy")
    load("ms2d")(job).train(inputs, run_dir, Tracker(False))
    return run_dir, config


# not yet run to the end: out of `make test` until it has been (docs/own-video.md)
@pytest.mark.slow
def test_ground_finds_the_described_event_in_a_test_video(supervised_run, small_dag):
    """Decoding, seeded C3D, the fitted PCA of pca.h5: the same features as the DAG's for that
    video; then the supervised run's top-1 covers the described event (IoU >= 0.5) for most
    of the video's queries, and ranks the true event above the video's other events."""
    run_dir, config = supervised_run
    vid, queries = next(iter(videos_of_test_split(small_dag).items()))
    video = small_dag / f"results/shapes/raw/videos/{vid}.mp4"
    features = video_features(video, Run.parse(run_dir), config["datasets"]["shapes"])
    dag = stored_features(small_dag / "results/shapes/features/c3d_pca500.h5", vid)
    np.testing.assert_allclose(features.features, dag.features, rtol=1e-4,
                               atol=1e-4 * np.abs(dag.features).max())
    assert np.allclose(features.clip_seconds, dag.clip_seconds)
    hits = []
    for query in queries:
        result = ground(run_dir, video, query["sentence"], config, features=features)
        assert len(result.moments) == 5 and result.scores == sorted(result.scores, reverse=True)
        hits.append(temporal_iou(np.asarray(result.moments[:1]),
                                 (query["start"], query["end"]))[0] >= 0.5)
    assert sum(hits) > len(hits) / 2, hits


def test_the_command_prints_json_and_draws_the_timeline(supervised_run, small_dag, tmp_path):
    run_dir, config = supervised_run
    vid, queries = next(iter(videos_of_test_split(small_dag).items()))
    query = queries[0]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    plot = tmp_path / "timeline.png"
    out = subprocess.run(
        [sys.executable, "-m", "wsmr.cli", "ground", "--run", str(run_dir),
         str(small_dag / f"results/shapes/raw/videos/{vid}.mp4"), query["sentence"],
         "--gt", str(query["start"]), str(query["end"]), "--plot", str(plot), "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    summary = json.loads(out.stdout)
    assert [m["rank"] for m in summary["moments"]] == [1, 2, 3, 4, 5]
    assert all(0 <= m["start"] < m["end"] <= summary["duration"] + 1e-3 and 0 <= m["iou"] <= 1
               for m in summary["moments"])
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_random_grounds_without_features(small_dag):
    """A method that reads only samples grounds through the same interface."""
    vid, queries = next(iter(videos_of_test_split(small_dag).items()))
    result = ground(small_dag / "results/shapes/runs/random/default/seed0",
                    small_dag / f"results/shapes/raw/videos/{vid}.mp4", queries[0]["sentence"],
                    small_config())
    assert len(result.moments) == 5
    assert result.duration == pytest.approx(queries[0]["duration"], abs=0.2)
    assert len(result.candidates) > len(result.moments)


def test_clear_errors(small_dag, tmp_path):
    config = small_config()
    vid, queries = next(iter(videos_of_test_split(small_dag).items()))
    video = small_dag / f"results/shapes/raw/videos/{vid}.mp4"
    run = small_dag / "results/shapes/runs/scn/full/seed0"
    with pytest.raises(GroundingError, match=r"'giraffe' not in the vocabulary of 'shapes'"):
        ground(run, video, "the red giraffe rises", config)
    empty = small_dag / "results/shapes/runs/scn/full/seed9"
    empty.mkdir(parents=True)
    with pytest.raises(GroundingError, match="no checkpoint.pt: train it first"):
        ground(empty, video, queries[0]["sentence"], config)
    short = tmp_path / "short.mp4"
    write_video(short, frames=10)
    with pytest.raises(GroundingError, match="10 frames .* too short for one 16-frame clip"):
        ground(run, short, queries[0]["sentence"], config)


def write_video(path: Path, frames: int) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            image = np.full((48, 64, 3), 20 * i, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def test_the_report_has_the_tables_and_a_figure_of_each_run_kind(small_dag):
    """`snakemake --report` on the small DAG's outputs: the tables, the PCA and probe figures,
    and for each method a training-curves figure and a timeline."""
    from test_pipeline import FIGURES, REPORT_RUNS, TABLE, snakemake

    # the report covers the targets' DAG (the default target's when none is named): all of
    # its report items must exist
    snakemake(small_dag, "--report", "report.html", TABLE, "results/shapes/features/probe.png",
              *FIGURES)
    html = (small_dag / "report.html").read_text()
    names = set(re.findall(r"[\w./-]+\.(?:png|csv)", html))
    assert {"shapes.csv", "pca_explained_variance.png", "probe.png"} <= {Path(n).name
                                                                         for n in names}, names
    for run in REPORT_RUNS:
        for figure in ("history.png", "timelines/query0.png"):
            assert any(n.endswith(f"{run}/seed0/{figure}") for n in names), (run, figure, names)


def test_the_fitted_pca_and_an_official_layout_project_as_the_pca_stage(tmp_path):
    """pca.h5 (data/U, data/x_mean) projects as IncrementalPCA.transform does; a file in
    ActivityNet's official layout with more components than needed gives their first k."""
    import h5py
    from sklearn.decomposition import IncrementalPCA

    from wsmr.features.pca import project, read_pca, write_pca

    rng = np.random.default_rng(0)
    fc7 = rng.normal(size=(200, 40)).astype(np.float32) * np.linspace(3, 0.1, 40)
    pca = IncrementalPCA(n_components=6).fit(fc7)
    write_pca(pca, tmp_path / "pca.h5")
    mean, components = read_pca(tmp_path / "pca.h5", 6)
    np.testing.assert_allclose(project(fc7, mean, components), pca.transform(fc7), atol=1e-4)
    with h5py.File(tmp_path / "official.hdf5", "w") as h5:   # U: (D, D), S beside it
        u = np.linalg.qr(rng.normal(size=(40, 40)))[0]
        h5["data/U"], h5["data/x_mean"], h5["data/S"] = u, fc7.mean(0), np.ones(40)
    mean, components = read_pca(tmp_path / "official.hdf5", 10)
    np.testing.assert_allclose(project(fc7[:3], mean, components),
                               (fc7[:3] - fc7.mean(0)) @ u[:, :10], atol=1e-4)
    with pytest.raises(ValueError, match=r"projecting to 50 dimensions needs U of \(40, >= 50\)"):
        read_pca(tmp_path / "official.hdf5", 50)
    with pytest.raises(ValueError, match="fc7 has 30 dimensions but the PCA was fit on 40"):
        project(fc7[:, :30], mean, components)
