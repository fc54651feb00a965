"""The Snakemake profiles. A cluster profile is given with --profile, and Snakemake still applies
the workflow profile profiles/default beside it, which wins every key that both set: so they set
none in common, or the cluster's value would be dropped without a word."""

from pathlib import Path

import yaml

PROFILES = Path(__file__).resolve().parents[1] / "workflow/profiles"


def keys(profile: str) -> set[str]:
    return set(yaml.safe_load((PROFILES / profile / "config.yaml").read_text()))


def test_the_slurm_profile_sets_no_key_of_the_default_one():
    assert keys("slurm") and keys("default") & keys("slurm") == set()
