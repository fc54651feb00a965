"""Memory and time of reading a vocabulary's rows out of a GloVe text file, against file size.

Writes generated GloVe files (a tenth of --lines, then --lines rows) to a temporary folder,
reads the same vocabulary out of each in a fresh process, and prints the peak RSS that the
read added, the peak of Python allocations (tracemalloc, a separate pass) and the read speed.
If reading streams, the memory columns stay flat while the file grows ten-fold.

    PYTHONPATH=src python benchmarks/glove_memory.py [--lines 500000] [--dim 300] [--vocab 8000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def write_glove(path: Path, lines: int, dim: int, vocab_size: int) -> list[str]:
    """A GloVe-format file with `vocab_size` vocabulary words spread evenly among fillers."""
    vector = " ".join(f"{x:.5f}" for x in np.linspace(-1.0, 1.0, dim))
    every = max(lines // vocab_size, 1)
    vocab = []
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            word = f"vocab{i}" if i % every == 0 and len(vocab) < vocab_size else f"filler{i}"
            if word.startswith("vocab"):
                vocab.append(word)
            out.write(f"{word} {vector}\n")
    return vocab


def measure(path: Path, vocab: list[str], dim: int) -> dict:
    """In this (fresh) process: RSS the read added, its time, then its tracemalloc peak."""
    from wsmr.text.embeddings import read_glove_file

    wanted = [*vocab, "never-in-the-file"]  # one absent word: the whole file is read
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    found, _ = read_glove_file(path, wanted, dim)
    seconds = time.perf_counter() - started
    rss_added = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    del found
    tracemalloc.start()
    read_glove_file(path, wanted, dim)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": seconds, "rss_added_mib": rss_added / 1024,
            "traced_peak_mib": traced_peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=500_000, help="rows of the larger file")
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--vocab", type=int, default=8000, help="vocabulary words to look up")
    parser.add_argument("--measure", nargs=2, metavar=("GLOVE", "VOCAB_JSON"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the child process: one measurement, as JSON on stdout
        glove, vocab = Path(args.measure[0]), json.loads(Path(args.measure[1]).read_text())
        print(json.dumps(measure(glove, vocab, args.dim)))
        return

    print(f"{'lines':>9} {'file MiB':>9} {'read s':>7} {'MiB/s':>6} {'peak RSS added MiB':>19} "
          f"{'tracemalloc peak MiB':>21}")
    with tempfile.TemporaryDirectory() as tmp:
        for lines in (args.lines // 10, args.lines):
            glove, vocab_json = Path(tmp) / f"glove{lines}.txt", Path(tmp) / "vocab.json"
            vocab_json.write_text(json.dumps(write_glove(glove, lines, args.dim, args.vocab)))
            child = [sys.executable, __file__, "--dim", str(args.dim), "--measure", str(glove),
                     str(vocab_json)]
            result = json.loads(subprocess.run(child, check=True, capture_output=True,
                                               text=True).stdout)
            size_mib = glove.stat().st_size / 2**20
            print(f"{lines:>9} {size_mib:>9.0f} {result['seconds']:>7.1f} "
                  f"{size_mib / result['seconds']:>6.0f} "
                  f"{result['rss_added_mib']:>19.1f} {result['traced_peak_mib']:>21.1f}")
            glove.unlink()


if __name__ == "__main__":
    main()
