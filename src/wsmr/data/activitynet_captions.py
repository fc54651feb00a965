"""Reader for ActivityNet Captions:
`{vid: {duration, timestamps: [[s, e], ...], sentences: [...]}}`.

The papers train on train.json, select on val_1.json and test on val_2.json.
"""

from __future__ import annotations

from pathlib import Path

from wsmr.data.samples import MALFORMED, DefectLog, finite_seconds, make_sample
from wsmr.io import read_json


def read_annotations(path: str | Path, defects: DefectLog) -> list[dict]:
    """Every sentence of one ActivityNet Captions file as samples; qid is `file:vid:k`."""
    path = Path(path)
    samples = []
    for vid, video in read_json(path).items():
        timestamps, sentences = video.get("timestamps", []), video.get("sentences", [])
        if len(timestamps) != len(sentences):
            defects.reject(MALFORMED, f"{path}: video {vid}",
                           f"{len(timestamps)} timestamps but {len(sentences)} sentences")
            continue
        for k, (timestamp, sentence) in enumerate(zip(timestamps, sentences, strict=True)):
            where = f"{path}: video {vid}, sentence {k}"
            try:
                start, end = parse_timestamp(timestamp)
            except ValueError as err:
                defects.reject(MALFORMED, where, f"timestamp {timestamp!r}: {err}")
                continue
            sample = make_sample(qid=f"{path.name}:{vid}:{k}", vid=vid,
                                 duration=video.get("duration"), start=start, end=end,
                                 sentence=sentence, where=where, defects=defects)
            if sample is not None:
                samples.append(sample)
    return samples


def parse_timestamp(timestamp) -> tuple[float, float]:
    """`[start, end]` -> finite seconds; ValueError for anything else (json reads NaN too)."""
    if not isinstance(timestamp, list | tuple) or len(timestamp) != 2:
        raise ValueError("expected [start, end]")
    return finite_seconds(timestamp[0]), finite_seconds(timestamp[1])
