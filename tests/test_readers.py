"""Annotation readers: the real files' counts, and every repaired or rejected defect."""

import json

import pytest

from wsmr.data import read_dataset
from wsmr.data.samples import AnnotationError


def charades_config(root, **extra):
    return {"format": "charades_sta", "ratios": [0.5], "ious": [0.5], "clip_stride_s": 1.0,
            "annotations": {"train": str(root / "charades_sta_train.txt"),
                            "test": str(root / "charades_sta_test.txt")},
            "durations": [str(root / "Charades_v1_train.csv"), str(root / "Charades_v1_test.csv")],
            **extra}


def test_charades_sta_real_files(shared):
    splits, report = read_dataset("charades", charades_config(shared / "data/charades_sta"))
    assert len(splits["train"]) + len(splits["val"]) == 12408
    assert len(splits["test"]) == 3720
    # validation is a slice of training videos, disjoint from the rest of training
    assert not {s["vid"] for s in splits["val"]} & {s["vid"] for s in splits["train"]}
    # the real files have ends past their video's duration: repaired and counted, not dropped
    assert report["repaired"] == {"end_clipped_to_duration": 1802 + 562}
    y1hgc = [s for s in splits["test"] if s["vid"] == "Y1HGC"]
    assert [(s["start"], s["end"]) for s in y1hgc] == [(0.2, 9.8), (1.7, 12.1)]
    assert all(0 <= s["start"] <= s["end"] <= s["duration"]
               for rows in splits.values() for s in rows)


def test_activitynet_captions_real_files(shared):
    root = shared / "data/activitynet_captions"
    config = {"format": "activitynet_captions", "ratios": [0.5], "ious": [0.5],
              "clip_stride_s": 1.0,
              "annotations": {"train": str(root / "train.json"), "val": str(root / "val_1.json"),
                              "test": str(root / "val_2.json")}}
    splits, report = read_dataset("activitynet", config)
    assert {k: len(v) for k, v in splits.items()} == {"train": 37421, "val": 17505, "test": 17031}
    assert report["repaired"] == {"end_clipped_to_duration": 261 + 134 + 111,
                                  "swapped_start_end": 2}
    assert not any(s["sentence"].startswith(" ") for s in splits["train"])


@pytest.fixture
def defective(tmp_path):
    (tmp_path / "charades_sta_train.txt").write_text(
        "AAAAA 8.0 2.0##a person swaps.\n"          # start > end: swapped
        "AAAAA 1.0 40.0##a person runs past the end.\n"  # end > 30 s: clipped
        "BBBBB 0.0 1.0##no duration known.\n"        # missing duration: rejected
        "AAAAA 0.0 1.0##   \n"                       # empty sentence: rejected
        "CCCCC 0.0 2.0##fine.\n")
    (tmp_path / "charades_sta_test.txt").write_text("CCCCC 1.0 2.0##a test query.\n")
    (tmp_path / "Charades_v1_train.csv").write_text("id,length\nAAAAA,30.0\nBBBBB,\nCCCCC,10\n")
    (tmp_path / "Charades_v1_test.csv").write_text("id,length\n")
    return tmp_path


def test_unrepairable_defect_is_an_error_naming_file_and_line(defective):
    with pytest.raises(AnnotationError, match=r"charades_sta_train.txt:3: no duration"):
        read_dataset("toy", charades_config(defective, val_fraction=0.5))


def test_defects_repaired_and_skipped_are_counted(defective):
    splits, report = read_dataset("toy", charades_config(defective, val_fraction=0.5,
                                                         on_unrepairable="skip"))
    rows = {s["sentence"]: s for s in splits["train"] + splits["val"]}
    assert (rows["a person swaps."]["start"], rows["a person swaps."]["end"]) == (2.0, 8.0)
    assert rows["a person runs past the end."]["end"] == 30.0
    assert report["repaired"] == {"swapped_start_end": 1, "end_clipped_to_duration": 1}
    assert report["skipped"] == {"missing_duration": 1, "empty_sentence": 1}
    assert report["examples"]["missing_duration"] == [f"{defective}/charades_sta_train.txt:3"]
    assert sum(report["queries"].values()) == 4   # 6 lines, 2 skipped, none lost unaccounted


def test_malformed_line_is_named(defective):
    (defective / "charades_sta_train.txt").write_text("CCCCC 0.0 2.0##fine.\n")
    (defective / "charades_sta_test.txt").write_text("CCCCC 1.0##no end time\n")
    with pytest.raises(AnnotationError, match=r"charades_sta_test.txt:1: expected"):
        read_dataset("toy", charades_config(defective, on_unrepairable="error"))


def test_activitynet_mismatched_lists_are_named(tmp_path):
    bad = {"v_x": {"duration": 10.0, "timestamps": [[0, 1], [2, 3]], "sentences": ["one"]}}
    for name in ("train", "val", "test"):
        (tmp_path / f"{name}.json").write_text(json.dumps(bad))
    config = {"format": "activitynet_captions", "ratios": [0.5], "ious": [0.5],
              "clip_stride_s": 1.0,
              "annotations": {k: str(tmp_path / f"{k}.json") for k in ("train", "val", "test")}}
    with pytest.raises(AnnotationError, match=r"train.json: video v_x: 2 timestamps but 1"):
        read_dataset("toy", config)


# --- values that compare false with everything: NaN (and inf) times --------------------------

@pytest.mark.parametrize("times", ["nan 5.0", "0.0 nan", "NaN NaN", "0.0 inf", "-inf 2.0"])
def test_non_finite_time_is_a_malformed_line(defective, times):
    (defective / "charades_sta_train.txt").write_text(
        f"CCCCC 0.0 2.0##fine.\nAAAAA 1.0 3.0##also fine.\nAAAAA {times}##a broken time.\n")
    with pytest.raises(AnnotationError,
                       match=r"charades_sta_train.txt:3: .*finite.*malformed_line"):
        read_dataset("toy", charades_config(defective))
    splits, report = read_dataset("toy", charades_config(defective, on_unrepairable="skip"))
    assert report["skipped"] == {"malformed_line": 1} and report["repaired"] == {}
    assert sorted(s["sentence"] for s in splits["train"] + splits["val"]) == ["also fine.", "fine."]


@pytest.mark.parametrize("timestamp", [[float("nan"), 1.0], [0.0, float("inf")], [None, 1.0],
                                       ["soon", 1.0], [1.0]])
def test_activitynet_bad_timestamp_is_malformed(tmp_path, timestamp):
    videos = {"v_x": {"duration": 10.0, "timestamps": [[0.0, 2.0], timestamp],
                      "sentences": ["fine.", "a broken time."]}}
    for name in ("train", "val", "test"):
        (tmp_path / f"{name}.json").write_text(json.dumps(videos))  # json writes nan as NaN
    config = {"format": "activitynet_captions", "ratios": [0.5], "ious": [0.5],
              "clip_stride_s": 1.0,
              "annotations": {k: str(tmp_path / f"{k}.json") for k in ("train", "val", "test")}}
    with pytest.raises(AnnotationError, match=r"train.json: video v_x, sentence 1: .*malformed"):
        read_dataset("toy", config)
    splits, report = read_dataset("toy", {**config, "on_unrepairable": "skip"})
    assert report["skipped"] == {"malformed_line": 3}
    assert [s["sentence"] for s in splits["test"]] == ["fine."]


def test_write_jsonl_refuses_nan_naming_file_and_record(tmp_path):
    from wsmr.io import write_jsonl

    rows = [{"qid": "a", "start": 0.0}, {"qid": "b", "start": float("nan")}]
    with pytest.raises(ValueError, match=r"out\.jsonl: record 2 .*not finite"):
        write_jsonl(tmp_path / "out.jsonl", rows)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_write_json_refuses_a_number_that_is_not_finite_naming_the_file(tmp_path, value):
    from wsmr.io import write_json

    with pytest.raises(ValueError, match=r"metrics\.json: holds a number that is not finite"):
        write_json(tmp_path / "metrics.json", {"R1_IoU0.5": 12.5, "mIoU": {"seed0": value}})
    assert not (tmp_path / "metrics.json").exists()
    write_json(tmp_path / "metrics.json", {"mIoU": 12.5})
    assert (tmp_path / "metrics.json").read_text() == '{\n  "mIoU": 12.5\n}\n'


# --- splits and durations --------------------------------------------------------------------

def test_empty_split_is_an_error_with_the_counts(defective):
    # one training video: the validation hold-out takes it and leaves train empty
    (defective / "charades_sta_train.txt").write_text(
        "CCCCC 0.0 2.0##fine.\nCCCCC 1.0 3.0##again.\n")
    with pytest.raises(ValueError, match=r"toy: split 'train' is empty .*"
                                         r"queries train 0, val 2, test 1; "
                                         r"videos train 0, val 1, test 1"):
        read_dataset("toy", charades_config(defective))


def test_split_emptied_by_skips_is_an_error(defective):
    (defective / "charades_sta_test.txt").write_text("BBBBB 0.0 1.0##no duration known.\n")
    with pytest.raises(ValueError, match=r"split 'test' is empty .*test 0; 3 skipped"):
        read_dataset("toy", charades_config(defective, on_unrepairable="skip"))


def test_durations_disagreeing_on_a_video_name_both_lines(defective):
    (defective / "Charades_v1_test.csv").write_text("id,length\nDDDDD,5\nCCCCC,12.5\n")
    with pytest.raises(ValueError, match=r"Charades_v1_test.csv:3: video CCCCC lasts 12.5 s, but "
                                         r".*Charades_v1_train.csv:4 says 10 s"):
        read_dataset("toy", charades_config(defective, on_unrepairable="skip"))


def test_durations_repeated_with_the_same_length_are_accepted(defective):
    (defective / "Charades_v1_test.csv").write_text("id,length\nCCCCC,10.0\n")
    splits, _ = read_dataset("toy", charades_config(defective, on_unrepairable="skip"))
    assert splits["test"][0]["duration"] == 10.0


@pytest.mark.parametrize("length", ["nan", "inf"])
def test_non_finite_duration_is_an_error_naming_the_line(defective, length):
    (defective / "Charades_v1_test.csv").write_text(f"id,length\nDDDDD,{length}\n")
    with pytest.raises(ValueError, match=rf"Charades_v1_test.csv:2: length '{length}' is not"):
        read_dataset("toy", charades_config(defective, on_unrepairable="skip"))
