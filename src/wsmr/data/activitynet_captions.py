"""Reader for ActivityNet Captions: `{vid: {duration, timestamps: [[s, e], ...], sentences: [...]}}`.

The papers train on train.json, select on val_1.json and test on val_2.json.
"""

from __future__ import annotations

from pathlib import Path

from wsmr.data.samples import MALFORMED, DefectLog, make_sample
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
        for k, ((start, end), sentence) in enumerate(zip(timestamps, sentences)):
            sample = make_sample(qid=f"{path.name}:{vid}:{k}", vid=vid,
                                 duration=video.get("duration"), start=float(start),
                                 end=float(end), sentence=sentence,
                                 where=f"{path}: video {vid}, sentence {k}", defects=defects)
            if sample is not None:
                samples.append(sample)
    return samples
