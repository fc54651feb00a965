# Input functions and names shared by the rules. Logic lives in src/wsmr; this only wires files.
import copy
import json
import os
import re
import shlex

import nltk

from wsmr import config as wcfg
from wsmr import defaults
from wsmr import methods as method_registry

SPLITS = wcfg.SPLITS
TRACKING = config["tracking"]["uri"] if config["tracking"]["enabled"] else "off"
RUN = "results/{dataset}/runs/{method}/{variant}/seed{seed}"
FEATURES = "results/{dataset}/features/c3d_pca500.h5"  # the features contract
NLTK_ROOT = "resources/nltk_data"  # an NLTK_DATA folder
NLTK_DOWNLOAD = f"{NLTK_ROOT}/taggers/averaged_perceptron_tagger_eng"
GENERATED = [name for name, ds in config["datasets"].items() if wcfg.is_generated(ds)]

# Every rule's `conda:` env, envs/wsmr.yaml, installs wsmr from this checkout, which its pip lines
# name ${WSMR_SOURCE} (pip expands it): Snakemake builds the env (--sdm conda) from a copy of the
# file under .snakemake/conda/, where a path relative to envs/ would point elsewhere.
os.environ.setdefault("WSMR_SOURCE", workflow.basedir)


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    method="[a-z0-9_]+",
    variant="[a-z0-9_.]+",
    seed=r"\d+",


def dataset_config(wildcards):
    return config["datasets"][wildcards.dataset]


def tracking_uri(wildcards, threads):
    """A job's `--tracking`: the MLflow URI it logs to, or "off". Where a job logs is not what it
    computes, so another URI (a cluster's server, tracking switched off) must rerun nothing. The
    `threads` argument, unused, is what keeps the param out of Snakemake's params rerun trigger,
    which skips a param derived from the job's input, output, threads or resources."""
    return TRACKING


def wsmr(command, env=""):
    """A rule's shell command: `wsmr <stage> ...` logging to the job's MLflow tracking
    (`params.tracking`), its stderr into the job's log; `env`: variables set before it."""
    return f"{env} wsmr --tracking {{params.tracking:q}} {command} 2> {{log}}".lstrip()


def samples(dataset, split):
    return f"results/{dataset}/samples/{split}.jsonl"


# The files a generated dataset's stages read, as the `shapes` job renders them.
RAW = "results/{dataset}/raw"
GENERATED_FILES = {
    "annotations": {split: f"{RAW}/{{dataset}}_sta_{split}.txt" for split in SPLITS},
    "durations": [f"{RAW}/{{dataset}}_durations.csv"],
    "tags": f"{RAW}/{{dataset}}_tags.json",
    "videos": f"{RAW}/videos",
}
EVENTS = f"{RAW}/{{dataset}}_events.jsonl"  # the generator's event records (the probe's input)


def dataset_files(wildcards):
    """The files a dataset's stages read: split -> annotation file, durations files, the tags
    that come with the sentences (the generator knows its grammar), the videos folder; the
    configured paths, or what the `shapes` rule writes."""
    ds = dataset_config(wildcards)
    if not wcfg.is_generated(ds):
        return wcfg.configured_files(ds)
    name = {"dataset": wildcards.dataset}
    return {
        "annotations": {s: f.format(**name) for s, f in GENERATED_FILES["annotations"].items()},
        "durations": [f.format(**name) for f in GENERATED_FILES["durations"]],
        "tags": GENERATED_FILES["tags"].format(**name),
        "videos": GENERATED_FILES["videos"].format(**name),
    }


def annotation_inputs(wildcards):
    """The files a dataset's reader reads: configured paths, or what the generator writes."""
    files = dataset_files(wildcards)
    inputs = {
        "annotations": list(files["annotations"].values()),
        "durations": files["durations"],
    }
    return {**inputs, "tags": [files["tags"]]} if files["tags"] else inputs


def split_pairs(splits, paths):
    """`train=F val=F ...`: each annotation file beside its split, as `--annotations` takes."""
    return [f"{split}={path}" for split, path in zip(splits, paths, strict=True)]


def annotation_args(wildcards, input):
    """`--annotations train=F test=F --durations F... --tags F`: the rule's own inputs, each
    annotation file beside its split (in the order annotation_inputs lists them)."""
    splits = dataset_files(wildcards)["annotations"]
    args = ["--annotations", *split_pairs(splits, input.annotations)]
    if input.durations:
        args += ["--durations", *input.durations]
    if "tags" in input.keys():
        args += ["--tags", input.tags[0]]
    return " ".join(shlex.quote(arg) for arg in args)


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
    if dataset_files(wildcards)["tags"] is None and not tagger_on_path():
        inputs["nltk_data"] = NLTK_DOWNLOAD
    return inputs


def nltk_env(wildcards, input):
    return f"NLTK_DATA={NLTK_ROOT}" if "nltk_data" in input.keys() else ""


def configured_download(path, block_of, key):
    """The download block (url, ...) that some dataset configures for a missing file `path`
    (`block_of(dataset config)`: its text.glove or features.weights block)."""
    for ds in config["datasets"].values():
        block = block_of(ds)
        if block.get("path") == path and block.get("url"):
            return block
    raise ValueError(f"{path} is missing and no dataset's {key}.url fetches it")


def glove_url(wildcards):
    """The URL configured for a GloVe file under resources/glove/, by any dataset."""
    glove_of = lambda ds: ds.get("text", {}).get("glove", {})
    path = f"resources/glove/{wildcards.name}.txt"
    return configured_download(path, glove_of, "text.glove")["url"]


def method_inputs(wildcards):
    """Samples (tokenised when the method reads text), plus the features and text artifacts
    the method's registry entry needs."""
    needs = method_registry.needs(wildcards.method)
    samples_dir = "text" if "text" in needs else "samples"
    inputs = {
        "samples": [f"results/{wildcards.dataset}/{samples_dir}/{split}.jsonl" for split in SPLITS]
    }
    if "features" in needs:
        inputs["features"] = FEATURES.format(dataset=wildcards.dataset)
    if "text" in needs:
        inputs["vocab"] = f"results/{wildcards.dataset}/text/vocab.json"
        inputs["embeddings"] = f"results/{wildcards.dataset}/text/embeddings.npy"
    return inputs


def trained_variant(wildcards):
    return wcfg.checkpoint_variant(config, wildcards.dataset, wildcards.method, wildcards.variant)


def train_inputs(wildcards):
    """What a train job reads; a variant that predicts with another's model reads only that
    model (same seed), which its job copies."""
    inputs = method_inputs(wildcards)
    trained = trained_variant(wildcards)
    if trained != wildcards.variant:
        run = RUN.format(**{**dict(wildcards.items()), "variant": trained})
        inputs["trained"] = [f"{run}/checkpoint.pt", f"{run}/history.csv"]
    return inputs


def checkpoint_of_arg(wildcards, input):
    if "trained" not in input.keys():
        return ""
    return f"--checkpoint-of {os.path.dirname(input.trained[0])}"


def method_input_args(wildcards, input):
    """`--splits S... --features F --vocab V ...` for the inputs a method needs."""
    args = [f"--splits {' '.join(input.samples)}"]
    args += [
        f"--{name} {input[name]}"
        for name in ("features", "vocab", "embeddings")
        if name in input.keys()
    ]
    return " ".join(args)


def train_threads(wildcards):
    return defaults.dataset_value(dataset_config(wildcards), "train_threads")


def job_settings(wildcards):
    return wcfg.job_settings(config, wildcards.dataset, wildcards.method, wildcards.variant)


def table_metrics(dataset, rows):
    return [
        f"results/{dataset}/runs/{m}/{v}/seed{s}/metrics.json"
        for m, v in rows
        for s in config["seeds"]
    ]


TABLE_ROWS = {
    "": lambda: wcfg.method_variants(config),
    ".headline": lambda: wcfg.headline_variants(config),
    ".baselines": lambda: [
        (m, v) for m, v in wcfg.method_variants(config) if not method_registry.needs(m)
    ],
}
# `{dataset}.{method}`: one method's variants beside the blind rows, buildable on its own
TABLE_NAMES = "|".join(
    ["", *(re.escape(r) for r in TABLE_ROWS if r)] + [rf"\.{m}" for m in method_registry.REGISTRY]
)


def table_rows(wildcards):
    """The (method, variant) rows of one of a dataset's tables."""
    if wildcards.rows in TABLE_ROWS:
        return TABLE_ROWS[wildcards.rows]()
    method = wildcards.rows.removeprefix(".")
    return [
        (m, v)
        for m, v in wcfg.method_variants(config)
        if m == method or not method_registry.needs(m)
    ]


def reads_query(method):
    """A method that reads the query's words gets the other-query control."""
    return "text" in method_registry.needs(method)


QUERY_READERS = "|".join(m for m in method_registry.REGISTRY if reads_query(m))
BLIND_METHODS = "|".join(m for m in method_registry.REGISTRY if not reads_query(m))


def control_args(wildcards, input, output):
    """The other-query control's flags, for the jobs of a method that reads the query."""
    if "control_samples" not in input.keys():
        return ""
    if "control_metrics" in output.keys():
        return (
            f"--other-query-samples {input.control_samples} --other-query-predictions"
            f" {input.control_predictions} --other-query-out {output.control_metrics}"
        )
    return f"--other-query {input.control_samples} --other-query-out {output.control_predictions}"


def table_control_metrics(dataset, rows):
    return [
        f"results/{dataset}/runs/{m}/{v}/seed{s}/metrics.other_query.json"
        for m, v in rows
        if reads_query(m)
        for s in config["seeds"]
    ]


def table_notes(wildcards):
    seeds = ", ".join(map(str, config["seeds"]))
    random = config["methods"]["random"]["settings"]
    prior = config["methods"]["prior"]["settings"]
    step = dataset_config(wildcards)["clip_stride_s"]
    notes = [
        f"ours: mean ± std (population) over seeds {seeds}, selected on validation, "
        "scored on the test split",
        "random: uniform draws among SCN's candidate windows of the dataset's ratios "
        f"(see README), ending on a feature-free grid of {step} s steps (clip_stride_s; "
        f"at most {random['max_steps']}), NMS {random['nms']}, top-{random['top_n']}; "
        "learned rows: on each video's own clip times (its fps)",
        "prior: one query-blind window for every query, the best on a 1/"
        f"{prior['grid']} grid by R@1 at {prior['select_on']} on the *training boundaries*: "
        "a bias diagnostic, not a weakly supervised competitor; a row grounds the query "
        "only when it beats prior and loses its margin under the other-query control",
    ]
    return " ".join(f"--note {shlex.quote(n)}" for n in notes)


# Video features: extracted (C3D fc7 -> PCA) or imported from a pre-extracted HDF5 file.
FEATURE_SOURCES = {
    name: wcfg.features_config(ds)["source"] for name, ds in config["datasets"].items()
}
EXTRACTED = [name for name, source in FEATURE_SOURCES.items() if source == "extract"]
IMPORTED = [name for name, source in FEATURE_SOURCES.items() if source == "hdf5"]


def one_of(names):
    return "|".join(names) or "(?!)"


def features_config(wildcards):
    return wcfg.features_config(dataset_config(wildcards))


def extract_mem_mb(wildcards):
    """An extraction job's memory: C3D's activations grow with the batch, and on CPU the job
    keeps what a batch frees for the next (wsmr.hardware.keep_freed_memory). Measured peaks
    on CPU: 3.3 GB at batch 8, 6.1 GB at batch 32 (docs/performance.md); this leaves about a
    quarter more."""
    return 3000 + 150 * features_config(wildcards)["batch_size"]


def fc7_shards(wildcards):
    return [
        f"results/{wildcards.dataset}/features/fc7/shard{i}.h5"
        for i in range(features_config(wildcards)["shards"])
    ]


def videos_dir(wildcards):
    directory = dataset_files(wildcards)["videos"]
    if directory is None:
        raise ValueError(f"datasets.{wildcards.dataset}: features.source extract needs `videos`")
    return directory


def extract_inputs(wildcards):
    """Samples (which videos), the rendered videos of a generated dataset, configured weights."""
    inputs = {"samples": [samples(wildcards.dataset, split) for split in SPLITS]}
    if wcfg.is_generated(dataset_config(wildcards)):
        inputs["videos"] = videos_dir(wildcards)
    weights = features_config(wildcards).get("weights")
    if weights:
        inputs["weights"] = weights["path"]
    return inputs


def c3d_weights(wildcards):
    """The url and sha256 configured for weights under resources/c3d/, by any dataset."""
    weights_of = lambda ds: wcfg.features_config(ds).get("weights", {})
    path = f"resources/c3d/{wildcards.name}"
    return configured_download(path, weights_of, "features.weights")


def features_input(wildcards, methods):
    """{"features": file} when one of the methods reads video features, else nothing."""
    if any("features" in method_registry.needs(m) for m in methods):
        return {"features": FEATURES.format(dataset=wildcards.dataset)}
    return {}


def features_arg(wildcards, input):
    return f"--features {input.features}" if "features" in input.keys() else ""


def shard_threads(wildcards):
    """A shard's share of the local cores, so that a dataset's shards together use them all:
    2 shards on `--cores 2` run at once, a thread each; `--cores 8` gives each 4. Without a
    core count (a cluster executor) a shard asks for 2; a cluster profile can set it."""
    cores = workflow.resource_settings.cores  # None under a cluster executor: no --cores
    cores = cores if isinstance(cores, int) and cores < 1024 else 2
    return max(1, cores // features_config(wildcards)["shards"])


# Figures for Snakemake's own report (report.smk).
REPORT_TIMELINES = 3  # test queries per run drawn, all on the test split's first video


def run_figures(dataset, rows):
    """Training curves of every seed, timelines of the first seed's run, for (method, variant)s."""
    runs = [f"results/{dataset}/runs/{m}/{v}" for m, v in rows]
    figures = [f"{run}/seed{s}/history.png" for run in runs for s in config["seeds"]]
    if dataset in EXTRACTED:  # timelines need the videos
        figures += [
            f"{run}/seed{config['seeds'][0]}/timelines/query{i}.png"
            for run in runs
            for i in range(REPORT_TIMELINES)
        ]
    return figures


def timeline_config(wildcards):
    """What `wsmr ground` resolves a run's settings from: its dataset and method, nothing else."""
    return json.dumps(
        {
            "datasets": {wildcards.dataset: dataset_config(wildcards)},
            "methods": {wildcards.method: config["methods"][wildcards.method]},
        }
    )
