"""Sentences to word tokens, and the cap on a sentence's length."""

from __future__ import annotations

from nltk.tokenize import TreebankWordTokenizer

# Treebank rules are regular expressions: unlike nltk.word_tokenize they need no punkt
# data, and the queries of these datasets are single sentences, so no sentence split is lost.
_TREEBANK = TreebankWordTokenizer()


def split_words(sentence: str) -> list[str]:
    """Treebank tokens of one sentence, case kept: the POS tagger was trained on cased text."""
    return _TREEBANK.tokenize(sentence)


def lower_case(words: list[str]) -> list[str]:
    """The tokens the vocabulary sees: case carries no meaning in these queries."""
    return [word.lower() for word in words]


def cap_words(tokens: list[str], tags: list[str], max_words: int
              ) -> tuple[list[str], list[str], bool]:
    """Keep the first `max_words` tokens and their tags; say whether anything was cut.

    Tokens include punctuation: the cap bounds the sequence a model reads, which is tokens.
    """
    was_cut = len(tokens) > max_words
    return tokens[:max_words], tags[:max_words], was_cut
