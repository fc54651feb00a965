"""Fetching what the pipeline cannot ship: GloVe vectors, NLTK data (when online)."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from wsmr.io import atomic_path

log = logging.getLogger("wsmr.download")

CHUNK = 1 << 20


def fetch(url: str, out: str | Path, sha256: str | None = None) -> Path:
    """Stream `url` to `out`, atomically. A .zip is unpacked: `out` gets its member of the
    same name (e.g. glove.840B.300d.txt from glove.840B.300d.zip), or its only member.
    With `sha256`, a download whose checksum differs is an error and `out` is not written."""
    out = Path(out)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        downloaded = Path(tmp) / Path(url).name
        with urllib.request.urlopen(url) as response, downloaded.open("wb") as handle:
            shutil.copyfileobj(response, handle, CHUNK)
        log.info("downloaded %s (%.1f MiB)", url, downloaded.stat().st_size / CHUNK)
        if sha256:
            check_sha256(downloaded, sha256, url)
        with atomic_path(out) as target:
            if zipfile.is_zipfile(downloaded):
                extract_member(downloaded, out.name, target)
            else:
                shutil.move(downloaded, target)
    return out


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: str | Path, expected: str, what: str) -> None:
    """A checksum mismatch is an error naming `what` (the URL or file) and both sums."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise ValueError(f"{what}: sha256 {actual} differs from the expected {expected}")


def extract_member(archive: Path, name: str, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.namelist() if not m.endswith("/")]
        chosen = name if name in members else (members[0] if len(members) == 1 else None)
        if chosen is None:
            raise ValueError(f"{archive.name}: no member named {name} among {members[:10]}")
        with zf.open(chosen) as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, CHUNK)
