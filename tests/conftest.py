"""Shared fixtures. Real reference data lives in ../shared beside the checkout, never in the
repo."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WSMR_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ../shared folder with real Charades-STA/ActivityNet annotations, a video, GloVe rows."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"real reference data not found at {SHARED} (set WSMR_SHARED to its path)")
    return SHARED


# the test files that read the small DAG (the `small_dag` fixture below): one pytest-xdist
# worker runs them all, so that DAG runs once (collection checks the list)
SMALL_DAG_FILES = ("test_pipeline.py", "test_own_video.py")


@pytest.hookimpl(optionalhook=True)   # a hook of pytest-xdist: only with it installed
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs the tests on two pytest-xdist workers, a file's tests on one worker (so
    its module fixtures run once) and the small DAG's files on one."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "small_dag" if Path(path).name in SMALL_DAG_FILES else path

    return ByFile(config, log)


def pytest_collection_modifyitems(items):
    for item in items:
        if "small_dag" in item.fixturenames and item.path.name not in SMALL_DAG_FILES:
            raise pytest.UsageError(f"{item.nodeid} reads the small DAG: add its file to "
                                    "SMALL_DAG_FILES in tests/conftest.py")


def pytest_configure(config):
    """Under pytest-xdist, each worker's torch gets its share of the cores: two workers on two
    cores run a thread each, not two apiece (the test DAGs' jobs set their own threads)."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", 1))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


@pytest.fixture(autouse=True)
def _tracking_off(monkeypatch):
    """Unit tests never write to an MLflow store unless a test turns tracking on itself."""
    monkeypatch.setenv("WSMR_TRACKING", "off")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> Iterator[str]:
    """An MLflow tracking server started as docs/cluster.md starts one; its http:// URI."""
    import services

    home = tmp_path_factory.mktemp("mlflow-server")
    host, port = services.node_hostname(), services.free_port()
    # the server's job runner (for GenAI jobs) is not needed and costs eight processes
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = services.start(services.mlflow_server_argv(home, host, port), home / "server.log", env)
    uri = f"http://{host}:{port}"
    try:
        services.wait_until(lambda: services.healthy(uri), 120, "mlflow server", server)
        yield uri
    finally:
        services.stop(server)


@pytest.fixture(scope="session")
def small_dag(tmp_path_factory) -> Path:
    """The workdir of one DAG run on the small test config (tests/test_pipeline.py)."""
    from test_pipeline import run_small_dag

    return run_small_dag(tmp_path_factory.mktemp("dag"))
