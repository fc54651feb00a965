"""Penn Treebank POS tags from NLTK's averaged perceptron tagger, and getting its data."""

from __future__ import annotations

import os
from pathlib import Path

import nltk

TAGGER_PACKAGE = "averaged_perceptron_tagger_eng"
TAGGER_RESOURCE = f"taggers/{TAGGER_PACKAGE}"


class TaggerDataMissing(LookupError):
    """NLTK's tagger model is nowhere on NLTK's data path."""


def require_tagger_data() -> None:
    """Fail early, and say how to fix it, when the tagger's model files cannot be found.

    NLTK's own LookupError suggests `nltk.download()` in a Python shell, which is not how
    a pipeline user gets it: they either point NLTK_DATA at a copy or let the rule fetch it.
    """
    try:
        nltk.data.find(f"{TAGGER_RESOURCE}/")
    except LookupError:
        searched = ", ".join(str(p) for p in nltk.data.path) or "(nowhere: nltk.data.path is empty)"
        raise TaggerDataMissing(
            f"NLTK's POS tagger data '{TAGGER_PACKAGE}' was not found (NLTK_DATA="
            f"{os.environ.get('NLTK_DATA', '<unset>')}; searched: {searched}). Either point "
            f"NLTK_DATA at a folder that holds {TAGGER_RESOURCE}/ (e.g. a copy of nltk_data), "
            "or run the pipeline once with internet access so that its rule downloads it into "
            "resources/nltk_data (wsmr.text.download_nltk_data)."
        ) from None


def tag_sentences(sentences: list[list[str]]) -> list[list[str]]:
    """The POS tag of every token, sentence by sentence (one tagger load for the whole list)."""
    if not sentences:
        return []
    require_tagger_data()
    tagged = nltk.pos_tag_sents(sentences, lang="eng")
    return [[tag for _, tag in sentence] for sentence in tagged]


def download_nltk_data(target_dir: str | os.PathLike) -> Path:
    """Download the tagger's data into `target_dir` (a folder to use as NLTK_DATA); return it."""
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    nltk.download(TAGGER_PACKAGE, download_dir=str(target_dir), quiet=True, raise_on_error=True)
    nltk.data.find(f"{TAGGER_RESOURCE}/", paths=[str(target_dir)])  # it landed where asked
    return target_dir
