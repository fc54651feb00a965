"""Clip times follow each video's own fps, from the decoded file to the predicted seconds.

Two rendered mp4s, at 15000/1001 fps (Y1HGC's rate) and at 24 fps, decoded with PyAV; their
clip times go into a features file as the extraction writes them (random features: no C3D), and
SCN's and MS-2D's predictions, and MS-2D's supervised targets, are read back in seconds. The
videos' annotated durations differ from their files' lengths by a few hundredths of a second,
as Charades_v1's `length` differs from its videos' (Y1HGC: 30.62 s vs 30.70 s).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from test_ms2d import SMALL
from test_training import TINY
from wsmr.data.shapes import write_video
from wsmr.features import store
from wsmr.io import write_jsonl
from wsmr.methods.base import RunInputs
from wsmr.methods.inputs import MethodInputs, clip_edges, positions_to_seconds, seconds_to_fractions
from wsmr.text.vocabulary import build_vocabulary, write_vocabulary
from wsmr.video.decode import VideoInfo, decode_frames

# video id -> (fps, frames in its file, its annotated duration in seconds)
VIDEOS = {"v15": (Fraction(15000, 1001), 100, 6.60), "v24": (Fraction(24), 150, 6.30)}


def stride_grid(fps: Fraction, n_frames: int) -> np.ndarray:
    """Where C3D's clips start (every 8 frames), then the end of the last frame: seconds."""
    return np.append(np.arange(0, n_frames, 8) / float(fps), n_frames / float(fps))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> RunInputs:
    root = tmp_path_factory.mktemp("clip_times")
    rng = np.random.default_rng(0)
    samples = []
    with store.create(root / "features.h5", clip_length=16, stride=8, source="test") as h5:
        for vid, (fps, n_frames, duration) in VIDEOS.items():
            frames = (np.full((64, 96, 3), 3 * k % 250, np.uint8) for k in range(n_frames))
            write_video(root / f"{vid}.mp4", frames, fps, 64, 96)
            info = VideoInfo(vid)
            assert sum(1 for _ in decode_frames(root / f"{vid}.mp4", info)) == n_frames
            spans = info.clip_seconds()
            store.put(h5, vid, rng.normal(size=(len(spans), 6)).astype(np.float32), spans, info.fps)
            start, end = 16 / float(fps), 40 / float(fps)   # clips 2 to 5 of the video
            for q, words in enumerate(["a person opens the door", "someone sits on a chair"]):
                samples.append({"qid": f"{vid}:{q}", "vid": vid, "duration": duration,
                                "start": start, "end": end, "sentence": words,
                                "tokens": words.split(), "tags": ["DT", "NN", "VBZ", "DT", "NN"]})
        store.finish(h5, {})
    paths = {split: root / f"{split}.jsonl" for split in ("train", "val", "test")}
    for path in paths.values():
        write_jsonl(path, samples)
    vocab = build_vocabulary([s["tokens"] for s in samples], 50)
    write_vocabulary(vocab, root / "vocab.json")
    np.save(root / "embeddings.npy", rng.normal(size=(len(vocab), 8)).astype(np.float32))
    return RunInputs(samples=paths, features=root / "features.h5", vocab=root / "vocab.json",
                     embeddings=root / "embeddings.npy")


def test_decoded_clip_times_follow_each_video_s_fps(inputs):
    data = MethodInputs(inputs, max_clips=200, max_words=20)
    for vid, (fps, n_frames, _) in VIDEOS.items():
        np.testing.assert_allclose(data.clip_edges[vid], stride_grid(fps, n_frames), rtol=1e-6)
    # 8 frames: 0.534 s at 15 fps, 0.333 s at 24 fps (config.yaml's Charades clip_stride_s)
    assert np.diff(data.clip_edges["v15"])[0] == pytest.approx(0.5339, abs=1e-4)
    assert np.diff(data.clip_edges["v24"])[0] == pytest.approx(0.3333, abs=1e-4)


def predictions_by_video(learner) -> dict[str, np.ndarray]:
    learner.model.eval()
    with torch.no_grad():
        predictions = learner.predict("test")
    moments: dict[str, list] = {}
    for p in predictions:
        moments.setdefault(p["qid"].split(":")[0], []).extend(p["moments"])
    return {vid: np.asarray(m) for vid, m in moments.items()}


def test_scn_predictions_end_on_each_video_s_own_clip_grid(inputs):
    """SCN's proposals end on clip boundaries: in seconds, on the video's own stride grid (not
    on duration / n_clips), and never past the file's last frame."""
    from wsmr.methods.scn import SCNLearner

    data = MethodInputs(inputs, max_clips=200, max_words=20)
    torch.manual_seed(0)
    moments = predictions_by_video(SCNLearner(data, {**TINY, "hidden": 16}, [0.25, 0.5]))
    for vid, (fps, n_frames, _) in VIDEOS.items():
        grid = stride_grid(fps, n_frames)
        distance = np.abs(moments[vid][:, 1, None] - grid[None]).min(axis=1)
        assert distance.max() < 6e-4, (vid, moments[vid])   # predictions carry 3 decimals
        assert (moments[vid][:, 0] >= 0).all() and moments[vid].max() <= grid[-1] + 6e-4


def test_ms2d_predictions_and_targets_are_fractions_of_the_video_s_clips(inputs):
    """A map of N segments cuts the clips into N equal spans: its moments' seconds, read back
    through the video's clip times, are multiples of 1/N; the supervised targets are the
    ground truth's clip positions (clips 2 to 5) as fractions of the clips."""
    from wsmr.methods.ms2d import MS2DLearner

    data = MethodInputs(inputs, max_clips=200, max_words=20)
    torch.manual_seed(0)
    learner = MS2DLearner(data, {**SMALL, "scales": [4]})
    for vid in VIDEOS:
        n_clips = len(data.clip_edges[vid]) - 1
        assert learner.targets[f"{vid}:0"] == pytest.approx((2 / n_clips, 5 / n_clips))
    for vid, moments in predictions_by_video(learner).items():
        quarters = seconds_to_fractions(moments, data.clip_edges[vid]) * 4
        np.testing.assert_allclose(quarters, quarters.round(), atol=2e-3)
        assert moments.max() <= data.clip_edges[vid][-1] + 6e-4


def test_pooled_clips_keep_their_real_times():
    """A video longer than the cap is mean-pooled into segments; each segment's times are those
    of the clips it pools, so positions still map to the video's own seconds."""
    spans = np.stack([np.arange(10) * 0.5, np.minimum(np.arange(10) * 0.5 + 1.0, 4.9)], axis=1)
    edges = clip_edges(spans, max_clips=4)   # segments of clips [0, 2) [2, 5) [5, 8) [8, 10)
    np.testing.assert_allclose(edges, [0.0, 1.0, 2.5, 4.0, 4.9])
    padded = torch.tensor([[*edges, 0.0], [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]], dtype=torch.float64)
    positions = torch.tensor([[0.0, 1.5, 4.0, 9.0], [0.0, 1.5, 4.0, 5.0]])
    seconds = positions_to_seconds(positions, padded, torch.tensor([4, 5]))
    np.testing.assert_allclose(seconds, [[0.0, 1.75, 4.9, 4.9], [0.0, 0.75, 2.0, 2.5]])
    np.testing.assert_allclose(seconds_to_fractions([1.75, 4.9], edges), [1.5 / 4, 1.0])
