"""The tables: one row per method/variant, mean ± std over seeds, the papers' rows beside ours."""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np
import yaml

from wsmr.evaluation import metric_name

RECALL_AT = (1, 5)


def reported_rows(dataset: str) -> list[dict]:
    """The papers' published rows for a dataset (none for `shapes`)."""
    text = resources.files("wsmr").joinpath("reported_results.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text).get(dataset, [])


def metric_columns(ious: list[float]) -> list[tuple[str, str]]:
    """(metric key, column label) in the papers' order: R@1 at each IoU, R@5 at each, mIoU."""
    columns = [(metric_name(n, m), f"R@{n} IoU={m:g}") for n in RECALL_AT for m in ious]
    return columns + [("mIoU", "mIoU")]


def summarise(method: str, variant: str, runs: list[dict], columns) -> dict:
    """Mean and (population) std over the seeds' metrics of one method/variant."""
    row = {"method": method, "variant": variant, "source": "ours", "seeds": len(runs)}
    for key, _ in columns:
        values = np.array([run[key] for run in runs], dtype=np.float64)
        row[key], row[f"{key} std"] = float(values.mean()), float(values.std())
    return row


def build_rows(dataset: str, ours: dict[tuple[str, str], list[dict]], ious: list[float]) -> list[dict]:
    columns = metric_columns(ious)
    rows = [summarise(m, v, runs, columns) for (m, v), runs in ours.items()]
    for reported in reported_rows(dataset):
        rows.append({**{k: reported.get(k) for k, _ in columns},
                     "method": reported["method"], "variant": reported["variant"],
                     "source": f"reported ({reported['source']})", "seeds": None})
    return rows


def to_csv(rows: list[dict], ious: list[float]) -> str:
    """Machine-readable: a mean column and a std column per metric."""
    columns = [("method", "method"), ("variant", "variant"), ("source", "source"),
               ("seeds", "seeds")]
    for key, label in metric_columns(ious):
        columns += [(key, label), (f"{key} std", f"{label} std")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([label for _, label in columns])
    for row in rows:
        cells = (row.get(key) for key, _ in columns)
        writer.writerow(["" if c is None else (f"{c:.2f}" if isinstance(c, float) else c)
                         for c in cells])
    return buffer.getvalue()


def to_markdown(dataset: str, rows: list[dict], ious: list[float], notes: list[str]) -> str:
    columns = metric_columns(ious)
    lines = [f"# {dataset}", "",
             "| method | variant | source | seeds | " + " | ".join(l for _, l in columns) + " |",
             "|---|---|---|---|" + "---|" * len(columns)]
    for row in rows:
        cells = [cell_text(row.get(key), row.get(f"{key} std")) for key, _ in columns]
        seeds = "" if row["seeds"] is None else str(row["seeds"])
        lines.append(f"| {row['method']} | {row['variant']} | {row['source']} | {seeds} | "
                     + " | ".join(cells) + " |")
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def cell_text(mean: float | None, std: float | None) -> str:
    if mean is None:
        return ""
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"
