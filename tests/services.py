"""Daemons the tests start and stop themselves: an MLflow tracking server here, SLURM's daemons in
tests/cluster. Each runs in a session of its own and is stopped through the PID it started with,
never by name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    """A TCP port that nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def node_hostname() -> str:
    """This machine's name as other nodes reach it; localhost where the name does not resolve."""
    name = socket.gethostname()
    try:
        socket.gethostbyname(name)
    except OSError:
        return "localhost"
    return name


def start(argv: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """A daemon in the foreground of its own session, so that stopping it stops what it forked."""
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM to the session started as `process` (its PID is the group's), SIGKILL if it
    lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_until(ready: Callable[[], bool], timeout: float, what: str,
               process: subprocess.Popen | None = None) -> None:
    """Poll `ready()`; fail after `timeout` seconds, or as soon as `process` has exited."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(0.5)


def mlflow_server_argv(home: Path, host: str, port: int) -> list[str]:
    """The tracking-server command of docs/cluster.md, with this test's paths."""
    return [sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{home}/mlflow.db",
            "--artifacts-destination", f"{home}/mlartifacts",
            "--host", "0.0.0.0", "--port", str(port), "--workers", "1",
            "--allowed-hosts", f"{host}:{port}"]


def healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False
