"""The methods registry: a method is chosen by name from config, never by if-chains.

Each entry names the module holding the method's class and the artifacts it reads besides the
samples ("features", "text"), so the DAG can wire a method's inputs without importing torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    target: str               # "module:Class"
    needs: tuple[str, ...] = ()
    # settings that change only how a trained model ranks its moments, not what it learns: a
    # variant that differs from another only in these predicts with that one's checkpoint
    inference: tuple[str, ...] = ()


REGISTRY: dict[str, Entry] = {
    "random": Entry("wsmr.methods.random_baseline:RandomBaseline"),
    "prior": Entry("wsmr.methods.prior:Prior"),
    "scn": Entry("wsmr.methods.scn:SCN", needs=("features", "text")),
    "ms2d": Entry("wsmr.methods.ms2d:MS2D", needs=("features", "text")),
    "cpl": Entry("wsmr.methods.cpl:CPL", needs=("features", "text"),
                 inference=("vote", "test_nms", "top_n")),
}


def needs(name: str) -> tuple[str, ...]:
    return entry(name).needs


def entry(name: str) -> Entry:
    if name not in REGISTRY:
        raise KeyError(f"unknown method {name!r}; registered: {sorted(REGISTRY)}")
    return REGISTRY[name]


def load(name: str):
    """The method class registered under `name`."""
    module, cls = entry(name).target.split(":")
    return getattr(importlib.import_module(module), cls)
