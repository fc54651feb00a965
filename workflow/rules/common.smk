# Input functions and names shared by the rules. Logic lives in src/wsmr; this only wires files.
import copy
import json
import os
import shlex

import nltk

from wsmr import config as wcfg
from wsmr import methods as method_registry

SPLITS = wcfg.SPLITS
TRACKING = config["tracking"]["uri"] if config["tracking"]["enabled"] else "off"
RUN = "results/{dataset}/runs/{method}/{variant}/seed{seed}"
NLTK_DOWNLOAD = "resources/nltk_data/taggers/averaged_perceptron_tagger_eng"
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


def text_settings(wildcards):
    """The dataset's text settings as the stage takes them (the download URL is the rule's)."""
    text = copy.deepcopy(dataset_config(wildcards).get("text", {}))
    text.get("glove", {}).pop("url", None)
    return json.dumps(text)


def tagger_on_path():
    try:
        nltk.data.find("taggers/averaged_perceptron_tagger_eng/")
        return True
    except LookupError:
        return False


def text_inputs(wildcards):
    """Samples; the GloVe file when one is configured; NLTK's tagger data when the dataset
    needs tagging and NLTK_DATA does not have it (then a rule downloads it)."""
    ds = dataset_config(wildcards)
    inputs = {"samples": [samples(wildcards.dataset, split) for split in SPLITS]}
    glove = ds.get("text", {}).get("glove", {})
    if glove.get("source") == "file":
        inputs["glove"] = glove["path"]
    if wcfg.tag_file(wildcards.dataset, ds) is None and not tagger_on_path():
        inputs["nltk_data"] = NLTK_DOWNLOAD
    return inputs


def nltk_env(wildcards, input):
    return f"NLTK_DATA={NLTK_DOWNLOAD.split('/taggers/')[0]}" if "nltk_data" in input.keys() else ""


def glove_url(wildcards):
    """The URL configured for a GloVe file under resources/glove/, by any dataset."""
    path = f"resources/glove/{wildcards.name}.txt"
    for ds in config["datasets"].values():
        glove = ds.get("text", {}).get("glove", {})
        if glove.get("path") == path and glove.get("url"):
            return glove["url"]
    raise ValueError(f"{path} is missing and no dataset's text.glove.url fetches it")


def method_inputs(wildcards):
    """Samples (tokenised when the method reads text), plus the features and text artifacts
    the method's registry entry needs."""
    needs = method_registry.needs(wildcards.method)
    samples_dir = "text" if "text" in needs else "samples"
    inputs = {"samples": [f"results/{wildcards.dataset}/{samples_dir}/{split}.jsonl"
                          for split in SPLITS]}
    if "features" in needs:
        inputs["features"] = f"results/{wildcards.dataset}/features/c3d_pca500.h5"
    if "text" in needs:
        inputs["vocab"] = f"results/{wildcards.dataset}/text/vocab.json"
        inputs["embeddings"] = f"results/{wildcards.dataset}/text/embeddings.npy"
    return inputs


def method_input_args(wildcards, input):
    """`--samples-dir D --features F --vocab V ...` for the inputs a method needs."""
    args = [f"--samples-dir {os.path.dirname(input.samples[0])}"]
    args += [f"--{name} {input[name]}" for name in ("features", "vocab", "embeddings")
             if name in input.keys()]
    return " ".join(args)


def job_settings(wildcards):
    return wcfg.job_settings(config, wildcards.dataset, wildcards.method, wildcards.variant)


def table_metrics(dataset, rows):
    return [f"results/{dataset}/runs/{m}/{v}/seed{s}/metrics.json"
            for m, v in rows for s in config["seeds"]]


def table_notes(wildcards):
    seeds = ", ".join(map(str, config["seeds"]))
    random = config["methods"]["random"]["settings"]
    notes = [f"ours: mean ± std (population) over seeds {seeds}, selected on validation, "
             "scored on the test split",
             "random: uniform draws among SCN's candidate windows of the dataset's ratios "
             f"(see README), NMS {random['nms']}, top-{random['top_n']}"]
    return " ".join(f"--note {shlex.quote(n)}" for n in notes)
