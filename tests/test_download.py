"""Fetching a file (a zip is unpacked), tried on file:// URLs since nothing else is reachable."""

import zipfile

from wsmr.download import fetch


def test_fetch_plain_file(tmp_path):
    source = tmp_path / "vectors.txt"
    source.write_text("the 0.1 0.2\n")
    out = fetch(source.as_uri(), tmp_path / "out" / "glove.txt")
    assert out.read_text() == "the 0.1 0.2\n"


def test_fetch_unpacks_the_member_named_like_the_output(tmp_path):
    archive = tmp_path / "glove.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("README", "not this")
        zf.writestr("glove.840B.300d.txt", "word 1.0 2.0\n")
    out = fetch(archive.as_uri(), tmp_path / "glove.840B.300d.txt")
    assert out.read_text() == "word 1.0 2.0\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["glove.840B.300d.txt", "glove.zip"]


def test_fetch_checks_the_sha256_before_writing(tmp_path):
    import hashlib

    import pytest

    source = tmp_path / "c3d.pickle"
    source.write_bytes(b"weights")
    good = hashlib.sha256(b"weights").hexdigest()
    assert fetch(source.as_uri(), tmp_path / "ok" / "c3d.pickle", good).read_bytes() == b"weights"
    with pytest.raises(ValueError, match="sha256 .* differs from the expected 000"):
        fetch(source.as_uri(), tmp_path / "bad" / "c3d.pickle", "0" * 64)
    assert not (tmp_path / "bad" / "c3d.pickle").exists()
