"""MLflow for every rule job: an experiment per dataset, a run per job.

Runs are named `{stage}-{method}-{variant}-s{seed}` where those apply and tagged with
`dataset, stage, method, variant, seed, git_sha`; params are the job's resolved settings.
Several jobs starting at once on a fresh SQLite store race on schema and experiment creation,
so both happen under a file lock beside the database. On a cluster the store is an `http://`
tracking server (one SQLite file must not be shared over NFS): the server owns the schema, and
two jobs creating the same experiment at once settle it by re-fetching it.
`WSMR_TRACKING=off` (or `--tracking off`) switches tracking off, e.g. for tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

log = logging.getLogger("wsmr.tracking")

EXPERIMENT_PREFIX = "wsmr"


def is_enabled(uri: str | None) -> bool:
    return bool(uri) and uri != "off" and os.environ.get("WSMR_TRACKING", "on") != "off"


def run_name(stage: str, method: str | None = None, variant: str | None = None,
             seed: int | None = None) -> str:
    parts = [stage, method, variant, None if seed is None else f"s{seed}"]
    return "-".join(p for p in parts if p)


def flatten(settings: dict, prefix: str = "") -> dict[str, str]:
    """Nested settings as MLflow params: `a.b.c -> value`."""
    flat = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def store_lock(uri: str) -> contextlib.AbstractContextManager:
    """A lock for creating the store and experiments: beside an SQLite file, else a no-op."""
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        database.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(f"{database}.lock")
    return contextlib.nullcontext()


def experiment_id(uri: str, dataset: str) -> str:
    """Create the store (schema) and the dataset's experiment once, under the lock."""
    import mlflow

    name = f"{EXPERIMENT_PREFIX}/{dataset}"
    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.get_experiment_by_name(name)
        return experiment.experiment_id if experiment else create_experiment(name)


def create_experiment(name: str) -> str:
    """A new experiment's id; the existing one's when a parallel job created it meanwhile
    (a tracking server has no lock that jobs on several nodes share)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.create_experiment(name)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return mlflow.get_experiment_by_name(name).experiment_id


class Tracker:
    """The handle a stage logs through; a disabled one accepts everything and does nothing."""

    def __init__(self, active: bool):
        self.active = active

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self.active:
            import mlflow
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def log_artifact(self, path: str | Path) -> None:
        if self.active:
            import mlflow
            mlflow.log_artifact(str(path))

    def set_tags(self, tags: dict[str, str]) -> None:
        if self.active:
            import mlflow
            mlflow.set_tags(tags)


def source_tags(features_source: str) -> dict[str, str]:
    """`c3d_weights` (`seeded-init`, `sports1m` or `pre-extracted`) and the full source."""
    return {"c3d_weights": features_source.split(":", 1)[0], "features_source": features_source}


def features_tags(path: str | Path | None) -> dict[str, str]:
    """Where a job's video features came from, read from the features file's `source` attr,
    so every run downstream of seeded-init C3D says so. None: no tags."""
    if path is None:
        return {}
    from wsmr.features.store import source

    return source_tags(source(path))


@contextlib.contextmanager
def job_run(uri: str | None, *, dataset: str, stage: str, method: str | None = None,
            variant: str | None = None, seed: int | None = None, params: dict | None = None,
            tags: dict[str, str] | None = None, name: str | None = None) -> Iterator[Tracker]:
    """One MLflow run around a rule job; yields the Tracker to log through. `tags` add to the
    standard ones; `name` replaces the standard run name (e.g. one per shard)."""
    if not is_enabled(uri):
        yield Tracker(active=False)
        return
    import mlflow

    tags = {"dataset": dataset, "stage": stage, "git_sha": git_sha(), **(tags or {})}
    tags.update({k: str(v) for k, v in
                 {"method": method, "variant": variant, "seed": seed}.items() if v is not None})
    with mlflow.start_run(experiment_id=experiment_id(uri, dataset),
                          run_name=name or run_name(stage, method, variant, seed), tags=tags):
        if params:
            mlflow.log_params(flatten(params))
        yield Tracker(active=True)
