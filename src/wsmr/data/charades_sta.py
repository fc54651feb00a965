"""Reader for the Charades-STA text format: `vid start end##sentence`, durations from a CSV.

The durations come from Charades_v1_{train,test}.csv (columns `id` and `length`, seconds). The
embedded `shapes` dataset writes the same two formats, so it enters the pipeline here too.
"""

from __future__ import annotations

import csv
from pathlib import Path

from wsmr.data.samples import MALFORMED, DefectLog, finite_seconds, make_sample
from wsmr.io import numbered_lines


def read_durations(paths: list[str | Path]) -> dict[str, float | None]:
    """Video id -> duration in seconds, from Charades_v1-style CSVs; blank lengths map to None.

    A video listed twice must have one length: two lengths are an error naming both lines
    (keeping either would silently move or clip its moments). The same length twice, as when
    a train and a test CSV overlap, states one fact twice and is accepted.
    """
    durations: dict[str, float | None] = {}
    first_seen: dict[str, str] = {}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"id", "length"} - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
            for row_no, row in enumerate(reader, start=2):
                vid, length = row["id"], row["length"].strip()
                try:
                    duration = finite_seconds(length) if length else None
                except ValueError as err:
                    raise ValueError(f"{path}:{row_no}: length {length!r} is not a finite "
                                     f"number of seconds") from err
                if vid in durations and durations[vid] != duration:
                    raise ValueError(f"{path}:{row_no}: video {vid} lasts {describe(duration)}, "
                                     f"but {first_seen[vid]} says {describe(durations[vid])}")
                durations[vid] = duration
                first_seen.setdefault(vid, f"{path}:{row_no}")
    return durations


def describe(duration: float | None) -> str:
    return "an unknown time" if duration is None else f"{duration:g} s"


def parse_line(line: str) -> tuple[str, float, float, str]:
    """`vid start end##sentence` -> its fields; ValueError when the line is not in that form."""
    head, sep, sentence = line.partition("##")
    fields = head.split()
    if not sep or len(fields) != 3:
        raise ValueError("expected 'video start end##sentence'")
    vid, start, end = fields
    return vid, finite_seconds(start), finite_seconds(end), sentence


def read_annotations(path: str | Path, durations: dict[str, float | None],
                     defects: DefectLog) -> list[dict]:
    """Every query of one Charades-STA file as samples; qid is `file:line`."""
    path = Path(path)
    samples = []
    for line_no, line in numbered_lines(path):
        where = f"{path}:{line_no}"
        try:
            vid, start, end, sentence = parse_line(line.rstrip("\n"))
        except ValueError as err:
            defects.reject(MALFORMED, where, f"{err}: {line.strip()[:80]!r}")
            continue
        sample = make_sample(qid=f"{path.name}:{line_no}", vid=vid, duration=durations.get(vid),
                             start=start, end=end, sentence=sentence, where=where,
                             defects=defects)
        if sample is not None:
            samples.append(sample)
    return samples
