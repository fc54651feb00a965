"""`wsmr <stage> ...`: what each Snakemake rule calls. Every stage is a function in the library;
this module only parses arguments, opens the job's MLflow run and writes outputs."""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

from wsmr import tracking
from wsmr.config import SPLITS
from wsmr.io import read_json, read_jsonl, write_json, write_jsonl, write_text

log = logging.getLogger("wsmr")

RUN_DIR = re.compile(r"runs/(?P<method>[^/]+)/(?P<variant>[^/]+)/seed(?P<seed>\d+)/")


def cmd_shapes(args) -> None:
    from wsmr.data.shapes import generate

    generator = json.loads(args.generator)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="shapes",
                          params=generator) as tracker:
        summary = generate(args.out_dir, generator, args.dataset)
        tracker.log_metrics({"videos": summary["videos"], "events": summary["events"],
                             **{f"queries_{k}": v for k, v in summary["queries"].items()}})


def cmd_samples(args) -> None:
    from wsmr.data import read_dataset

    ds_cfg = json.loads(args.dataset_config)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="samples",
                          params=ds_cfg) as tracker:
        splits, report = read_dataset(args.dataset, ds_cfg)
        out_dir = Path(args.out_dir)
        for split, rows in splits.items():
            write_jsonl(out_dir / f"{split}.jsonl", rows)
        write_json(out_dir / "report.json", report)
        tracker.log_metrics({**{f"queries_{k}": v for k, v in report["queries"].items()},
                             **{f"repaired_{k}": v for k, v in report["repaired"].items()},
                             **{f"skipped_{k}": v for k, v in report["skipped"].items()}})
        tracker.log_artifact(out_dir / "report.json")


def cmd_text(args) -> None:
    from wsmr.text import build_text

    settings = json.loads(args.settings)
    samples_dir, out_dir = Path(args.samples_dir), Path(args.out_dir)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="text",
                          params=settings) as tracker:
        counts = build_text({s: samples_dir / f"{s}.jsonl" for s in SPLITS},
                            {s: out_dir / f"{s}.jsonl" for s in SPLITS},
                            out_dir / "vocab.json", out_dir / "embeddings.npy", settings)
        write_json(out_dir / "report.json", counts)
        tracker.log_metrics(counts)
        tracker.log_artifact(out_dir / "report.json")


def cmd_fetch(args) -> None:
    from wsmr.download import fetch

    fetch(args.url, args.out)


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
    samples = {split: Path(args.samples_dir) / f"{split}.jsonl" for split in SPLITS}
    inputs = RunInputs(samples=samples, features=args.features, vocab=args.vocab,
                       embeddings=args.embeddings)
    return job, spec, load(job.method)(job), inputs


def job_tracking(args, stage: str, job, spec):
    return tracking.job_run(args.tracking, dataset=job.dataset["name"], stage=stage,
                            method=job.method, variant=job.variant, seed=job.seed,
                            params={**spec, "seed": job.seed})


def cmd_train(args) -> None:
    job, spec, method, inputs = method_job(args)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with job_tracking(args, "train", job, spec) as tracker:
        method.train(inputs, run_dir, tracker)
        tracker.log_artifact(run_dir / "history.csv")


def cmd_predict(args) -> None:
    job, spec, method, inputs = method_job(args)
    with job_tracking(args, "predict", job, spec) as tracker:
        predictions = method.predict(inputs, Path(args.run_dir), args.split)
        write_jsonl(args.out, predictions)
        tracker.log_metrics({"queries": len(predictions)})


def cmd_evaluate(args) -> None:
    from wsmr.evaluation import evaluate_files

    spec = json.loads(args.job)
    dataset = spec["dataset"]
    with tracking.job_run(args.tracking, dataset=dataset["name"], stage="evaluate",
                          method=spec["method"], variant=spec["variant"], seed=args.seed,
                          params={**spec, "seed": args.seed}) as tracker:
        samples = read_jsonl(args.samples)
        metrics = evaluate_files(read_jsonl(args.predictions), samples, dataset["ious"])
        write_json(args.out, {**metrics, "queries": len(samples)})
        tracker.log_metrics(metrics)
        tracker.log_artifact(args.out)
        log.info("%s/%s seed %d: %s", spec["method"], spec["variant"], args.seed,
                 ", ".join(f"{k} {v:.2f}" for k, v in metrics.items()))


def cmd_table(args) -> None:
    from wsmr import reporting

    runs: dict[tuple[str, str], list[dict]] = {}
    for path in args.metrics:
        match = RUN_DIR.search(str(path))
        if not match:
            raise ValueError(f"{path}: not inside runs/{{method}}/{{variant}}/seed{{n}}/")
        runs.setdefault((match["method"], match["variant"]), []).append(read_json(path))
    ious = json.loads(args.ious)
    with tracking.job_run(args.tracking, dataset=args.dataset, stage="table",
                          params={"rows": [f"{m}/{v}" for m, v in runs], "ious": ious}) as tracker:
        rows = reporting.build_rows(args.dataset, runs, ious)
        notes = args.note or []
        write_text(args.out_csv, reporting.to_csv(rows, ious))
        write_text(args.out_md, reporting.to_markdown(args.dataset, rows, ious, notes))
        tracker.log_artifact(args.out_csv)
        tracker.log_artifact(args.out_md)


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--job", required=True, help="resolved job settings (JSON), from the rule")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--samples-dir", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--features", type=Path)
    parser.add_argument("--vocab", type=Path)
    parser.add_argument("--embeddings", type=Path)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wsmr", description=__doc__)
    parser.add_argument("--tracking", default="off",
                        help="MLflow tracking URI, or 'off' (default: off)")
    parser.add_argument("-v", "--verbose", action="store_true")
    stages = parser.add_subparsers(dest="stage", required=True)

    p = stages.add_parser("shapes", help="render the shapes dataset")
    p.add_argument("--dataset", default="shapes")
    p.add_argument("--generator", required=True, help="generator settings (JSON)")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_shapes)

    p = stages.add_parser("samples", help="read annotations into results/{dataset}/samples")
    p.add_argument("--dataset", required=True)
    p.add_argument("--dataset-config", required=True, help="the dataset's config (JSON)")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_samples)

    p = stages.add_parser("text", help="tokens, tags, vocabulary and embeddings")
    p.add_argument("--dataset", required=True)
    p.add_argument("--settings", required=True, help="the dataset's text settings (JSON)")
    p.add_argument("--samples-dir", required=True)
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_text)

    p = stages.add_parser("fetch", help="download a URL to a file (a .zip is unpacked)")
    p.add_argument("--url", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_fetch)

    p = stages.add_parser("nltk-data", help="download NLTK's POS tagger data (online)")
    p.add_argument("--out-dir", required=True)
    p.set_defaults(func=cmd_nltk_data)

    p = stages.add_parser("train", help="train one method/variant/seed")
    add_method_arguments(p)
    p.set_defaults(func=cmd_train)

    p = stages.add_parser("predict", help="top moments per query of a split")
    add_method_arguments(p)
    p.add_argument("--split", default="test", choices=["val", "test"])
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_predict)

    p = stages.add_parser("evaluate", help="R@n IoU=m and mIoU of predictions")
    p.add_argument("--job", required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--samples", required=True)
    p.add_argument("--predictions", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_evaluate)

    p = stages.add_parser("table", help="a dataset's table from its runs' metrics")
    p.add_argument("--dataset", required=True)
    p.add_argument("--ious", required=True, help="JSON list")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--note", action="append", help="a footnote for the Markdown table")
    p.add_argument("--out-csv", required=True)
    p.add_argument("--out-md", required=True)
    p.set_defaults(func=cmd_table)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    args.func(args)


if __name__ == "__main__":
    main()
