"""The feature store, PCA fit on training videos, pre-extracted files, probes, skipped videos."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from wsmr import tracking
from wsmr.cli import main
from wsmr.features import store
from wsmr.features.pca import Shards, chunks, fit_pca, write_pca_features
from wsmr.features.pre_extracted import import_features
from wsmr.features.probe import clip_label, probe
from wsmr.io import read_json, write_jsonl
from wsmr.methods.base import RunInputs
from wsmr.reporting import features_notes
from wsmr.video.decode import clip_seconds

FC7 = 64  # stands in for 4096


def write_shard(path: Path, arrays: dict[str, np.ndarray], source="seeded-init:seed=0",
                skipped=None) -> Path:
    with store.create(path, clip_length=16, stride=8, source=source) as h5:
        for vid, array in arrays.items():
            store.put(h5, vid, array.astype(np.float16), clip_seconds(8 * len(array), 8.0), 8.0)
        store.finish(h5, skipped or {})
    return path


def fc7(rng, n_clips, offset=0.0):
    return rng.normal(offset, 1.0, size=(n_clips, FC7))


@pytest.fixture
def shards(tmp_path):
    rng = np.random.default_rng(0)
    write_shard(tmp_path / "shard0.h5", {"train_a": fc7(rng, 30), "test_a": fc7(rng, 5, 9.0)})
    write_shard(tmp_path / "shard1.h5", {"train_b": fc7(rng, 20)}, skipped={"val_x": "corrupt"})
    return [tmp_path / "shard0.h5", tmp_path / "shard1.h5"]


def test_chunks_keep_every_row_and_never_run_short():
    arrays = [np.full((n, 1), i) for i, n in enumerate([3, 4, 2, 5, 1])]
    got = list(chunks(arrays, 6))
    assert [len(c) for c in got] == [7, 8] and np.concatenate(got)[:, 0].tolist() == sum(
        ([i] * n for i, n in enumerate([3, 4, 2, 5, 1])), [])
    assert [len(c) for c in chunks(arrays[:2], 100)] == [7]


def test_pca_is_fit_on_training_videos_only_and_applied_to_all(shards, tmp_path):
    out = tmp_path / "c3d_pca500.h5"
    with Shards(shards) as fc7s:
        fc7s.check_complete(["train_a", "train_b", "test_a", "val_x"])
        pca = fit_pca(fc7s, ["train_a", "train_b"], 8)
        report = write_pca_features(fc7s, pca, ["train_a", "train_b", "test_a", "val_x"], out)
        train = np.concatenate([fc7s.fc7("train_a"), fc7s.fc7("train_b")])
    np.testing.assert_allclose(pca.mean_, train.mean(axis=0), atol=1e-5)  # test's offset unseen
    assert report["videos"] == 3 and report["skipped"] == {"val_x": "corrupt"}
    with h5py.File(out) as h5:
        assert sorted(h5) == ["test_a", "train_a", "train_b"]
        assert h5["test_a"].shape == (5, 8) and h5["test_a"].dtype == np.float32
        assert h5["test_a"].attrs["clip_seconds"].shape == (5, 2)
        assert h5.attrs["source"] == "seeded-init:seed=0" and h5.attrs["fps"] == 8.0
        assert len(h5.attrs["explained_variance_ratio"]) == 8 and h5.attrs["pca_dim"] == 8
    assert store.skipped_videos(out) == {"val_x": "corrupt"}


def test_too_few_training_clips_for_the_pca_is_a_clear_error(shards):
    with Shards(shards) as fc7s, pytest.raises(
            ValueError, match=r"needs at least 500 training clips; the training split has 50 "
                              r"\(from 2 videos\)"):
        fit_pca(fc7s, ["train_a", "train_b"], 500)


def test_a_video_neither_extracted_nor_skipped_is_an_error(shards):
    with Shards(shards) as fc7s, pytest.raises(ValueError, match=r"1 annotated videos .*lost"):
        fc7s.check_complete(["train_a", "lost"])


def pre_extracted(path: Path, arrays: dict[str, np.ndarray], key="c3d_features") -> Path:
    """ActivityNet's layout `[vid][key]`, or with no key the arrays at `[vid]`."""
    with h5py.File(path, "w") as h5:
        for vid, array in arrays.items():
            (h5.create_group(vid) if key else h5).create_dataset(key or vid, data=array)
    return path


def test_a_pre_extracted_file_is_checked_into_the_contract(tmp_path):
    rng = np.random.default_rng(1)
    source = pre_extracted(tmp_path / "sub_activitynet_v1-3.c3d.hdf5",
                           {"v_a": rng.normal(size=(12, 500)), "v_b": rng.normal(size=(3, 500)),
                            "v_unused": rng.normal(size=(2, 500))})
    report = import_features(source, "c3d_features", {"v_a": 24.0, "v_b": 6.0}, 500,
                             tmp_path / "out.h5", skip_bad=False)
    assert report["clips"] == 15 and report["skipped"] == {}
    with h5py.File(tmp_path / "out.h5") as h5:
        assert sorted(h5) == ["v_a", "v_b"] and h5["v_a"].dtype == np.float32
        assert h5["v_b"].attrs["clip_seconds"].tolist() == [[0, 2], [2, 4], [4, 6]]
        assert h5.attrs["source"] == "pre-extracted:sub_activitynet_v1-3.c3d.hdf5"


def test_pre_extracted_problems_name_the_videos(tmp_path):
    rng = np.random.default_rng(2)
    nan = rng.normal(size=(4, 500))
    nan[2, 7] = np.nan
    source = pre_extracted(tmp_path / "f.h5", {"v_ok": rng.normal(size=(4, 500)), "v_nan": nan})
    durations = {"v_ok": 8.0, "v_nan": 8.0, "v_gone1": 5.0, "v_gone2": 5.0}
    with pytest.raises(ValueError) as error:
        import_features(source, "c3d_features", durations, 500, tmp_path / "o.h5", skip_bad=False)
    message = str(error.value)
    assert "3 annotated videos cannot be used" in message
    assert "2 missing: v_gone1, v_gone2" in message
    assert "video v_nan: non-finite value (NaN/inf) at clip 2, dimension 7" in message
    assert not (tmp_path / "o.h5").exists()
    report = import_features(source, "c3d_features", durations, 500, tmp_path / "o.h5",
                             skip_bad=True)
    assert sorted(report["skipped"]) == ["v_gone1", "v_gone2", "v_nan"]
    assert sorted(store.skipped_videos(tmp_path / "o.h5")) == ["v_gone1", "v_gone2", "v_nan"]


def test_a_pre_extracted_file_of_the_wrong_dimension_is_an_error(tmp_path):
    source = pre_extracted(tmp_path / "f.h5", {"v_a": np.zeros((4, 4096))}, key=None)
    with pytest.raises(ValueError,
                       match="video v_a has 4096-d features but features.pca_dim is 500"):
        import_features(source, None, {"v_a": 8.0}, 500, tmp_path / "o.h5", skip_bad=True)


def test_a_clip_is_labelled_by_the_event_covering_most_of_it():
    events = [{"start": 1.0, "end": 3.0, "colour": "red"},
              {"start": 3.5, "end": 9.0, "colour": "blue"}]
    assert clip_label(np.array([0.0, 2.0]), events, "colour") == "idle"      # half covered
    assert clip_label(np.array([0.5, 2.5]), events, "colour") == "red"
    assert clip_label(np.array([2.0, 4.0]), events, "colour") == "idle"      # 1 s and 0.5 s of 2
    assert clip_label(np.array([2.8, 4.8]), events, "colour") == "blue"
    assert clip_label(np.array([9.0, 11.0]), events, "colour") == "idle"


def test_probe_finds_what_the_features_encode_and_reports_chance(tmp_path):
    rng = np.random.default_rng(3)
    events, arrays = [], {}
    for split, n in (("train", 6), ("test", 3)):
        for i in range(n):
            vid = f"{split}{i}"
            colour = ["red", "blue"][i % 2]
            events.append({"vid": vid, "split": split, "colour": colour, "shape": "circle",
                           "action": "grow", "start": 3.0, "end": 8.0})
            code = np.r_[np.zeros(10), 4.0 * (colour == "red"), 4.0 * (colour == "blue")]
            active = (np.arange(10) >= 3) & (np.arange(10) < 8)
            arrays[vid] = np.where(active[:, None], code[10:], 0) + rng.normal(0, 0.3, (10, 2))
    write_jsonl(tmp_path / "events.jsonl", events)
    one_second_clips = np.c_[np.arange(10), np.arange(1, 11)]
    with store.create(tmp_path / "f.h5", clip_length=16, stride=8, source="x") as h5:
        for vid, array in arrays.items():
            store.put(h5, vid, array, one_second_clips, 8.0)
        store.finish(h5, {})
    results = probe(tmp_path / "f.h5", tmp_path / "events.jsonl")
    assert results["train_clips"] == 60 and results["test_clips"] == 30
    assert results["colour"]["accuracy"] == 1.0
    assert results["colour"]["chance"] == 0.5 and results["colour"]["majority_class"] == "idle"
    assert results["colour"]["event_accuracy"] == 1.0
    assert results["colour"]["event_chance"] == pytest.approx(2 / 3)   # red 10, blue 5 clips
    assert results["shape"]["classes"] == ["circle", "idle"]


def test_queries_on_skipped_videos_leave_prediction_and_evaluation(shards, tmp_path, capsys):
    rows = [{"qid": f"q{i}", "vid": vid, "duration": 10.0, "start": 1.0, "end": 4.0,
             "sentence": "x"} for i, vid in enumerate(["train_a", "val_x", "val_x"])]
    write_jsonl(tmp_path / "test.jsonl", rows)
    features = tmp_path / "f.h5"
    write_shard(features, {"train_a": np.ones((3, 4))}, skipped={"val_x": "corrupt"})
    inputs = RunInputs(samples={"test": tmp_path / "test.jsonl"}, features=features,
                       skipped_videos=frozenset(store.skipped_videos(features)))
    assert [r["qid"] for r in inputs.split("test")] == ["q0"]
    write_jsonl(tmp_path / "pred.jsonl", [{"qid": "q0", "moments": [[1.0, 4.0]], "scores": [1.0]}])
    job = json.dumps({"dataset": {"name": "toy", "ious": [0.5]}, "method": "m", "variant": "v"})
    main(["evaluate", "--job", job, "--seed", "0", "--samples", str(tmp_path / "test.jsonl"),
          "--predictions", str(tmp_path / "pred.jsonl"), "--features", str(features),
          "--out", str(tmp_path / "metrics.json")])
    metrics = read_json(tmp_path / "metrics.json")
    assert metrics["dropped_queries"] == 2 and metrics["queries"] == 1


def test_seeded_init_is_said_in_the_tags_and_the_table(shards):
    assert tracking.features_tags(shards[0]) == {"c3d_weights": "seeded-init",
                                                 "features_source": "seeded-init:seed=0"}
    assert tracking.features_tags(None) == {}
    notes = features_notes(shards[1])
    assert "seeded random C3D" in notes[0] and notes[1].startswith("1 videos skipped")
