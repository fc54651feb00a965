"""MLflow for every rule job: an experiment per dataset, a run per job.

Runs are named `{stage}-{method}-{variant}-s{seed}` where those apply and tagged with
`dataset, stage, method, variant, seed, git_sha`; params are the job's resolved settings.
Several jobs starting at once on a fresh SQLite store race on schema and experiment creation,
so both happen under a file lock beside the database. On a cluster the store is an `http://`
tracking server (one SQLite file must not be shared over NFS): the server owns the schema, and
two jobs creating the same experiment at once settle it by re-fetching it.
`WSMR_TRACKING=off` (or `--tracking off`) switches tracking off, e.g. for tests.

Ablations are compared through one *parent* run per method/variant/seed (and settings): the
train, predict and evaluate jobs of that run are nested under it (`mlflow.parentRunId`), and
evaluate logs the test metrics on the parent too, so the runs page lists one row per run with
its R@1 and mIoU. Parallel jobs find the parent by a deterministic tag search (`run_key`): on
SQLite under the store's lock; on a server, where no lock is shared, two jobs that both
created one keep the earlier (start time, then id) and the other deletes its own. Experiments
carry `mlflow.experimentKind = custom_model_development`, so MLflow 3 opens them in its
model-training view rather than the GenAI one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

log = logging.getLogger("wsmr.tracking")

EXPERIMENT_PREFIX = "wsmr"
# MLflow 3's UI reads this experiment tag to pick its view (values from the UI's own enum)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
PARENT_STAGE = "run"   # `tags.stage` of a parent run


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
        if experiment is None:
            return create_experiment(name)
        if not EXPERIMENT_KIND.items() <= experiment.tags.items():   # made by an older wsmr
            mlflow.set_experiment_tags(EXPERIMENT_KIND)
        return experiment.experiment_id


def create_experiment(name: str) -> str:
    """A new experiment's id; the existing one's when a parallel job created it meanwhile
    (a tracking server has no lock that jobs on several nodes share)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.create_experiment(name, tags=EXPERIMENT_KIND)
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return mlflow.get_experiment_by_name(name).experiment_id


class Tracker:
    """The handle a stage logs through; a disabled one accepts everything and does nothing.
    `parent_run_id`: the method/variant/seed's parent run, when the job is nested under one."""

    def __init__(self, active: bool, parent_run_id: str | None = None):
        self.active, self.parent_run_id = active, parent_run_id

    def log_on_parent(self, metrics: dict[str, float]) -> None:
        """Metrics on the parent run too (the test metrics, so ablations sit side by side)."""
        if self.active and self.parent_run_id:
            import mlflow
            from mlflow.entities import Metric

            now = int(time.time() * 1000)
            mlflow.MlflowClient().log_batch(self.parent_run_id, metrics=[
                Metric(k, float(v), now, 0) for k, v in metrics.items()])

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


def parent_key(method: str, variant: str, seed: int, params: dict | None) -> str:
    """What identifies a run across its jobs: method/variant/seed and a digest of the job's
    settings, so a run trained on other settings gets a parent of its own."""
    digest = hashlib.sha256(json.dumps(params or {}, sort_keys=True).encode()).hexdigest()
    return f"{method}/{variant}/seed{seed}@{digest[:12]}"


def find_parents(client, experiment: str, key: str) -> list:
    """The live parent runs with this key, the canonical one (earliest, then lowest id) first."""
    runs = client.search_runs([experiment], f"tags.run_key = '{key}'", max_results=100)
    return sorted(runs, key=lambda r: (r.info.start_time, r.info.run_id))


def parent_run(uri: str, experiment: str, *, dataset: str, method: str, variant: str,
               seed: int, params: dict | None, tags: dict[str, str]) -> str:
    """The id of the run's parent: found by its key, or created (params: the job's settings)."""
    import mlflow
    from mlflow.entities import Param

    client, key = mlflow.MlflowClient(), parent_key(method, variant, seed, params)
    with store_lock(uri):
        found = find_parents(client, experiment, key)
        if found:
            return found[0].info.run_id
        identity = {"dataset": dataset, "method": method, "variant": variant, "seed": str(seed)}
        created = client.create_run(experiment, run_name=run_name("", method, variant, seed),
                                    tags={**tags, **identity, "stage": PARENT_STAGE,
                                          "run_key": key})
        settings = [Param(k, v) for k, v in {**flatten(params or {}), **identity}.items()]
        for start in range(0, len(settings), 100):   # MLflow takes 100 params a batch
            client.log_batch(created.info.run_id, params=settings[start: start + 100])
        winner = find_parents(client, experiment, key)[0].info.run_id   # a server's race
        if winner != created.info.run_id:
            client.delete_run(created.info.run_id)
        return winner


@contextlib.contextmanager
def job_run(uri: str | None, *, dataset: str, stage: str, method: str | None = None,
            variant: str | None = None, seed: int | None = None, params: dict | None = None,
            tags: dict[str, str] | None = None, name: str | None = None) -> Iterator[Tracker]:
    """One MLflow run around a rule job; yields the Tracker to log through. `tags` add to the
    standard ones; `name` replaces the standard run name (e.g. one per shard). A job of one
    method/variant/seed is nested under that run's parent."""
    if not is_enabled(uri):
        yield Tracker(active=False)
        return
    import mlflow

    tags = {"dataset": dataset, "stage": stage, "git_sha": git_sha(), **(tags or {})}
    tags.update({k: str(v) for k, v in
                 {"method": method, "variant": variant, "seed": seed}.items() if v is not None})
    experiment = experiment_id(uri, dataset)
    parent = None
    if None not in (method, variant, seed):
        parent = parent_run(uri, experiment, dataset=dataset, method=method, variant=variant,
                            seed=seed, params=params, tags={k: v for k, v in tags.items()
                                                            if k != "stage"})
    with mlflow.start_run(experiment_id=experiment, parent_run_id=parent,
                          run_name=name or run_name(stage, method, variant, seed), tags=tags):
        if params:
            mlflow.log_params(flatten(params))
        yield Tracker(active=True, parent_run_id=parent)
    if parent:   # the parent's end time and status follow its latest job
        mlflow.MlflowClient().set_terminated(parent, "FINISHED")
