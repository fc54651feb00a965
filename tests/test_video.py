"""Decoding into C3D clips, the C3D network and its weights, sharded extraction."""

import math
import pickle
from pathlib import Path

import av
import h5py
import numpy as np
import pytest
import torch

from wsmr.data.shapes import write_video
from wsmr.video import c3d
from wsmr.video.decode import BadVideo, VideoInfo, clip_seconds, clips, decode_frames, video_clips
from wsmr.video.extract import extract_shard, shard_videos

TINY = 16  # C3D with every layer's channels divided by 16: the real layout, fast


def make_video(path: Path, n_frames: int, fps: int, width: int = 96, height: int = 64) -> Path:
    """Frame k is a flat grey of level 6k (mod 240), so a decoded frame says which it is."""
    frames = (np.full((height, width, 3), 6 * k % 240, np.uint8) for k in range(n_frames))
    write_video(path, frames, fps, height, width)
    return path


def frame_index(frame: np.ndarray) -> int:
    return int(round(float(frame.mean()) / 6))


def test_clips_tile_the_video_and_pad_with_the_last_frame():
    frames = [np.full((1, 1, 1), k) for k in range(21)]  # 21 frames: ceil(21 / 8) = 3 clips
    windows = [w[:, 0, 0, 0].tolist() for w in clips(iter(frames))]
    assert windows == [list(range(16)),
                       list(range(8, 21)) + [20] * 3,
                       list(range(16, 21)) + [20] * 11]


def test_clip_seconds_are_the_real_frames_each_clip_sees():
    np.testing.assert_allclose(clip_seconds(21, 7.0), [[0, 16 / 7], [8 / 7, 3], [16 / 7, 3]],
                               rtol=1e-6)


def test_a_video_shorter_than_one_clip_is_padded_not_dropped(tmp_path):
    info, video = video_clips("short", make_video(tmp_path / "short.mp4", 5, fps=7, width=90))
    windows = list(video)
    assert len(windows) == info.n_clips == 1 and info.n_frames == 5
    assert windows[0].shape == (16, 112, 112, 3) and windows[0].dtype == np.uint8
    assert [frame_index(f) for f in windows[0]] == [0, 1, 2, 3, 4] + [4] * 11
    np.testing.assert_allclose(info.clip_seconds(), [[0, 5 / 7]], rtol=1e-6)


def test_an_odd_fps_keeps_its_own_timing(tmp_path):
    info, video = video_clips("odd", make_video(tmp_path / "odd.mp4", 37, fps=11, height=50))
    windows = list(video)
    assert info.fps == 11 and info.n_frames == 37 and len(windows) == math.ceil(37 / 8) == 5
    assert [frame_index(w[0]) for w in windows] == [0, 8, 16, 24, 32]
    assert info.clip_seconds()[-1].tolist() == pytest.approx([32 / 11, 37 / 11])


@pytest.mark.parametrize("damage, reason", [
    (lambda p: p.unlink(), "file not found"),
    (lambda p: p.write_bytes(b""), "cannot decode"),
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "cannot"),
    (lambda p: p.write_bytes(b"\x00" * 4096), "cannot decode"),
])
def test_bad_videos_are_errors_naming_the_video(tmp_path, damage, reason):
    path = make_video(tmp_path / "v.mp4", 40, fps=8)
    damage(path)
    with pytest.raises(BadVideo, match=f"video broken: .*{reason}"):
        info, video = video_clips("broken", path)
        list(video)


def test_a_video_without_frames_is_an_error(tmp_path):
    path = tmp_path / "empty.avi"   # AVI keeps a header with a video stream and no frames
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=8)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        container.start_encoding()
    with pytest.raises(BadVideo, match="video empty: no frames in .* \\(zero-length video\\)"):
        list(decode_frames(path, VideoInfo("empty")))


def faststart_copy(source: Path, out: Path) -> Path:
    """The same stream with its index (moov) before the frames, as web videos often are."""
    with av.open(str(source)) as src, av.open(str(out), "w", format="mp4",
                                              options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    return out


def test_a_file_cut_between_frames_is_caught_by_its_frame_count(tmp_path):
    """The index survives, the frames stop early: FFmpeg sees a clean end of file."""
    video = faststart_copy(make_video(tmp_path / "whole.mp4", 64, fps=8), tmp_path / "fast.mp4")
    with av.open(str(video)) as container:
        frame_41 = [p.pos for p in container.demux() if p.size][40]
    video.write_bytes(video.read_bytes()[:frame_41])
    with pytest.raises(BadVideo, match="video cut: decoded 40 of the 64 frames .* truncated"):
        list(decode_frames(video, VideoInfo("cut")))


def test_seeded_init_is_deterministic_and_variance_preserving():
    first, second, other = (c3d.C3D(TINY) for _ in range(3))
    c3d.seeded_init(first, 0)
    c3d.seeded_init(second, 0)
    c3d.seeded_init(other, 1)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(),
                                                  second.state_dict().values(), strict=True))
    assert not torch.equal(first.conv1.weight, other.conv1.weight)
    assert not first.conv2.bias.detach().any()
    fan_in = first.conv2.weight[0].numel()
    assert (float(first.conv2.weight.detach().std())
            == pytest.approx(math.sqrt(2 / fan_in), rel=0.05))


def test_the_layout_is_sports1m_and_fc7_is_after_relu():
    model = c3d.C3D()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert list(shapes)[:2] == ["conv1.weight", "conv1.bias"] and list(shapes)[-1] == "fc8.bias"
    assert shapes["conv1.weight"] == (64, 3, 3, 3, 3)
    assert shapes["conv5b.weight"] == (512, 512, 3, 3, 3)
    assert shapes["fc6.weight"] == (4096, 8192) and shapes["fc8.weight"] == (487, 4096)
    tiny = c3d.C3D(TINY).eval()
    c3d.seeded_init(tiny, 0)
    with torch.inference_mode():
        out = tiny(torch.randn(2, 3, 16, 112, 112))
    assert out.shape == (2, 4096 // TINY) and float(out.min()) >= 0


def test_saved_weights_round_trip_and_a_wrong_checksum_is_refused(tmp_path):
    from wsmr.download import sha256_of

    saved = c3d.C3D(TINY)
    c3d.seeded_init(saved, 7)
    path = tmp_path / "c3d.pickle"
    torch.save(saved.state_dict(), path)
    loaded = c3d.C3D(TINY)
    c3d.load_weights(loaded, path, sha256_of(path))
    assert all(torch.equal(a, b) for a, b in zip(saved.state_dict().values(),
                                                  loaded.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="sha256 .* differs"):
        c3d.load_weights(c3d.C3D(TINY), path, "0" * 64)


def test_a_narrow_seeded_c3d_says_so_and_weights_need_the_whole_network(tmp_path):
    """features.c3d_width (the CI DAG's): the source carries the width into the features'
    attrs and the table's footnote; real weights with a width other than 1 are refused."""
    model, source = c3d.build_c3d(None, seed=0, width=4)
    assert source == "seeded-init:seed=0:width=1/4" and c3d.is_seeded_init(source)
    assert model.fc7.out_features == c3d.FC7_DIM // 4
    with pytest.raises(ValueError, match="c3d_width must be 1, not 4"):
        c3d.build_c3d({"path": str(tmp_path / "c3d.pickle"), "sha256": "0" * 64}, 0, width=4)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_weights_that_would_run_pickled_code_are_refused(tmp_path):
    from wsmr.download import sha256_of

    path = tmp_path / "evil.pickle"
    torch.save({"conv1.weight": Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        c3d.load_weights(c3d.C3D(TINY), path, sha256_of(path))


def test_dtype_is_bf16_only_where_the_cpu_has_it(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(c3d, "cpu_has_native_bf16", lambda: False)
    assert c3d.choose_dtype(cpu) == torch.float32
    with pytest.raises(ValueError, match="emulated"):
        c3d.choose_dtype(cpu, "bfloat16")
    monkeypatch.setattr(c3d, "cpu_has_native_bf16", lambda: True)
    assert c3d.choose_dtype(cpu) == torch.bfloat16
    assert c3d.choose_dtype(cpu, "float32") == torch.float32


def test_shards_partition_the_sorted_videos():
    vids = [f"v{i:02d}" for i in range(11)]
    shards = [shard_videos(reversed(vids), i, 3) for i in range(3)]
    assert sorted(sum(shards, [])) == vids and shards[0][:2] == ["v00", "v03"]
    with pytest.raises(ValueError, match="shard 3"):
        shard_videos(vids, 3, 3)


def tiny_model(seed: int = 0) -> c3d.C3D:
    model = c3d.C3D(TINY).eval()
    c3d.seeded_init(model, seed)
    return model


def extract(videos, out, skip_bad=False, decode_workers=1):
    return extract_shard(tiny_model(), "seeded-init:seed=0:width=1/16", videos, out,
                         batch_size=3, device=torch.device("cpu"), dtype=torch.float32,
                         skip_bad=skip_bad, decode_workers=decode_workers)


def test_parallel_decoding_gives_the_same_features_and_still_names_a_bad_video(tmp_path):
    """Videos decoded by three threads at once, finishing out of order (the first is the
    longest): every video's features and attributes are those of one decoder, bit for bit."""
    lengths = [61, 9, 20, 33, 17]
    videos = [(f"v{i}", make_video(tmp_path / f"v{i}.mp4", n, fps=8))
              for i, n in enumerate(lengths)]
    extract(videos, tmp_path / "one.h5")
    report = extract(videos, tmp_path / "three.h5", decode_workers=3)
    assert report["decode_workers"] == 3
    assert report["clips"] == sum(math.ceil(n / 8) for n in lengths)
    with h5py.File(tmp_path / "one.h5") as one, h5py.File(tmp_path / "three.h5") as three:
        assert sorted(one) == sorted(three) == [v for v, _ in videos]
        for vid, _ in videos:
            assert np.array_equal(one[vid][()], three[vid][()]), vid
            assert dict(one[vid].attrs).keys() == dict(three[vid].attrs).keys()
            assert np.array_equal(one[vid].attrs["clip_seconds"], three[vid].attrs["clip_seconds"])
    with pytest.raises(BadVideo, match="video gone: file not found"):
        extract(videos + [("gone", tmp_path / "gone.mp4")], tmp_path / "bad.h5", decode_workers=3)


def test_extraction_is_deterministic_and_skips_only_when_told(tmp_path):
    videos = [(f"v{i}", make_video(tmp_path / f"v{i}.mp4", 20 + 9 * i, fps=8)) for i in range(2)]
    extract(videos, tmp_path / "a.h5")
    extract(videos, tmp_path / "b.h5")
    with h5py.File(tmp_path / "a.h5") as a, h5py.File(tmp_path / "b.h5") as b:
        assert sorted(a) == ["v0", "v1"] and a["v1"].shape == (math.ceil(29 / 8), 4096 // TINY)
        assert a["v0"].dtype == np.float16 and np.array_equal(a["v0"][()], b["v0"][()])
        assert a.attrs["clip_length"] == 16 and a.attrs["stride"] == 8 and a.attrs["fps"] == 8
    broken = videos + [("gone", tmp_path / "gone.mp4")]
    with pytest.raises(BadVideo, match="video gone: file not found"):
        extract(broken, tmp_path / "c.h5")
    assert not (tmp_path / "c.h5").exists()
    report = extract(broken, tmp_path / "c.h5", skip_bad=True)
    assert report["skipped"] == 1 and report["videos"] == 2
    with h5py.File(tmp_path / "c.h5") as h5:
        assert sorted(h5) == ["v0", "v1"] and "gone" in h5.attrs["skipped"]


def test_features_do_not_depend_on_the_threads(tmp_path):
    """The full C3D on a video of 5 clips, one short batch of 8: its features are the same, bit
    for bit, on 1 and on 2 threads (a shard's threads follow `--cores`). oneDNN computes the
    tail of a short batch another way with 2 threads; it runs on one (wsmr.video.extract)."""
    model, source = c3d.build_c3d(None, seed=0)
    video = [("v", make_video(tmp_path / "v.mp4", 40, fps=8))]
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            extract_shard(model, source, video, tmp_path / f"t{n}.h5", batch_size=8,
                          device=torch.device("cpu"), dtype=torch.float32, skip_bad=False)
    finally:
        torch.set_num_threads(threads)
    with h5py.File(tmp_path / "t1.h5") as one, h5py.File(tmp_path / "t2.h5") as two:
        assert one["v"].shape == (5, 4096) and np.array_equal(one["v"][()], two["v"][()])


def test_the_real_charades_video_gives_one_clip_per_8_frames_over_its_length(shared, tmp_path):
    """Y1HGC.mp4: 30.62 s (Charades_v1_test.csv) at 15000/1001 fps, 480x270."""
    duration = 30.62
    extract([("Y1HGC", shared / "data/videos/Y1HGC.mp4")], tmp_path / "y.h5")
    with h5py.File(tmp_path / "y.h5") as h5:
        features, fps = h5["Y1HGC"][()], float(h5["Y1HGC"].attrs["fps"])
        seconds = h5["Y1HGC"].attrs["clip_seconds"]
    assert fps == pytest.approx(15000 / 1001)
    assert len(features) == len(seconds) == math.ceil(duration * fps / 8) == 58
    np.testing.assert_allclose(seconds[:, 0], np.arange(58) * 8 / fps, rtol=1e-5)
    assert seconds[-1, 1] == pytest.approx(duration, abs=2 / fps)   # the last frame ends the video
    assert np.all(seconds[:-2, 1] - seconds[:-2, 0] == pytest.approx(16 / fps, rel=1e-5))
    assert np.isfinite(features).all() and features.astype(np.float32).std() > 0
