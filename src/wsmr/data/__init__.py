"""Annotation readers into the samples contract, and the `shapes` generator."""

from __future__ import annotations

from dataclasses import dataclass

from wsmr import config as cfg
from wsmr.data import activitynet_captions, charades_sta
from wsmr.data.samples import DefectLog, hold_out_videos, log_defects
from wsmr.defaults import dataset_value
from wsmr.io import read_json

VAL_SPLIT_SEED = 0  # fixed: the validation slice must not move between runs or methods


@dataclass(frozen=True)
class DatasetFiles:
    """What a reader reads: split -> annotation file, the durations files, the tags file."""

    annotations: dict[str, str]
    durations: list[str]
    tags: str | None = None

    @classmethod
    def configured(cls, ds_cfg: dict) -> DatasetFiles:
        """Where a real dataset's config puts them; the workflow hands its rule's inputs
        instead."""
        files = cfg.configured_files(ds_cfg)
        return cls(files["annotations"], files["durations"], files["tags"])


def read_dataset(dataset: str, ds_cfg: dict,
                 files: DatasetFiles | None = None) -> tuple[dict[str, list[dict]], dict]:
    """Read a dataset's annotation files into train/val/test samples, with a defect report."""
    files = files or DatasetFiles.configured(ds_cfg)
    defects = DefectLog(skip_unrepairable=dataset_value(ds_cfg, "on_unrepairable") == "skip")
    if ds_cfg["format"] == "charades_sta":
        durations = charades_sta.read_durations(files.durations)
        splits = {split: charades_sta.read_annotations(path, durations, defects)
                  for split, path in files.annotations.items()}
    else:
        splits = {split: activitynet_captions.read_annotations(path, defects)
                  for split, path in files.annotations.items()}
    if "val" not in splits:
        splits["train"], splits["val"] = hold_out_videos(
            splits["train"], dataset_value(ds_cfg, "val_fraction"), VAL_SPLIT_SEED)
    if files.tags:
        attach_tags(splits, read_json(files.tags))
    log_defects(dataset, defects)
    report = {"queries": {split: len(rows) for split, rows in splits.items()},
              "videos": {split: len({r["vid"] for r in rows}) for split, rows in splits.items()},
              **defects.summary()}
    check_no_split_empty(dataset, report)
    return splits, report


def check_no_split_empty(dataset: str, report: dict) -> None:
    """An empty split is an error here, with the counts: later stages would fail far from the
    cause (the text stage finds "no tokens"), e.g. when the validation hold-out took the only
    training video or every line of a file was skipped."""
    empty = [split for split in cfg.SPLITS if not report["queries"].get(split)]
    if empty:
        raise ValueError(
            f"{dataset}: split {empty[0]!r} is empty (queries {per_split(report['queries'])}; "
            f"videos {per_split(report['videos'])}; {sum(report['skipped'].values())} skipped "
            "as unrepairable); every split needs queries, and a validation split held out of "
            "training takes whole videos from it")


def per_split(counts: dict[str, int]) -> str:
    return ", ".join(f"{split} {counts.get(split, 0)}" for split in cfg.SPLITS)


def attach_tags(splits: dict[str, list[dict]], tagged: dict[str, dict]) -> None:
    """Give each sample the tokens and part-of-speech tags its annotations came with."""
    for rows in splits.values():
        for sample in rows:
            entry = tagged.get(sample["sentence"])
            if entry is None:
                raise KeyError(f"no part-of-speech tags for sentence {sample['sentence']!r} "
                               f"({sample['qid']})")
            sample["tokens"], sample["tags"] = entry["tokens"], entry["tags"]
