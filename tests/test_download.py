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
