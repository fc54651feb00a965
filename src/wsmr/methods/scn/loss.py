"""SCN's losses: reconstruction of the hidden words, rewards by rank, the rank loss (Eq. 6–9)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reconstruction_loss(logits: torch.Tensor, words: torch.Tensor, scored: torch.Tensor,
                        label_smoothing: float = 0.0, reduction: str = "sum") -> torch.Tensor:
    """(B, K) negative log-likelihood of the `scored` words (B, L) under each proposal's logits
    (B, K, L, V): summed as in Eq. 7 (the masked words, or every word for a captioning
    decoder), or averaged over the scored words as the authors' code does."""
    batch, k, length, vocab = logits.shape
    targets = words[:, None, :].expand(batch, k, length)
    nll = F.cross_entropy(logits.reshape(-1, vocab).float(), targets.reshape(-1),
                          reduction="none", label_smoothing=label_smoothing).view(batch, k, length)
    total = (nll * scored[:, None, :]).sum(dim=-1)
    return total if reduction == "sum" else total / scored.sum(dim=1, keepdim=True).clamp(min=1)


def rank_rewards(losses: torch.Tensor, scheme: list[float] | str) -> torch.Tensor:
    """(B, K) rewards from the proposals' reconstruction losses (lower loss, higher reward).

    "rank": 1 for the best, down to 0 in steps of 1/(K-1) (the paper); "one_hot": 1 for the best
    only (no_reward: the rank loss becomes a cross-entropy); a list gives the reward per rank
    from worst to best (the authors' code: [0, 0.5, 1])."""
    k = losses.shape[1]
    rank_from_best = losses.argsort(dim=1).argsort(dim=1)          # 0 for the lowest loss
    if scheme == "rank":
        table = torch.linspace(1.0, 0.0, k, device=losses.device)
    elif scheme == "one_hot":
        first = torch.tensor(0, device=losses.device)
        table = torch.zeros(k, device=losses.device).index_fill(0, first, 1.0)
    else:
        table = torch.tensor(scheme[::-1], dtype=torch.float32, device=losses.device)
    return table[rank_from_best]


def rank_loss(scores: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """(B, K) -R_k log softmax(S)_k over the K selected proposals' confidence scores (Eq. 8)."""
    return -rewards * torch.log_softmax(scores.float(), dim=1)


def multi_task_loss(reconstruction: torch.Tensor, rank: torch.Tensor, beta: float) -> torch.Tensor:
    """Eq. 9: mean over proposals (and the batch) of L_rec + beta * L_rank."""
    return (reconstruction + beta * rank).mean()
