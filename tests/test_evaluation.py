"""The evaluator against cases computed by hand."""

import numpy as np
import pytest

from wsmr.evaluation import evaluate, evaluate_files, metric_name, nms, temporal_iou


def test_iou_hand_computed():
    moments = [[0, 10], [5, 15], [10, 20], [2, 4], [0, 20]]
    # target (0, 10): overlap 10/10, 5/15, 0 (touching), 2/10, 10/20
    assert temporal_iou(moments, (0, 10)) == pytest.approx([1.0, 1 / 3, 0.0, 0.2, 0.5])


def test_iou_zero_length_cases():
    assert temporal_iou([[3, 3]], (0, 10)) == pytest.approx([0.0])   # a point inside: no extent
    assert temporal_iou([[3, 3]], (3, 3)) == pytest.approx([0.0])    # 0/0 is a miss, as officially
    assert temporal_iou([[0, 10]], (3, 3)) == pytest.approx([0.0])


def test_nms_suppresses_overlaps_above_threshold_only():
    moments = np.array([[0, 10], [1, 11], [0, 5], [20, 30]])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # (1, 11) has IoU 9/11 > 0.5 with (0, 10); (0, 5) has IoU exactly 0.5: kept (not larger)
    assert nms(moments, scores, 0.5).tolist() == [0, 2, 3]
    assert nms(moments, scores, 0.5, top_n=2).tolist() == [0, 2]


def test_nms_ties_keep_input_order():
    moments = np.array([[0, 10], [0, 10], [50, 60]])
    assert nms(moments, np.array([0.5, 0.5, 0.5]), 0.5).tolist() == [0, 2]


def test_recall_counts_iou_strictly_larger_than_m():
    targets = {"a": (0, 10), "b": (0, 10)}
    # a: top-1 IoU exactly 0.5 -> not a hit at m=0.5; b: second moment is exact
    predictions = {"a": [[0, 5], [40, 50]], "b": [[30, 40], [0, 10]]}
    result = evaluate(predictions, targets, ious=[0.3, 0.5], ns=(1, 5))
    assert result[metric_name(1, 0.3)] == pytest.approx(50.0)   # a hits at 0.3
    assert result[metric_name(1, 0.5)] == pytest.approx(0.0)
    assert result[metric_name(5, 0.5)] == pytest.approx(50.0)   # b's second moment
    assert result["mIoU"] == pytest.approx(25.0)                 # (0.5 + 0) / 2


def test_fewer_moments_than_n_count_as_misses_not_errors():
    result = evaluate({"a": [[0, 10]]}, {"a": (20, 30)}, ious=[0.1], ns=(1, 5))
    assert result[metric_name(5, 0.1)] == 0.0


def test_missing_prediction_is_an_error():
    with pytest.raises(KeyError, match="no prediction"):
        evaluate({}, {"a": (0, 1)}, ious=[0.5])


def test_unsorted_scores_are_an_error():
    predictions = [{"qid": "a", "moments": [[0, 1], [1, 2]], "scores": [0.1, 0.9]}]
    samples = [{"qid": "a", "start": 0, "end": 1}]
    with pytest.raises(ValueError, match="not sorted"):
        evaluate_files(predictions, samples, [0.5])


def test_width_shares_of_top1_and_ground_truth():
    from wsmr.evaluation import width_shares

    predictions = [{"qid": "a", "moments": [[0, 5], [0, 10]], "scores": [0.9, 0.1]},
                   {"qid": "b", "moments": [[2, 22], [0, 1]], "scores": [0.9, 0.1]}]
    samples = [{"qid": "a", "start": 0, "end": 2, "duration": 10.0},
               {"qid": "b", "start": 5, "end": 15, "duration": 40.0}]
    shares = width_shares(predictions, samples)
    assert shares["top1_width"] == pytest.approx((0.5 + 0.5) / 2)
    assert shares["gt_width"] == pytest.approx((0.2 + 0.25) / 2)


# --- bad predictions files: every defect is an error naming the file's line --------------------

EVAL_SAMPLES = [
    {"qid": "a", "vid": "v", "duration": 30.0, "start": 0.0, "end": 10.0, "sentence": "x"},
    {"qid": "b", "vid": "v", "duration": 30.0, "start": 5.0, "end": 15.0, "sentence": "y"},
    {"qid": "c", "vid": "v", "duration": 30.0, "start": 20.0, "end": 30.0, "sentence": "z"},
]
GOOD_A = '{"qid": "a", "moments": [[0, 10], [20, 30]], "scores": [0.9, 0.1]}'
GOOD_B = '{"qid": "b", "moments": [[5, 15]], "scores": [1.0]}'
GOOD_C = '{"qid": "c", "moments": [[0, 5]], "scores": [1.0]}'


def run_evaluate(tmp_path, prediction_lines):
    from wsmr.cli import main
    from wsmr.io import write_jsonl

    write_jsonl(tmp_path / "test.jsonl", EVAL_SAMPLES)
    (tmp_path / "predictions.jsonl").write_text("\n".join(prediction_lines) + "\n")
    job = '{"dataset": {"name": "toy", "ious": [0.5]}, "method": "random", "variant": "default"}'
    main(["evaluate", "--job", job, "--seed", "0", "--samples", str(tmp_path / "test.jsonl"),
          "--predictions", str(tmp_path / "predictions.jsonl"), "--out", str(tmp_path / "m.json")])
    return tmp_path / "m.json"


def test_clean_predictions_file_evaluates(tmp_path):
    from wsmr.io import read_json

    metrics = read_json(run_evaluate(tmp_path, [GOOD_A, "", GOOD_B, GOOD_C]))
    assert metrics["R1_IoU0.5"] == pytest.approx(200 / 3) and metrics["queries"] == 3


def test_the_table_groups_metrics_by_the_run_written_into_them(tmp_path):
    """A metrics file says which run it is of; where it lies does not matter to the table."""
    from wsmr.cli import metrics_by_row
    from wsmr.io import read_json, write_json

    metrics = read_json(run_evaluate(tmp_path, [GOOD_A, GOOD_B, GOOD_C]))
    assert metrics["run"] == {"method": "random", "variant": "default", "seed": 0}
    other = tmp_path / "elsewhere.json"
    write_json(other, {**metrics, "run": {**metrics["run"], "seed": 1}})
    rows = metrics_by_row([tmp_path / "m.json", other])
    assert list(rows) == [("random", "default")] and len(rows["random", "default"]) == 2
    assert "run" not in rows["random", "default"][0]
    del metrics["run"]
    write_json(other, metrics)
    with pytest.raises(ValueError, match=r"elsewhere\.json: no 'run'"):
        metrics_by_row([other])


def test_a_row_is_the_mean_and_std_over_its_seeds():
    from wsmr import reporting

    ious = [0.5]
    seed = lambda r1, miou: {"R1_IoU0.5": r1, "R5_IoU0.5": 2 * r1, "mIoU": miou}
    rows = reporting.build_rows("toy", {("scn", "full"): [seed(10.0, 20.0), seed(30.0, 40.0)]},
                                ious)
    ours = next(r for r in rows if r["source"] == "ours")
    assert ours["seeds"] == 2 and ours["R1_IoU0.5"] == pytest.approx(20.0)
    assert ours["R1_IoU0.5 std"] == pytest.approx(10.0)   # population std of 10 and 30
    assert "20.00 ± 10.00" in reporting.to_markdown("toy", rows, ious, [])
    header, line = reporting.to_csv(rows, ious).splitlines()[:2]
    assert dict(zip(header.split(","), line.split(","), strict=True))["R@1 IoU=0.5 std"] == "10.00"


@pytest.mark.parametrize("r1, lost", [(13.5, "within Random's spread"), (30.0, "89% at IoU=0.5"),
                                      (12.0, "")])
def test_the_margin_lost_is_a_share_only_of_a_margin_beyond_randoms_spread(r1, lost):
    from wsmr.reporting import margin_lost

    random = {"R1_IoU0.5": 13.2, "R1_IoU0.5 std": 1.6}
    row = {"R1_IoU0.5": r1, "drop R1_IoU0.5": 15.0}
    assert margin_lost(row, random, [0.3, 0.5, 0.7]) == lost


@pytest.mark.parametrize("pair", ["data/train.txt", "dev=data/dev.txt", "train="])
def test_an_annotations_argument_without_its_split_is_named(pair):
    from wsmr.cli import split_files

    assert split_files(["train=a=b.txt", "test=t.txt"]) == {"train": "a=b.txt", "test": "t.txt"}
    with pytest.raises(ValueError, match=rf"--annotations '{pair}': want SPLIT=FILE"):
        split_files([pair, "test=t.txt"])


# The bad entry is on line 4: the blank line 2 checks that lines, not records, are counted.
@pytest.mark.parametrize("bad, message", [
    ('{"qid": "a", "moments": [[20, 30]], "scores": [1.0]}',
     r"query 'a' again \(first on line 1\)"),
    ('{"qid": "zz", "moments": [[20, 30]], "scores": [1.0]}', r"query 'zz' is not one of the 3"),
    ('{"qid": "c", "moments": [[NaN, 30]], "scores": [1.0]}',
     r"moment 1 \[nan, 30\.0\] is not finite"),
    ('{"qid": "c", "moments": [[0, 5], [30, 20]], "scores": [0.9, 0.1]}',
     r"moment 2 \[30\.0, 20\.0\] starts after it ends"),
    ('{"qid": "c", "moments": [[0, 5], [20, 30]], "scores": [0.9]}', r"2 moments but 1 scores"),
    ('{"qid": "c", "moments": [[0, 5]], "scores": [NaN]}', r"a score is not finite"),
    ('{"qid": "c", "moments": [[0, 5, 9]], "scores": [1.0]}',
     r"moments must be \[start, end\] pairs"),
    ('{"moments": [[0, 5]], "scores": [1.0]}', r"no qid"),
])
def test_bad_prediction_is_an_error_naming_the_line(tmp_path, bad, message):
    # every query keeps a prediction (the bad one is c's, or c's follows it): nothing else is wrong
    rest = [] if '"qid": "c"' in bad else [GOOD_C]
    with pytest.raises(ValueError, match=rf"predictions\.jsonl:4: {message}"):
        run_evaluate(tmp_path, [GOOD_A, "", GOOD_B, bad, *rest])
    assert not (tmp_path / "m.json").exists()
