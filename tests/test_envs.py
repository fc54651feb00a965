"""envs/wsmr.yaml, every rule's `conda:` environment. Snakemake (--sdm conda) builds it from a
copy under .snakemake/conda/, so its pip lines may not name the checkout relative to envs/."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pip_lines() -> list[str]:
    env = yaml.safe_load((ROOT / "envs/wsmr.yaml").read_text())
    return next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))


def test_the_environment_installs_this_checkout_wherever_its_file_is_copied():
    assert all(line.split()[1].startswith("${WSMR_SOURCE}") for line in pip_lines())
    expanded = [line.replace("${WSMR_SOURCE}", str(ROOT)) for line in pip_lines()]
    assert expanded == [f"-c {ROOT}/constraints.txt", f"-e {ROOT}[test]"]
    assert (ROOT / "constraints.txt").is_file() and (ROOT / "pyproject.toml").is_file()

