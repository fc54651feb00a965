"""Which words semantic completion hides: a share of each query, content words more likely."""

from __future__ import annotations

import torch

WRITTEN_FRACTION_TOLERANCE = 0.01


def favoured_words(tags: list[list[str]], length: int, prefixes: tuple[str, ...]) -> torch.Tensor:
    """(B, length) True where a word's Penn tag starts with one of `prefixes` (NN, VB, ...)."""
    # tags are strings: read once per batch, into one padded tensor
    return torch.tensor([[t.startswith(prefixes) for t in sentence[:length]]
                         + [False] * (length - len(sentence[:length])) for sentence in tags],
                        dtype=torch.bool).view(len(tags), length)


def choose_masked(n_words: torch.Tensor, favoured: torch.Tensor, fraction: float,
                  weight: float) -> torch.Tensor:
    """(B, L) mask of the words to hide: floor(fraction * length) of each query (at least one
    when fraction > 0), drawn without replacement with `weight` for favoured words and 1 for the
    rest (Gumbel top-k, batched)."""
    batch, length = favoured.shape
    present = torch.arange(length, device=n_words.device)[None, :] < n_words[:, None]
    if fraction <= 0:
        return torch.zeros_like(present)
    weights = torch.where(favoured.to(n_words.device), weight, 1.0)
    uniform = torch.rand(batch, length, device=n_words.device).clamp(1e-9, 1 - 1e-9)
    gumbel = -torch.log(-torch.log(uniform))
    keys = (weights.log() + gumbel).masked_fill(~present, -float("inf"))
    ranks = keys.argsort(dim=1, descending=True).argsort(dim=1)
    # the tolerance keeps a third written as a decimal (0.333) at a third: 2 of 6 words, as the
    # authors' code's `length // 3`; floor(6 * 0.333) alone would hide one. It holds to 30 words
    # (30 * (1/3 - 0.333) = 0.01), past the longest query SCN reads (`max_words`, 20)
    count = (n_words.float() * fraction + WRITTEN_FRACTION_TOLERANCE).floor().clamp(min=1)
    return (ranks < count[:, None]) & present
