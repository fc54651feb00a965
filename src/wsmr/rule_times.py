"""The heavy rules' own measurements: Snakemake's `benchmark:` files of extraction, PCA and
training (wall seconds, peak memory, CPU time), summed per rule as a Markdown table.

    python benchmarks/rule_times.py                 # every dataset under results/
    python benchmarks/rule_times.py --dataset shapes

`make docs` writes the same table into docs/performance.md (wsmr.doc_tables).

Each row is a rule (train split by method/variant): its jobs, their total and longest wall time,
and the largest peak memory (max RSS). The figures are of the machine that ran the DAG, with
whatever else it was running; docs/performance.md says which runs they come from.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path


def read_benchmark(path: Path) -> dict[str, float]:
    """The last repeat of a Snakemake benchmark file: `s` (wall seconds), `max_rss` (MB), ..."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if not rows:
        raise ValueError(f"{path}: an empty benchmark file")
    return {key: float(value) for key, value in rows[-1].items() if value not in ("", "NA")
            and key in ("s", "max_rss", "cpu_time")}


def rule_of(path: Path, root: Path) -> str:
    """`extract`, `pca`, or `train scn/full` from the file's place under benchmarks/."""
    parts = path.relative_to(root).parts
    if parts[0] == "train":
        return f"train {parts[1]}/{parts[2]}"
    return "extract" if parts[0].startswith("extract_shard") else path.stem


def summary(results: Path, dataset: str | None) -> list[dict]:
    rows: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for root in sorted(results.glob(f"{dataset or '*'}/benchmarks")):
        for path in sorted(root.rglob("*.tsv")):
            rows[(root.parent.name, rule_of(path, root))].append(read_benchmark(path))
    return [{"dataset": ds, "rule": rule, "jobs": len(jobs),
             "total_s": sum(j["s"] for j in jobs), "longest_s": max(j["s"] for j in jobs),
             "max_rss_mb": max(j.get("max_rss", float("nan")) for j in jobs)}
            for (ds, rule), jobs in rows.items()]


def to_markdown(rows: list[dict]) -> str:
    lines = ["| dataset | rule | jobs | total wall s | longest s | max RSS MB |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['dataset']} | {r['rule']} | {r['jobs']} | {r['total_s']:.0f} | "
              f"{r['longest_s']:.0f} | {r['max_rss_mb']:.0f} |" for r in rows]
    return "\n".join(lines)
