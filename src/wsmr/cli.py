"""`wsmr <stage> ...`: what each Snakemake rule calls. Every stage is a function in the library;
this module only parses arguments, opens the job's MLflow run and writes outputs."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

from wsmr import tracking
from wsmr.config import SPLITS
from wsmr.io import (
    atomic_path,
    read_json,
    read_jsonl,
    read_jsonl_numbered,
    write_json,
    write_jsonl,
    write_text,
)

log = logging.getLogger("wsmr")


def cmd_shapes(args) -> None:
    from wsmr.data.shapes import ShapesFiles, generate

    generator = json.loads(args.generator)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="shapes",
                          params=generator) as tracker:
        files = ShapesFiles(split_files(args.annotations), args.durations, args.tags,
                            args.events, args.videos)
        summary = generate(files, generator, args.dataset)
        tracker.log_metrics({"videos": summary["videos"], "events": summary["events"],
                             **{f"queries_{k}": v for k, v in summary["queries"].items()}})


def cmd_samples(args) -> None:
    from wsmr.data import DatasetFiles, read_dataset

    ds_cfg = json.loads(args.dataset_config)
    files = DatasetFiles(split_files(args.annotations), args.durations or [], args.tags)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="samples",
                          params=ds_cfg) as tracker:
        splits, report = read_dataset(args.dataset, ds_cfg, files)
        for split, path in by_split(args.out).items():
            write_jsonl(path, splits[split])
        write_json(args.report, report)
        tracker.log_metrics({**{f"queries_{k}": v for k, v in report["queries"].items()},
                             **{f"repaired_{k}": v for k, v in report["repaired"].items()},
                             **{f"skipped_{k}": v for k, v in report["skipped"].items()}})
        tracker.log_artifact(args.report)


def split_files(pairs: list[str]) -> dict[str, str]:
    """`--annotations train=FILE test=FILE ...` as {split: file}; a pair without a known split
    is an error naming it."""
    files = {}
    for pair in pairs:
        split, _, path = pair.partition("=")
        if split not in SPLITS or not path or split in files:
            raise ValueError(f"--annotations {pair!r}: want SPLIT=FILE, one per split, with "
                             f"SPLIT one of {list(SPLITS)}")
        files[split] = path
    return files


def cmd_text(args) -> None:
    from wsmr.text import build_text

    settings = json.loads(args.settings)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="text",
                          params=settings) as tracker:
        counts = build_text(by_split(args.splits), by_split(args.out), args.out_vocab,
                            args.out_embeddings, settings)
        write_json(args.report, counts)
        tracker.log_metrics(counts)
        tracker.log_artifact(args.report)


def cmd_fetch(args) -> None:
    from wsmr.download import fetch

    fetch(args.url, args.out, args.sha256)


def by_split(paths: list[Path]) -> dict[str, Path]:
    """`--splits` files by split: each is named {split}.jsonl, one for every split."""
    splits = {Path(path).stem: Path(path) for path in paths}
    if sorted(splits) != sorted(SPLITS) or len(paths) != len(SPLITS):
        raise ValueError(f"--splits wants one file for each of {list(SPLITS)}, named "
                         f"{{split}}.jsonl; got {[str(p) for p in paths]}")
    return splits


def annotated_videos(paths: list[Path]) -> dict[str, float]:
    """Every video of the samples, all splits, with its duration (seconds)."""
    return {row["vid"]: row["duration"] for path in by_split(paths).values()
            for row in read_jsonl(path)}


def cmd_extract(args) -> None:
    import torch

    from wsmr.training import pick_device
    from wsmr.video.c3d import build_c3d, choose_dtype
    from wsmr.video.extract import decode_workers, extract_shard, shard_videos

    settings = json.loads(args.settings)
    torch.set_num_threads(args.threads)
    vids = shard_videos(annotated_videos(args.splits), args.shard, args.shards)
    videos = [(vid, Path(args.videos) / settings["video_pattern"].format(vid=vid)) for vid in vids]
    device = pick_device()
    dtype = choose_dtype(device, settings["precision"])
    workers = decode_workers(device, args.threads)
    log.info("shard %d/%d: %d videos on %s, %s, %d threads, %d decoding, batch %d", args.shard,
             args.shards, len(videos), device, dtype, args.threads, workers, settings["batch_size"])
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="extract",
                          name=f"extract-shard{args.shard}", params=settings) as tracker:
        model, source = build_c3d(settings.get("weights"), settings["seed"],
                                  settings.get("c3d_width", 1))
        tracker.set_tags({**tracking.source_tags(source), "device": str(device),
                          "c3d_dtype": str(dtype).removeprefix("torch.")})
        report = extract_shard(model, source, videos, args.out, batch_size=settings["batch_size"],
                               device=device, dtype=dtype, decode_workers=workers,
                               skip_bad=settings["on_bad_video"] == "skip")
        tracker.log_metrics(report)


def log_features_report(tracker, report: dict, out: Path) -> None:
    """The features job's report: JSON beside the features, the log, MLflow."""
    write_json(out, report)
    if report["skipped"]:
        log.warning("%d videos SKIPPED, their queries leave prediction and evaluation: %s",
                    len(report["skipped"]), report["skipped"])
    tracker.log_metrics({"videos": report["videos"], "clips": report["clips"],
                         "skipped_videos": len(report["skipped"])})
    tracker.log_artifact(out)


def cmd_pca(args) -> None:
    from wsmr.features.pca import (
        Shards,
        fit_pca,
        plot_explained_variance,
        write_pca,
        write_pca_features,
    )

    with Shards(args.fc7) as shards:
        with tracking.job_run(args.tracking, dataset=args.dataset, stage="pca",
                              params={"pca_dim": args.dim},
                              tags=tracking.source_tags(shards.source)) as tracker:
            vids = annotated_videos(args.splits)
            shards.check_complete(vids)
            train = [r["vid"] for r in read_jsonl(by_split(args.splits)["train"])]
            pca = fit_pca(shards, train, args.dim)
            report = write_pca_features(shards, pca, list(vids), args.out)
            write_pca(pca, args.pca)   # what `wsmr ground` projects a new video's fc7 with
            plot_explained_variance(pca.explained_variance_ratio_, args.plot)
            tracker.log_artifact(args.plot)
            log_features_report(tracker, report, Path(args.report))


def cmd_import_features(args) -> None:
    from wsmr.features.pre_extracted import import_features

    settings = json.loads(args.settings)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="import_features",
                          params=settings) as tracker:
        report = import_features(settings["path"], settings.get("key"),
                                 annotated_videos(args.splits), settings["pca_dim"],
                                 args.out, skip_bad=settings["on_bad_video"] == "skip")
        tracker.set_tags(tracking.features_tags(args.out))
        log_features_report(tracker, report, Path(args.report))


def cmd_probe(args) -> None:
    from wsmr.features.probe import ATTRIBUTES, probe

    with tracking.job_run(args.tracking, dataset=args.dataset, stage="probe",
                          tags=tracking.features_tags(args.features)) as tracker:
        results = probe(args.features, args.events)
        write_json(args.out, results)
        tracker.log_metrics({f"{a}_{k}": results[a][k] for a in ATTRIBUTES
                             for k in ("accuracy", "chance", "event_accuracy", "event_chance",
                                       "train_accuracy")})
        tracker.log_artifact(args.out)


def cmd_nltk_data(args) -> None:
    from wsmr.text import download_nltk_data

    download_nltk_data(args.out_dir)


def method_job(args):
    import torch

    from wsmr.methods import load
    from wsmr.methods.base import Job, RunInputs

    torch.set_num_threads(args.threads)
    spec = json.loads(args.job)
    job = Job(dataset=spec["dataset"], method=spec["method"], variant=spec["variant"],
              settings=spec["settings"], seed=args.seed)
    inputs = RunInputs(samples=by_split(args.splits), features=args.features, vocab=args.vocab,
                       embeddings=args.embeddings,
                       skipped_videos=frozenset(skipped_videos(args.features)))
    return job, spec, load(job.method)(job), inputs


def skipped_videos(features: Path | None) -> dict[str, str]:
    """Videos the features job left out ({vid: reason}); none without a features file."""
    from wsmr.features import store

    return store.skipped_videos(features) if features else {}


def job_tracking(args, stage: str, job, spec):
    return tracking.job_run(args.tracking, dataset=job.dataset["name"], stage=stage,
                            method=job.method, variant=job.variant, seed=job.seed,
                            params={**spec, "seed": job.seed},
                            tags=tracking.features_tags(args.features))


TRAINED_FILES = ("checkpoint.pt", "history.csv")


def cmd_train(args) -> None:
    """Train, or with `--checkpoint-of` take another variant's trained model (its checkpoint
    and history) as this variant's: config.checkpoint_variant says when."""
    job, spec, method, inputs = method_job(args)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with job_tracking(args, "train", job, spec) as tracker:
        if args.checkpoint_of:
            for name in TRAINED_FILES:
                with atomic_path(run_dir / name) as tmp:
                    shutil.copyfile(Path(args.checkpoint_of) / name, tmp)
            tracker.set_tags({"checkpoint_of": str(args.checkpoint_of)})
        else:
            method.train(inputs, run_dir, tracker)
        tracker.log_artifact(run_dir / "history.csv")


def cmd_predict(args) -> None:
    """The split's top moments; with `--other-query`, the same method (loaded once) also
    predicts the control's queries: the same predict code on other words."""
    import dataclasses

    job, spec, method, inputs = method_job(args)
    with job_tracking(args, "predict", job, spec) as tracker:
        predictions = method.predict(inputs, Path(args.run_dir), args.split)
        write_jsonl(args.out, predictions)
        tracker.log_metrics({"queries": len(predictions)})
        if args.other_query:
            control = dataclasses.replace(inputs, samples={**inputs.samples,
                                                           args.split: Path(args.other_query)},
                                          _cache={})
            rewritten = method.predict(control, Path(args.run_dir), args.split)
            write_jsonl(args.other_query_out, rewritten)
            tracker.log_metrics({"other_query_queries": len(rewritten)})


def scored_samples(path: str | Path, skipped: dict[str, str]) -> tuple[list[dict], int]:
    """The queries to score, less those on videos the features job skipped; how many left."""
    from wsmr.features.store import without_skipped

    annotated = read_jsonl(path)
    samples = without_skipped(annotated, skipped, str(path))
    return samples, len(annotated) - len(samples)


def cmd_evaluate(args) -> None:
    spec = json.loads(args.job)
    dataset = spec["dataset"]
    with tracking.job_run(args.tracking, dataset=dataset["name"], stage="evaluate",
                          method=spec["method"], variant=spec["variant"], seed=args.seed,
                          params={**spec, "seed": args.seed},
                          tags=tracking.features_tags(args.features)) as tracker:
        skipped = skipped_videos(args.features)
        samples, dropped = scored_samples(args.samples, skipped)
        metrics = evaluate_predictions(args.predictions, samples, dataset["ious"])
        write_json(args.out, {**metrics, "queries": len(samples), "dropped_queries": dropped,
                              "run": run_identity(spec, args.seed)})
        tracker.log_metrics({**metrics, "dropped_queries": dropped})
        tracker.log_on_parent(metrics)   # the test metrics beside the run's other ablations
        tracker.log_artifact(args.out)
        log.info("%s/%s seed %d: %s", spec["method"], spec["variant"], args.seed,
                 ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()))
        if args.other_query_samples:
            control = evaluate_other_query(args, skipped, dataset["ious"])
            control_metrics = {f"other_query_{k}": v for k, v in control.items()
                               if isinstance(v, float)}
            tracker.log_metrics(control_metrics)
            tracker.log_on_parent(control_metrics)   # grounding, beside the run's R@1
            tracker.log_artifact(args.other_query_out)


def run_identity(spec: dict, seed: int) -> dict:
    """What a metrics file is of, written into it: the table groups by this, not by its path."""
    return {"method": spec["method"], "variant": spec["variant"], "seed": seed}


def evaluate_other_query(args, skipped: dict[str, str], ious) -> dict:
    """The control's R@n against the original ground truth, beside the original predictions
    scored on exactly the same queries (`reference`), so the drop compares like with like."""
    samples, dropped = scored_samples(args.other_query_samples, skipped)
    result = {**evaluate_predictions(args.other_query_predictions, samples, ious),
              "queries": len(samples), "dropped_queries": dropped,
              "reference": evaluate_on_same_queries(args.predictions, samples, ious)}
    run = run_identity(json.loads(args.job), args.seed)
    write_json(args.other_query_out, {**result, "run": run})
    return result


def evaluate_predictions(path: str | Path, samples: list[dict], ious) -> dict:
    """`evaluate_files` on a predictions file: a bad entry is an error naming its line."""
    from wsmr.evaluation import evaluate_files

    numbered = read_jsonl_numbered(path)
    return evaluate_files([row for _, row in numbered], samples, ious,
                          where=[f"{path}:{line_no}" for line_no, _ in numbered])


def evaluate_on_same_queries(predictions: str | Path, samples: list[dict], ious) -> dict:
    """Another predictions file scored on exactly these queries (a control's subset)."""
    from wsmr.evaluation import evaluate_files

    wanted = {s["qid"] for s in samples}
    return evaluate_files([p for p in read_jsonl(predictions) if p["qid"] in wanted], samples, ious)


def cmd_other_query(args) -> None:
    from wsmr.controls import other_query_samples

    with tracking.job_run(args.tracking, dataset=args.dataset, stage="other_query") as tracker:
        rewritten, report = other_query_samples(read_jsonl(args.samples))
        if not rewritten:
            raise ValueError(f"{args.samples}: no video has two moments, so no query can take "
                             f"another moment's words ({report})")
        if report["left_out_queries"]:
            log.warning("other-query control: %d queries on %d single-moment videos left out",
                        report["left_out_queries"], report["left_out_videos"])
        write_jsonl(args.out, rewritten)
        write_json(args.report, report)
        tracker.log_metrics(report)


def cmd_table(args) -> None:
    from wsmr import reporting

    runs, controls = metrics_by_row(args.metrics), metrics_by_row(args.control_metrics or [])
    ious = json.loads(args.ious)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="table",
                          params={"rows": [f"{m}/{v}" for m, v in runs], "ious": ious},
                          tags=tracking.features_tags(args.features)) as tracker:
        rows = reporting.build_rows(args.dataset, runs, ious, controls)
        notes = (args.note or []) + reporting.features_notes(args.features)
        write_text(args.out_csv, reporting.to_csv(rows, ious))
        write_text(args.out_md, reporting.to_markdown(args.dataset, rows, ious, notes))
        tracker.log_artifact(args.out_csv)
        tracker.log_artifact(args.out_md)


def cmd_doc_tables(args) -> None:
    from wsmr.doc_tables import update_files

    stale = update_files(args.files, Path(args.root), args.check)
    for where in stale:
        print(f"{where}: {'stale' if args.check else 'regenerated'}")
    if args.check and stale:
        raise SystemExit(f"{len(stale)} generated tables differ from the tables under "
                         f"{args.root}: run `make docs`")


def metrics_by_row(paths) -> dict[tuple[str, str], list[dict]]:
    """Metrics files grouped by the (method, variant) that `wsmr evaluate` wrote into them."""
    rows: dict[tuple[str, str], list[dict]] = {}
    for path in paths:
        metrics = read_json(path)
        if "run" not in metrics:
            raise ValueError(f"{path}: no 'run' (method, variant, seed): not written by "
                             "`wsmr evaluate`, or by one older than this table; re-run it")
        run = metrics.pop("run")
        rows.setdefault((run["method"], run["variant"]), []).append(metrics)
    return rows


def cmd_ground(args) -> None:
    from wsmr.grounding import GroundingError, ground, load_config

    try:
        base = ["config.yaml"] if Path("config.yaml").is_file() or not args.configfile else []
        config = load_config([*base, *(args.configfile or [])])
        result = ground(args.run, args.video, args.sentence, config, allow_unk=args.allow_unk,
                        gt=tuple(args.gt) if args.gt else None)
    except GroundingError as error:
        sys.exit(f"wsmr ground: {error}")
    summary = result.summary()
    if args.plot:
        from wsmr.figures import plot_timeline

        plot_timeline(result, args.plot)
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f'"{args.sentence}" in {args.video} ({summary["duration"]:.2f} s), {args.run}:')
    for row in summary["moments"]:
        iou = f"  IoU {row['iou']:.2f}" if "iou" in row else ""
        print(f"  #{row['rank']}  {row['start']:7.2f} - {row['end']:7.2f} s  "
              f"score {row['score']:.4f}{iou}")


def cmd_timelines(args) -> None:
    """The `ground` timeline of a few test queries of one test video, for the report."""
    from wsmr.figures import plot_timeline
    from wsmr.grounding import ground, stored_features

    config = json.loads(args.config)
    samples = sorted(read_jsonl(args.samples), key=lambda s: s["qid"])
    video = samples[0]["vid"]
    queries = [s for s in samples if s["vid"] == video]
    features = stored_features(args.features, video) if args.features else None
    # a figure each for evenly spaced queries (zip stops at the shorter of the two)
    step = max(1, len(queries) // len(args.out))
    for out, sample in zip(args.out, queries[::step], strict=False):
        result = ground(args.run, Path(args.videos) / args.video_pattern.format(vid=video),
                        sample["sentence"], config, gt=(sample["start"], sample["end"]),
                        features=features, allow_unk=True)
        plot_timeline(result, out)
        log.info("%s: %s", out, result.summary()["moments"][0])


def cmd_history_plot(args) -> None:
    from wsmr.figures import plot_history

    plot_history(args.history, args.out, args.title)


def cmd_probe_plot(args) -> None:
    from wsmr.figures import plot_probe

    plot_probe(read_json(args.probe), args.out)


# Flags that several stages take, declared once: `stage(...)` adds them by name.
FLAGS = {
    "dataset": {"required": True},
    "splits": {"nargs": "+", "required": True, "type": Path, "metavar": "SPLIT.jsonl",
               "help": "the samples of every split, each file named {split}.jsonl"},
    "samples": {"required": True, "help": "the test split's samples (JSONL)"},
    "settings": {"required": True, "help": "the stage's settings (JSON)"},
    "videos": {"required": True, "help": "the folder holding the videos"},
    "features": {"type": Path, "help": "the dataset's features (HDF5)"},
    "job": {"required": True, "help": "resolved job settings (JSON), from the rule"},
    "seed": {"type": int, "required": True},
    "run-dir": {"required": True},
    "vocab": {"type": Path},
    "embeddings": {"type": Path},
    "threads": {"type": int, "default": 1, "help": "CPU threads for torch"},
    "other-query-out": {"help": "where the control's predictions or metrics go"},
    "out": {"required": True},
    "out-dir": {"required": True},
    "report": {"required": True, "help": "the stage's counts (JSON)"},
}
METHOD_FLAGS = ("job", "seed", "splits", "run-dir", "features", "vocab", "embeddings",
                "threads")


def stage(stages, name: str, func, help: str, *flags: str, **overrides: dict):
    """A stage's subparser with the shared `flags` it takes (`overrides`, by flag name with
    `_` for `-`, changes one flag's keywords); the stage's own flags are added after."""
    parser = stages.add_parser(name, help=help)
    for flag in flags:
        parser.add_argument(f"--{flag}", **{**FLAGS[flag],
                                            **overrides.get(flag.replace("-", "_"), {})})
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsmr", description=__doc__)
    parser.add_argument("--tracking", default="off",
                        help="MLflow tracking URI, or 'off' (default: off)")
    parser.add_argument("-v", "--verbose", action="store_true")
    stages = parser.add_subparsers(dest="stage", required=True)

    p = stage(stages, "shapes", cmd_shapes, "render the shapes dataset", "dataset", "videos",
              dataset={"required": False, "default": "shapes"},
              videos={"type": Path, "help": "the folder the videos go to"})
    p.add_argument("--generator", required=True, help="generator settings (JSON)")
    p.add_argument("--annotations", nargs="+", required=True, metavar="SPLIT=FILE",
                   help="each split's annotation file (Charades-STA format)")
    p.add_argument("--durations", required=True, type=Path, help="the durations CSV")
    p.add_argument("--tags", required=True, type=Path, help="the sentences' tags (JSON)")
    p.add_argument("--events", required=True, type=Path, help="the event records (JSONL)")

    p = stage(stages, "samples", cmd_samples, "read annotation files into the samples contract",
              "dataset", "report")
    p.add_argument("--dataset-config", required=True, help="the reader's settings (JSON)")
    p.add_argument("--annotations", nargs="+", required=True, metavar="SPLIT=FILE",
                   help="each split's annotation file (without val: held out of train)")
    p.add_argument("--durations", nargs="*", help="video durations (Charades-STA's CSV files)")
    p.add_argument("--tags", help="part-of-speech tags that come with the sentences (JSON)")
    p.add_argument("--out", nargs="+", required=True, type=Path, metavar="SPLIT.jsonl",
                   help="the samples of every split, each file named {split}.jsonl")

    p = stage(stages, "text", cmd_text, "tokens, tags, vocabulary and embeddings", "dataset",
              "settings", "splits", "report")
    p.add_argument("--out", nargs="+", required=True, type=Path, metavar="SPLIT.jsonl",
                   help="the tokenised samples of every split, each file named {split}.jsonl")
    p.add_argument("--out-vocab", required=True, type=Path, help="the vocabulary (JSON)")
    p.add_argument("--out-embeddings", required=True, type=Path,
                   help="the embeddings, rows aligned with the vocabulary's ids (.npy)")

    p = stage(stages, "fetch", cmd_fetch, "download a URL to a file (a .zip is unpacked)", "out")
    p.add_argument("--url", required=True)
    p.add_argument("--sha256", help="expected checksum of the file; a mismatch is an error")

    p = stage(stages, "extract", cmd_extract, "C3D fc7 of one shard of a dataset's videos",
              "dataset", "settings", "splits", "videos", "threads", "out")
    p.add_argument("--shard", type=int, required=True)
    p.add_argument("--shards", type=int, required=True)

    p = stage(stages, "pca", cmd_pca, "PCA of fc7 (fit on train) into the features contract",
              "dataset", "splits", "out", "report")
    p.add_argument("--fc7", nargs="+", required=True, help="the fc7 shards")
    p.add_argument("--dim", type=int, required=True)
    p.add_argument("--plot", required=True, help="explained variance (PNG)")
    p.add_argument("--pca", required=True, help="the fitted PCA (HDF5: data/x_mean, data/U)")

    stage(stages, "import-features", cmd_import_features, "pre-extracted features into the "
          "contract", "dataset", "settings", "splits", "out", "report")

    p = stage(stages, "probe", cmd_probe, "linear probes of what a generated dataset's "
              "features carry", "dataset", "features", "out", features={"required": True})
    p.add_argument("--events", required=True, help="the generator's event records (JSONL)")

    stage(stages, "nltk-data", cmd_nltk_data, "download NLTK's POS tagger data (online)",
          "out-dir")

    p = stage(stages, "train", cmd_train, "train one method/variant/seed", *METHOD_FLAGS)
    p.add_argument("--checkpoint-of", type=Path, metavar="RUN_DIR",
                   help="train nothing: this variant predicts with that run's model")

    p = stage(stages, "predict", cmd_predict, "top moments per query of a split", *METHOD_FLAGS,
              "other-query-out", "out")
    p.add_argument("--split", default="test", choices=["val", "test"])
    p.add_argument("--other-query", help="the other-query control's queries: predicted too")

    p = stage(stages, "evaluate", cmd_evaluate, "R@n IoU=m and mIoU of predictions", "job",
              "seed", "samples", "features", "other-query-out", "out",
              features={"help": "drop queries on videos it lists as skipped"})
    p.add_argument("--predictions", required=True)
    p.add_argument("--other-query-samples", help="the other-query control's queries")
    p.add_argument("--other-query-predictions", help="the method's predictions for them")

    stage(stages, "other-query", cmd_other_query, "test queries given another moment's words",
          "dataset", "samples", "out", "report",
          samples={"help": "the test split's samples (with tokens)"})

    p = stage(stages, "table", cmd_table, "a dataset's table from its runs' metrics", "dataset",
              "features", features={"help": "adds a footnote on the features' source"})
    p.add_argument("--ious", required=True, help="JSON list")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--control-metrics", nargs="*", help="the runs' other-query control metrics")
    p.add_argument("--note", action="append", help="a footnote for the Markdown table")
    p.add_argument("--out-csv", required=True)
    p.add_argument("--out-md", required=True)

    p = stage(stages, "doc-tables", cmd_doc_tables, "regenerate the tables of markdown files "
              "from results/tables (wsmr.doc_tables)")
    p.add_argument("files", nargs="+", type=Path, help="markdown files")
    p.add_argument("--root", default=".", help="where the tables' paths start (default: .)")
    p.add_argument("--check", action="store_true",
                   help="rewrite nothing; fail when a generated table differs")

    p = stage(stages, "ground", cmd_ground, "the top moments of a sentence in any video, by a run")
    p.add_argument("--run", required=True, help="results/{dataset}/runs/{method}/{variant}/seed{n}")
    p.add_argument("video", help="a video file (any format PyAV decodes)")
    p.add_argument("sentence")
    p.add_argument("--configfile", action="append",
                   help="merged over ./config.yaml (when there is one), as for snakemake "
                        "(repeatable)")
    p.add_argument("--gt", nargs=2, type=float, metavar=("START", "END"),
                   help="the ground truth in seconds: IoUs, and drawn on the plot")
    p.add_argument("--plot", help="draw the timeline to this PNG")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--allow-unk", action="store_true",
                   help="read words outside the vocabulary as <unk> instead of stopping")

    p = stage(stages, "timelines", cmd_timelines, "`ground` timelines of test queries (the "
              "report's)", "samples", "videos", "features",
              features={"help": "the dataset's features, instead of C3D again"})
    p.add_argument("--run", required=True)
    p.add_argument("--config", required=True, help="the workflow's config (JSON)")
    p.add_argument("--video-pattern", default="{vid}.mp4")
    p.add_argument("--out", nargs="+", required=True, help="one PNG per query")

    p = stage(stages, "history-plot", cmd_history_plot, "a run's training curves from its "
              "history.csv", "out")
    p.add_argument("--history", required=True)
    p.add_argument("--title", required=True)

    p = stage(stages, "probe-plot", cmd_probe_plot, "the features probe's accuracies against "
              "chance", "out")
    p.add_argument("--probe", required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    args.func(args)


if __name__ == "__main__":
    main()
