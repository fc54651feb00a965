"""What a config key means when config.yaml leaves it out: every default, in one place.

The schema (workflow/schemas/config.schema.yaml) describes the keys and names this module for
their defaults; the rules and the library read the values from here.
"""

from __future__ import annotations

DATASET = {
    "on_unrepairable": "error",   # a defect that cannot be repaired stops the run
    "val_fraction": 0.1,          # of the training videos, held out when there is no val file
    "train_threads": 2,           # CPU threads of each train job
}

FEATURES = {"source": "extract", "shards": 2, "batch_size": 8, "pca_dim": 500, "seed": 0,
            "precision": "auto", "video_pattern": "{vid}.mp4", "on_bad_video": "error"}

TEXT = {
    "max_words": 20,
    "vocab_size": 8000,
    "glove": {"source": "package", "path": None, "dim": None},
    "seed": 0,
}

GENERATOR = {"layout": "tiled"}   # the first design; config.yaml's `shapes` renders `stream`


def dataset_value(ds_cfg: dict, key: str):
    """A dataset's `key` (one of DATASET's), or its default."""
    return ds_cfg.get(key, DATASET[key])
