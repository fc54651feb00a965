"""Shared fixtures. Real reference data lives in ../shared beside the checkout, never in the repo."""

from __future__ import annotations

import os
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
