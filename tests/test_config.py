"""Config validation (the schema the Snakefile applies) and per-job settings resolution."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from wsmr import config as wcfg

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow/schemas/config.schema.yaml")


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_shipped_configs_are_valid(config):
    validate(config, SCHEMA)
    merged = wcfg.deep_merge(config, yaml.safe_load((ROOT / ".test/config.yaml").read_text()))
    validate(merged, SCHEMA)


def test_misspelt_key_names_the_key(config):
    config["datasets"]["shapes"]["ratio"] = [0.5]
    with pytest.raises(WorkflowError, match="'ratio' was unexpected"):
        validate(config, SCHEMA)


def test_wrong_type_names_the_key(config):
    config["datasets"]["shapes"]["generator"]["fps"] = "eight"
    with pytest.raises(WorkflowError, match=r"'eight' is not of type 'integer'[\s\S]*"
                                            r"\['generator'\]\['fps'\]"):
        validate(config, SCHEMA)


def test_dataset_needs_either_a_generator_or_annotations(config):
    both = copy.deepcopy(config)
    both["datasets"]["shapes"]["annotations"] = {"train": "a", "test": "b"}
    with pytest.raises(WorkflowError):
        validate(both, SCHEMA)


def test_unknown_method_setting_is_rejected(config):
    config["methods"]["random"]["variants"]["default"] = {"nsm": 0.5}
    with pytest.raises(WorkflowError, match="'nsm' was unexpected"):
        validate(config, SCHEMA)


def test_a_variant_set_to_null_is_left_out(config):
    """How a config file merged over config.yaml (.test/config.yaml) drops a variant."""
    merged = wcfg.deep_merge(config, {"methods": {"scn": {"variants": {"no_rand": None}}}})
    validate(merged, SCHEMA)
    rows = wcfg.method_variants(merged)
    assert ("scn", "full") in rows and ("scn", "no_rand") not in rows
    assert len(rows) == len(wcfg.method_variants(config)) - 1
    with pytest.raises(KeyError, match="no variant 'no_rand'"):
        wcfg.method_settings(merged, "shapes", "scn", "no_rand")


def test_variant_overrides_merge_over_method_settings(config):
    config["methods"]["random"]["datasets"] = {"shapes": {"top_n": 3}}
    config["methods"]["random"]["variants"]["tight"] = {"nms": 0.3}
    settings = wcfg.method_settings(config, "shapes", "random", "tight")
    assert settings == {"nms": 0.3, "top_n": 3, "max_steps": 200}
    assert wcfg.method_settings(config, "charades", "random", "default")["top_n"] == 5
    with pytest.raises(KeyError, match="no variant 'nope'"):
        wcfg.method_settings(config, "shapes", "random", "nope")


def test_a_variant_predicts_with_another_checkpoint_only_when_it_trains_the_same(config):
    """cpl/vote predicts with cpl/full's model: its settings differ only in inference ones, and
    `checkpoint_of` is not among the settings a job gets."""
    assert wcfg.checkpoint_variant(config, "shapes", "cpl", "vote") == "full"
    assert wcfg.checkpoint_variant(config, "shapes", "cpl", "full") == "full"
    vote = wcfg.method_settings(config, "activitynet", "cpl", "vote")
    assert "checkpoint_of" not in vote and vote["vote"] == "uniform"
    variants = config["methods"]["cpl"]["variants"]
    variants["vote_longer"] = {"vote": "weighted", "checkpoint_of": "full", "epochs": 99}
    validate(config, SCHEMA)
    with pytest.raises(ValueError, match=r"cpl/vote_longer .* trains differently on shapes: "
                                         r"\['epochs'\]"):
        wcfg.checkpoint_variant(config, "shapes", "cpl", "vote_longer")
    variants["vote_of_nothing"] = {"checkpoint_of": "nope"}
    with pytest.raises(ValueError, match="'nope', which is not a configured variant"):
        wcfg.checkpoint_variant(config, "shapes", "cpl", "vote_of_nothing")
    variants["vote_of_vote"] = {"checkpoint_of": "vote"}
    with pytest.raises(ValueError, match="predicts with another's checkpoint itself"):
        wcfg.checkpoint_variant(config, "shapes", "cpl", "vote_of_vote")


def test_features_block_is_closed_and_checked(config):
    features = config["datasets"]["shapes"]["features"]
    for bad, message in [({"pca_dims": 8}, "'pca_dims' was unexpected"),
                         ({"source": "hdf5"}, "'path' is a required property"),
                         ({"weights": {"path": "w.pickle", "sha256": "abc"}}, "does not match"),
                         ({"on_bad_video": "ignore"}, "is not one of")]:
        broken = copy.deepcopy(config)
        broken["datasets"]["shapes"]["features"] = {**features, **bad}
        with pytest.raises(WorkflowError, match=message):
            validate(broken, SCHEMA)


def test_features_defaults_and_what_re_runs_extraction(config):
    assert wcfg.features_config({})["source"] == "extract"
    assert wcfg.features_config({})["pca_dim"] == 500
    ds = {"features": {"pca_dim": 16,
                       "weights": {"path": "w", "url": "http://x", "sha256": "0" * 64}}}
    settings = wcfg.extraction_settings(ds)
    assert "pca_dim" not in settings and "shards" not in settings
    assert settings["weights"] == {"path": "w", "sha256": "0" * 64}   # the URL is not the weights
    assert ds["features"]["weights"]["url"] == "http://x"


def test_a_variant_may_carry_per_dataset_overrides(config):
    ms2d = config["methods"]["ms2d"]
    ms2d["variants"]["tiny"] = {"top_k": 3, "scales": [8],
                                "datasets": {"shapes": {"scales": [4, 2]}}}
    validate(config, SCHEMA)
    shapes = wcfg.method_settings(config, "shapes", "ms2d", "tiny")
    assert shapes["scales"] == [4, 2] and shapes["top_k"] == 3 and "datasets" not in shapes
    assert shapes["dim"] == ms2d["datasets"]["shapes"]["dim"]       # the method's shapes override
    assert wcfg.method_settings(config, "charades", "ms2d", "tiny")["scales"] == [8]
    ms2d["variants"]["tiny"]["datasets"]["shapes"]["scale"] = [4]
    with pytest.raises(WorkflowError, match="'scale' was unexpected"):
        validate(config, SCHEMA)


def test_glove_file_needs_its_dimension(config):
    """A GloVe file's dimension is configured, not inferred from its first line (which a
    damaged file may have cut short)."""
    del config["datasets"]["charades"]["text"]["glove"]["dim"]
    with pytest.raises(WorkflowError, match="'dim' is a required property"):
        validate(config, SCHEMA)
