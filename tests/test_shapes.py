"""The shapes generator: deterministic, decodable, and built as the design asks."""

import hashlib
import json
from pathlib import Path

import av
import numpy as np
import pytest

from wsmr.data import read_dataset
from wsmr.data.shapes import ACTION_FAMILIES, BACKGROUND, generate

GENERATOR = {"seed": 3, "videos": {"train": 3, "val": 1, "test": 1}, "width": 96, "height": 64,
             "fps": 8, "duration_s": [10.0, 12.0], "events_per_video": 3, "queries_per_event": 2}


def digest(folder: Path) -> dict[str, str]:
    """A hash of every file; of a video, its decoded frames (x264's bitstream may differ by a
    few bytes between processes while decoding to the same frames)."""
    return {p.relative_to(folder).as_posix(): content_hash(p)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def content_hash(path: Path) -> str:
    if path.suffix != ".mp4":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    with av.open(str(path)) as container:
        frames = b"".join(f.to_ndarray(format="rgb24").tobytes() for f in container.decode(video=0))
    return hashlib.sha256(frames).hexdigest()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("shapes")
    generate(out, GENERATOR)
    return out


def events(rendered):
    return [json.loads(line) for line in (rendered / "shapes_events.jsonl").read_text().splitlines()]


def test_same_seed_same_frames_other_seed_other_videos(rendered, tmp_path):
    generate(tmp_path / "again", GENERATOR)
    assert digest(tmp_path / "again") == digest(rendered)
    generate(tmp_path / "other", {**GENERATOR, "seed": 4})
    assert digest(tmp_path / "other") != digest(rendered)


def test_same_frames_whatever_the_process_hash_seed(rendered, tmp_path):
    """Python randomises set and str-hash order per process: the render must not depend on it."""
    import os
    import subprocess
    import sys

    for hash_seed in ("1", "2"):
        out = tmp_path / hash_seed
        code = f"from wsmr.data.shapes import generate; generate({str(out)!r}, {GENERATOR!r})"
        subprocess.run([sys.executable, "-c", code], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert digest(out) == digest(rendered)


def test_events_are_minimal_pairs_of_clearly_different_lengths(rendered):
    by_video = {}
    for event in events(rendered):
        by_video.setdefault(event["vid"], []).append(event)
    durations = {line.split(",")[0]: float(line.split(",")[1])
                 for line in (rendered / "shapes_durations.csv").read_text().splitlines()[1:]}
    for vid, evs in by_video.items():
        assert len(evs) == 3
        evs.sort(key=lambda e: e["start"])
        # one after another, with idle gaps between
        assert all(a["end"] < b["start"] for a, b in zip(evs, evs[1:]))
        shares = sorted((e["end"] - e["start"]) / durations[vid] for e in evs)
        assert 0.05 <= shares[0] and shares[-1] <= 0.55
        assert all(b / a >= 1.3 for a, b in zip(shares, shares[1:]))
        objects = {(e["colour"], e["shape"]) for e in evs}
        assert len(objects) == 2
        a, b = objects
        assert (a[0] == b[0]) != (a[1] == b[1])   # the two objects differ in exactly one attribute
        # one object does two actions; the other repeats one of them
        actions = {obj: {e["action"] for e in evs if (e["colour"], e["shape"]) == obj}
                   for obj in objects}
        assert sorted(map(len, actions.values())) == [1, 2]
        assert actions[a] & actions[b]
        # the actor's two actions share a family, hence their verbs ("slides left/right")
        pair = max(actions.values(), key=len)
        assert any(pair <= set(family) for family in ACTION_FAMILIES)


def test_video_decodes_with_objects_only_during_events(rendered):
    event = events(rendered)[0]
    with av.open(str(rendered / "videos" / f"{event['vid']}.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    duration = float(next(l.split(",")[1] for l in
                          (rendered / "shapes_durations.csv").read_text().splitlines()
                          if l.startswith(event["vid"])))
    assert len(frames) == round(duration * GENERATOR["fps"])
    assert frames[0].shape == (GENERATOR["height"], GENERATOR["width"], 3)
    def has_object(frame):
        return np.abs(frame.astype(int) - BACKGROUND).sum(axis=-1).max() > 60
    all_events = [e for e in events(rendered) if e["vid"] == event["vid"]]
    busy = {f for e in all_events for f in range(e["start_frame"], e["end_frame"])}
    idle = [f for f in range(len(frames)) if f not in busy and f - 1 not in busy]
    assert idle and not any(has_object(frames[f]) for f in idle)
    middle = (event["start_frame"] + event["end_frame"]) // 2
    assert any(has_object(frames[f]) for f in range(middle - 2, middle + 2))


def test_annotations_enter_through_the_charades_reader_with_tags(rendered):
    config = {"format": "charades_sta", "ratios": [0.5], "ious": [0.5], "clip_stride_s": 1.0,
              "annotations": {s: str(rendered / f"shapes_sta_{s}.txt") for s in ("train", "val", "test")},
              "durations": [str(rendered / "shapes_durations.csv")],
              "tags": str(rendered / "shapes_tags.json")}
    splits, report = read_dataset("shapes", config)
    assert report["queries"] == {"train": 3 * 3 * 2, "val": 3 * 2, "test": 3 * 2}
    assert report["repaired"] == {} and report["skipped"] == {}
    sample = splits["train"][0]
    assert sample["tokens"] == sample["sentence"].split()
    assert len(sample["tags"]) == len(sample["tokens"])
    assert sample["tags"][:3] == ["DT", "JJ", "NN"] and sample["tags"][3].startswith("VB")
    # paraphrases of one event are distinct sentences
    per_event = {}
    for s in splits["train"]:
        per_event.setdefault((s["vid"], s["start"]), set()).add(s["sentence"])
    assert all(len(v) == 2 for v in per_event.values())
