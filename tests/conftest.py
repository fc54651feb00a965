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
