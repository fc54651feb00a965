"""`prior`: the query-blind window fit on training boundaries, on hand-made cases."""

import numpy as np
import pytest

from wsmr.evaluation import evaluate_files, temporal_iou
from wsmr.io import write_jsonl
from wsmr.methods.base import Job, RunInputs
from wsmr.methods.prior import Prior, fit_prior, grid_windows


def sample(qid, duration, start, end):
    return {"qid": qid, "vid": qid, "duration": duration, "start": start, "end": end,
            "sentence": "x"}


def test_grid_windows_are_every_ordered_pair():
    windows = grid_windows(4)
    assert len(windows) == 10                      # C(5, 2) windows on 0, .25, .5, .75, 1
    assert np.all(windows[:, 1] > windows[:, 0])
    assert [0.0, 1.0] in windows.tolist() and [0.25, 0.5] in windows.tolist()


def test_fit_picks_the_window_most_training_queries_share():
    # three queries in the first half of their videos (whatever their length), one at the end
    train = [sample("a", 10.0, 0.0, 5.0), sample("b", 20.0, 0.0, 10.0),
             sample("c", 40.0, 2.0, 20.0), sample("d", 10.0, 8.0, 10.0)]
    windows, recall = fit_prior(train, grid=10, iou=0.5, nms_threshold=0.5, top_n=3)
    assert windows[0].tolist() == [0.0, 0.5]       # hits a, b (IoU 1) and c (IoU 0.9)
    assert recall[0] == pytest.approx(0.75)
    # the next windows do not overlap the first by more than the NMS threshold
    assert temporal_iou(windows[1:], windows[0]).max() <= 0.5
    assert np.all(np.diff(recall) <= 0)


def test_ties_on_recall_go_to_the_higher_mean_iou():
    # [0, .5] and [0, .6] both hit the one query at IoU > 0.5; [0, .5] matches it exactly
    windows, _ = fit_prior([sample("a", 10.0, 0.0, 5.0)], grid=10, iou=0.5,
                           nms_threshold=0.5, top_n=1)
    assert windows[0].tolist() == [0.0, 0.5]


def test_predicts_the_same_normalised_windows_for_every_query(tmp_path):
    train = [sample(f"t{i}", 10.0, 2.0, 6.0) for i in range(5)]
    test = [sample("x", 10.0, 2.0, 6.0), sample("y", 30.0, 0.0, 3.0)]
    paths = {}
    for split, rows in (("train", train), ("val", train), ("test", test)):
        paths[split] = tmp_path / f"{split}.jsonl"
        write_jsonl(paths[split], rows)
    job = Job(dataset={"name": "toy", "ratios": [0.5], "ious": [0.3, 0.5],
                       "clip_stride_s": 1.0},
              method="prior", variant="default",
              settings={"grid": 10, "select_on": "R1_IoU0.5", "nms": 0.5, "top_n": 5}, seed=0)
    method, inputs = Prior(job), RunInputs(samples=paths)
    method.train(inputs, tmp_path, tracker=NoTracker())
    predictions = method.predict(inputs, tmp_path, "test")
    assert predictions[0]["moments"][0] == [2.0, 6.0]
    assert predictions[1]["moments"][0] == [6.0, 18.0]     # the same share of a 30 s video
    assert len(predictions[0]["moments"]) == 5
    metrics = evaluate_files(predictions, test, [0.5])
    assert metrics["R1_IoU0.5"] == 50.0                     # blind: right for x, wrong for y
    assert (tmp_path / "history.csv").exists()


def test_an_empty_training_split_is_an_error():
    with pytest.raises(ValueError, match="no queries"):
        fit_prior([], grid=10, iou=0.5, nms_threshold=0.5, top_n=5)


class NoTracker:
    def log_metrics(self, *args, **kwargs):
        pass
