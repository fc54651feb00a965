"""The Random baseline: candidate geometry, seeding, and its measured floor."""

import numpy as np
import pytest

from wsmr.evaluation import evaluate_files, temporal_iou
from wsmr.io import write_jsonl
from wsmr.methods.base import Job, RunInputs
from wsmr.methods.random_baseline import RandomBaseline, candidate_windows


def test_candidate_windows_geometry():
    windows = candidate_windows(10.0, [0.2, 0.5], stride_s=2.0, max_steps=200)
    # 5 grid ends (2, 4, ..., 10); width 2 fits every end, width 5 only ends >= 5
    expected = [[0, 2], [2, 4], [4, 6], [6, 8], [8, 10], [1, 6], [3, 8], [5, 10]]
    np.testing.assert_allclose(windows, expected)


def test_candidate_windows_capped_at_max_steps():
    windows = candidate_windows(1000.0, [1.0], stride_s=1.0, max_steps=200)
    assert len(windows) == 1 and windows[0].tolist() == [0.0, 1000.0]
    short = candidate_windows(1000.0, [0.01], 1.0, 200)
    # 200 ends 5 s apart; the first (at 5 s) cannot hold a 10 s window
    assert len(short) == 199 and np.allclose(np.diff(short[:, 1]), 5.0)


def make_job(seed):
    return Job(dataset={"name": "toy", "ratios": [0.167, 0.25, 0.333, 0.5],
                        "ious": [0.3, 0.5, 0.7], "clip_stride_s": 1.0},
               method="random", variant="default",
               settings={"nms": 0.5, "top_n": 5, "max_steps": 200}, seed=seed)


@pytest.fixture
def toy_inputs(tmp_path):
    rng = np.random.default_rng(0)
    samples = []
    for i in range(400):
        start = float(rng.uniform(0, 20))
        samples.append({"qid": f"q{i}", "vid": f"v{i}", "duration": 30.0, "start": start,
                        "end": start + float(rng.uniform(3, 10)), "sentence": "x"})
    paths = {}
    for split in ("train", "val", "test"):
        paths[split] = tmp_path / f"{split}.jsonl"
        write_jsonl(paths[split], samples)
    return RunInputs(samples=paths)


def test_same_seed_same_predictions_other_seed_differs(toy_inputs, tmp_path):
    first = RandomBaseline(make_job(0)).predict(toy_inputs, tmp_path, "test")
    assert first == RandomBaseline(make_job(0)).predict(toy_inputs, tmp_path, "test")
    assert first != RandomBaseline(make_job(1)).predict(toy_inputs, tmp_path, "test")


def test_predictions_follow_the_contract(toy_inputs, tmp_path):
    predictions = RandomBaseline(make_job(0)).predict(toy_inputs, tmp_path, "test")
    for p in predictions:
        moments = np.array(p["moments"])
        assert len(moments) == 5 and np.all(np.diff(p["scores"]) <= 0)
        assert np.all(moments[:, 0] >= 0) and np.all(moments[:, 1] <= 30.0)
        assert np.all(moments[:, 1] > moments[:, 0])
        for k in range(5):   # after NMS 0.5, no two kept moments overlap by more than 0.5
            assert np.all(np.delete(temporal_iou(moments, moments[k]), k) <= 0.5 + 1e-9)


def test_top1_recall_matches_a_uniform_draw_among_candidates(toy_inputs, tmp_path):
    """R@1 equals, up to sampling noise, the share of candidates that hit: it is uniform."""
    samples = toy_inputs.split("test")
    candidates = candidate_windows(30.0, make_job(0).dataset["ratios"], 1.0, 200)
    expected = np.mean([np.mean(temporal_iou(candidates, (s["start"], s["end"])) > 0.3)
                        for s in samples]) * 100
    def recall(seed):
        predictions = RandomBaseline(make_job(seed)).predict(toy_inputs, tmp_path, "test")
        return evaluate_files(predictions, samples, [0.3])["R1_IoU0.3"]
    measured = np.mean([recall(seed) for seed in range(5)])
    assert measured == pytest.approx(expected, abs=3.0)


def test_train_writes_history_and_checkpoint(toy_inputs, tmp_path):
    from wsmr.tracking import Tracker

    RandomBaseline(make_job(0)).train(toy_inputs, tmp_path, Tracker(active=False))
    history = (tmp_path / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,updates,R1_IoU0.3") and len(history) == 2
    assert (tmp_path / "checkpoint.pt").stat().st_size > 0
