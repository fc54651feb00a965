"""wsmr: weakly-supervised video moment retrieval, from raw videos to the papers' tables."""

__version__ = "0.1.0"
