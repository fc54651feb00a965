# Input functions and names shared by the rules. Logic lives in src/wsmr; this only wires files.
import json
import shlex

from wsmr import config as wcfg
from wsmr import methods as method_registry

SPLITS = wcfg.SPLITS
TRACKING = config["tracking"]["uri"] if config["tracking"]["enabled"] else "off"
RUN = "results/{dataset}/runs/{method}/{variant}/seed{seed}"
GENERATED = [name for name, ds in config["datasets"].items() if wcfg.is_generated(ds)]


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    method="[a-z0-9_]+",
    variant="[a-z0-9_.]+",
    seed=r"\d+",


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def samples(dataset, split):
    return f"results/{dataset}/samples/{split}.jsonl"


def annotation_inputs(wildcards):
    """The files a dataset's reader reads: configured paths, or what the generator writes."""
    ds = dataset_config(wildcards)
    inputs = {"annotations": list(wcfg.annotation_files(wildcards.dataset, ds).values()),
              "durations": wcfg.duration_files(wildcards.dataset, ds)}
    tags = wcfg.tag_file(wildcards.dataset, ds)
    return {**inputs, "tags": [tags]} if tags else inputs


def method_inputs(wildcards):
    """Samples, plus the features and text artifacts the method's registry entry needs."""
    inputs = {"samples": [samples(wildcards.dataset, split) for split in SPLITS]}
    needs = method_registry.needs(wildcards.method)
    if "features" in needs:
        inputs["features"] = f"results/{wildcards.dataset}/features/c3d_pca500.h5"
    if "text" in needs:
        inputs["vocab"] = f"results/{wildcards.dataset}/text/vocab.json"
        inputs["embeddings"] = f"results/{wildcards.dataset}/text/embeddings.npy"
    return inputs


def method_input_args(wildcards, input):
    """`--features F --vocab V ...` for the inputs a method needs."""
    return " ".join(f"--{name} {input[name]}" for name in ("features", "vocab", "embeddings")
                    if name in input.keys())


def job_settings(wildcards):
    return wcfg.job_settings(config, wildcards.dataset, wildcards.method, wildcards.variant)


def table_metrics(dataset, rows):
    return [f"results/{dataset}/runs/{m}/{v}/seed{s}/metrics.json"
            for m, v in rows for s in config["seeds"]]


def table_notes(wildcards):
    seeds = ", ".join(map(str, config["seeds"]))
    notes = [f"ours: mean ± std (population) over seeds {seeds}, selected on validation, "
             "scored on the test split",
             "random: uniform draws among SCN's candidate windows of the dataset's ratios "
             "(see README), NMS 0.5, top-5"]
    return " ".join(f"--note {shlex.quote(n)}" for n in notes)
