"""Reading the validated config: which files a dataset reads, and each job's resolved settings.

The Snakefile validates config.yaml against workflow/schemas/config.schema.yaml; the functions
here only interpret it, so the rules and the CLI agree on one resolution.
"""

from __future__ import annotations

import copy
import json

from wsmr import defaults

SPLITS = ("train", "val", "test")


def is_generated(ds_cfg: dict) -> bool:
    """A dataset with a `generator` is rendered by the pipeline (shapes); others are read from
    disk."""
    return "generator" in ds_cfg


def configured_files(ds_cfg: dict) -> dict:
    """The files a dataset's config names: split -> annotation file, durations files, the tags
    that come with the sentences, the videos' folder (a generated dataset's come from the
    workflow's `shapes` rule instead)."""
    return {"annotations": dict(ds_cfg["annotations"]),
            "durations": list(ds_cfg.get("durations", [])),
            "tags": ds_cfg.get("tags"), "videos": ds_cfg.get("videos")}


READER_KEYS = ("format", "val_fraction", "on_unrepairable")


def reader_config(ds_cfg: dict) -> dict:
    """How the annotation reader reads, and nothing else, so other settings do not re-read it;
    what it reads (the files) the rule hands it as inputs."""
    return {k: ds_cfg[k] for k in READER_KEYS if k in ds_cfg}


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of `base` with `override` applied key by key (nested dicts merged, not replaced)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def method_variants(config: dict) -> list[tuple[str, str]]:
    """Every configured (method, variant): the rows of a dataset's complete table. A variant set
    to null, in a config file merged over config.yaml, is left out (merging cannot delete a key)."""
    return [(m, v) for m, spec in config["methods"].items()
            for v, overrides in spec["variants"].items() if overrides is not None]


def headline_variants(config: dict) -> list[tuple[str, str]]:
    return [tuple(row.split("/", 1)) for row in config["headline"]]


def dataset_settings(config: dict, dataset: str) -> dict:
    """The parts of a dataset's config that every stage after reading needs."""
    ds_cfg = config["datasets"][dataset]
    keys = ("ratios", "ious", "clip_stride_s")
    return {"name": dataset, **{k: ds_cfg[k] for k in keys}}


def method_settings(config: dict, dataset: str, method: str, variant: str) -> dict:
    """Method defaults, then the method's per-dataset overrides, then the variant's, then the
    variant's own per-dataset overrides (its `datasets:` entry for this dataset)."""
    spec = config["methods"][method]
    if spec["variants"].get(variant) is None:
        configured = sorted(v for m, v in method_variants(config) if m == method)
        raise KeyError(f"config: method {method!r} has no variant {variant!r}; "
                       f"configured: {configured}")
    settings = deep_merge(spec["settings"], spec.get("datasets", {}).get(dataset, {}))
    overrides = dict(spec["variants"][variant])
    per_dataset = overrides.pop("datasets", {})
    overrides.pop("checkpoint_of", None)   # which model it predicts with, not a setting
    return deep_merge(deep_merge(settings, overrides), per_dataset.get(dataset, {}))


def checkpoint_variant(config: dict, dataset: str, method: str, variant: str) -> str:
    """The variant whose trained model `variant` predicts with: itself, or its `checkpoint_of`
    (CPL* ranks the proposals of CPL's own checkpoint by vote). The two may differ only in the
    settings the method's registry entry lists as `inference`; anything else is an error."""
    from wsmr.methods import entry

    variants = config["methods"][method]["variants"]
    trained = variants[variant].get("checkpoint_of", variant)
    if trained == variant:
        return variant
    if variants.get(trained) is None:
        raise ValueError(f"config: {method}/{variant} has checkpoint_of {trained!r}, which is "
                         "not a configured variant")
    if variants[trained].get("checkpoint_of", trained) != trained:
        raise ValueError(f"config: {method}/{variant} has checkpoint_of {trained!r}, which "
                         "predicts with another's checkpoint itself")
    own = method_settings(config, dataset, method, variant)
    other = method_settings(config, dataset, method, trained)
    inference = entry(method).inference
    differ = sorted(k for k in own.keys() | other.keys()
                    if own.get(k) != other.get(k) and k not in inference)
    if differ:
        raise ValueError(f"config: {method}/{variant} predicts with {trained!r}'s checkpoint but "
                         f"trains differently on {dataset}: {differ} (only {list(inference)} "
                         "may differ)")
    return trained


def job_settings(config: dict, dataset: str, method: str, variant: str) -> str:
    """What a train/predict job is given: JSON, so a change of settings re-runs the job."""
    return json.dumps({
        "dataset": dataset_settings(config, dataset),
        "method": method,
        "variant": variant,
        "settings": method_settings(config, dataset, method, variant),
    }, sort_keys=True)


EXTRACTION_KEYS = ("weights", "seed", "c3d_width", "precision", "batch_size", "video_pattern",
                   "on_bad_video")


def features_config(ds_cfg: dict) -> dict:
    """A dataset's `features` block over the defaults (no block: seeded-init C3D, extracted)."""
    return deep_merge(defaults.FEATURES, ds_cfg.get("features", {}))


def extraction_settings(ds_cfg: dict) -> dict:
    """What an extraction job is given: not the PCA's settings, nor the weights' URL, so
    changing those does not re-run C3D."""
    features = features_config(ds_cfg)
    settings = {k: copy.deepcopy(features[k]) for k in EXTRACTION_KEYS if k in features}
    settings.get("weights", {}).pop("url", None)
    return settings
