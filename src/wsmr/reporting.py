"""The tables: one row per method/variant, mean ± std over seeds, the papers' rows beside ours."""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

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


def control_columns(ious: list[float]) -> list[tuple[str, str]]:
    """The other-query control's columns: R@1 at each IoU with another moment's words, and its
    drop from the same queries with their own words."""
    recalls = [(metric_name(1, m), f"R@1 IoU={m:g}") for m in ious]
    return ([(f"other_query {k}", f"{label} other query") for k, label in recalls]
            + [(f"drop {k}", f"{label} drop") for k, label in recalls])


def control_values(run: dict) -> dict:
    """One seed's control metrics file as the table's control keys."""
    values = {}
    for key, value in run.items():
        if key.startswith("R1_"):
            values[f"other_query {key}"] = value
            values[f"drop {key}"] = run["reference"][key] - value
    return values


def build_rows(dataset: str, ours: dict[tuple[str, str], list[dict]], ious: list[float],
               controls: dict[tuple[str, str], list[dict]] | None = None) -> list[dict]:
    """Our rows (with the other-query control where a run has one), then the papers' rows."""
    columns = metric_columns(ious)
    rows = [summarise(m, v, runs, columns) for (m, v), runs in ours.items()]
    for row in rows:
        runs = (controls or {}).get((row["method"], row["variant"]))
        if runs:
            row.update(summarise(row["method"], row["variant"], [control_values(r) for r in runs],
                                 control_columns(ious)))
    for reported in reported_rows(dataset):
        rows.append({**{k: reported.get(k) for k, _ in columns},
                     "method": reported["method"], "variant": reported["variant"],
                     "source": f"reported ({reported['source']})", "seeds": None})
    return rows


def to_csv(rows: list[dict], ious: list[float]) -> str:
    """Machine-readable: a mean column and a std column per metric (blank where a row has no
    such measure, e.g. the other-query control of a blind row)."""
    columns = [("method", "method"), ("variant", "variant"), ("source", "source"),
               ("seeds", "seeds")]
    for key, label in metric_columns(ious) + control_columns(ious):
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
             "| method | variant | source | seeds | "
             + " | ".join(label for _, label in columns) + " |",
             "|---|---|---|---|" + "---|" * len(columns)]
    for row in rows:
        cells = [cell_text(row.get(key), row.get(f"{key} std")) for key, _ in columns]
        seeds = "" if row["seeds"] is None else str(row["seeds"])
        lines.append(f"| {row['method']} | {row['variant']} | {row['source']} | {seeds} | "
                     + " | ".join(cells) + " |")
    lines += control_markdown(rows, ious)
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def control_markdown(rows: list[dict], ious: list[float]) -> list[str]:
    """The other-query control as a second table: R@1 with another moment's words, the drop,
    and the share of the row's R@1 margin over Random that the drop takes away (a row that
    grounds the query loses most of it; one that finds *an* event keeps it)."""
    controlled = [r for r in rows if r.get(f"other_query {metric_name(1, ious[0])}") is not None]
    if not controlled:
        return []
    random = next((r for r in rows if r["method"] == "random" and r["source"] == "ours"), None)
    labels = [f"R@1 IoU={m:g}" for m in ious]
    lines = ["", "Other-query control: each test query carries the words of another moment of "
             "its video; ground truth unchanged.", "",
             "| method | variant | "
             + " | ".join(f"{label} other query | {label} drop" for label in labels)
             + " | margin over Random lost |",
             "|---|---|" + "---|---|" * len(labels) + "---|"]
    for row in controlled:
        cells = []
        for m in ious:
            key = metric_name(1, m)
            cells += [cell_text(row[f"other_query {key}"], row[f"other_query {key} std"]),
                      cell_text(row[f"drop {key}"], row[f"drop {key} std"])]
        lines.append(f"| {row['method']} | {row['variant']} | " + " | ".join(cells)
                     + f" | {margin_lost(row, random, ious)} |")
    return lines


def margin_lost(row: dict, random: dict | None, ious: list[float]) -> str:
    """Drop / (row − Random) at the middle IoU, in percent; blank without a margin. A margin
    within Random's spread over seeds is said to be so: a share of it would be a share of noise."""
    iou = ious[len(ious) // 2]
    key = metric_name(1, iou)
    if random is None or row[key] <= random[key]:
        return ""
    if row[key] <= random[key] + (random.get(f"{key} std") or 0.0):
        return "within Random's spread"
    return f"{100 * row[f'drop {key}'] / (row[key] - random[key]):.0f}% at IoU={iou:g}"


def cell_text(mean: float | None, std: float | None) -> str:
    if mean is None:
        return ""
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def features_notes(features: Path | None) -> list[str]:
    """A footnote when the table's learned rows stand on seeded-init C3D, or lost videos."""
    from wsmr.features.store import skipped_videos, source
    from wsmr.video.c3d import is_seeded_init

    if features is None:
        return []
    notes, features_source, lost = [], source(features), skipped_videos(features)
    if is_seeded_init(features_source):
        notes.append(f"**video features from a seeded random C3D ({features_source}), not "
                     "Sports-1M weights**: numbers are not comparable with the papers'")
    if lost:
        notes.append(f"{len(lost)} videos skipped by the features job (on_bad_video: skip); "
                     "their queries are left out of feature-based rows")
    return notes
