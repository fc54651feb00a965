"""Small file helpers shared by every stage: atomic writes and JSON Lines."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    A reader never sees a half-written file, and a crashed job leaves no output that
    Snakemake (or a person) could mistake for a finished one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are for everyone to read
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj) -> None:
    """NaN and infinity are refused, as in `write_jsonl`: an error naming the file."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False)
    except ValueError:
        raise ValueError(f"{path}: holds a number that is not finite (NaN or infinity): "
                         f"{str(obj)[:200]}") from None
    write_text(path, text + "\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    """One JSON object a line. NaN and infinity are refused (json would write `NaN`, which is
    not JSON and compares false with everything downstream): an error naming the record."""
    lines = []
    for record_no, row in enumerate(rows, start=1):
        try:
            lines.append(json.dumps(row, sort_keys=True, allow_nan=False) + "\n")
        except ValueError:
            raise ValueError(f"{path}: record {record_no} (qid {row.get('qid')}) holds a number "
                             f"that is not finite (NaN or infinity): {str(row)[:200]}") from None
    write_text(path, "".join(lines))


def read_json(path: str | os.PathLike):
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: not valid JSON ({err.msg})") from err


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read one JSON object per line; a bad line is an error naming the file and line."""
    return [row for _, row in read_jsonl_numbered(path)]


def read_jsonl_numbered(path: str | os.PathLike) -> list[tuple[int, dict]]:
    """`read_jsonl` with each object's line number (blank lines are skipped, not counted out),
    for errors that name the line of a record."""
    rows = []
    for line_no, line in numbered_lines(path):
        try:
            rows.append((line_no, json.loads(line)))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{line_no}: not valid JSON ({err.msg})") from err
    return rows


def numbered_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a text file with their line numbers (from 1), for errors that
    name the line."""
    with Path(path).open(encoding="utf-8") as lines:
        for line_no, line in enumerate(lines, start=1):
            if line.strip():
                yield line_no, line


def write_history(path: str | os.PathLike, rows: list[dict]) -> None:
    """One row per epoch, atomically: a run's `history.csv`."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
