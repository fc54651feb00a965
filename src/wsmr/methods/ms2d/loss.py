"""MS-2D's losses: the reconstruction loss, pseudo-labels from it, RG-BCE, and 2D-TAN's
scaled-IoU BCE for the supervised upper bound. Signs: every loss here is minimised.

The BCEs read the scores' logits: `binary_cross_entropy` on sigmoid scores is refused by CUDA
autocast. The logits are clipped where the scores used to be (1e-6 from 0 and 1), so the losses
and their gradients are those of the clipped scores (tests/test_ms2d.py checks it)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def reconstruction_nll(log_probs: torch.Tensor, words: torch.Tensor,
                       n_words: torch.Tensor) -> torch.Tensor:
    """(B, C) negative log-likelihood of each query's words, summed over its words, under each
    candidate's caption: -sum_l log P(w_l | F^k, w_<l). log_probs: (B, C, L, V)."""
    picked = log_probs.gather(-1, words[:, None, :, None].expand(-1, log_probs.shape[1], -1, 1))
    real = torch.arange(words.shape[1], device=words.device)[None, :] < n_words[:, None]
    return -(picked.squeeze(-1) * real[:, None, :]).sum(-1)


def reconstruction_loss(nll: torch.Tensor, n_words: torch.Tensor) -> torch.Tensor:
    """L_rec = -1/(N_s K L) sum_k sum_l log P: the mean per-word NLL over candidates and queries."""
    return (nll / n_words[:, None]).mean()


def normalised_losses(nll: torch.Tensor, n_words: torch.Tensor, how: str) -> torch.Tensor:
    """l_k of one scale's K candidates (B, K) from their summed NLL (see docs/ms2d.md).
    `share`: the paper's equation read literally, each candidate's share of the scale's summed
    loss; `min_max`: rescaled so the scale's best candidate gets 0 and its worst 1; `gap`: the
    per-word NLL above the scale's best candidate, in nats."""
    low = nll.min(-1, keepdim=True).values
    if how == "share":
        return nll / nll.sum(-1, keepdim=True).clamp(min=1e-12)
    if how == "gap":
        return (nll - low) / n_words[:, None]
    return (nll - low) / (nll.max(-1, keepdim=True).values - low).clamp(min=1e-12)


def pseudo_labels(losses: torch.Tensor, l_min: float, l_max: float) -> torch.Tensor:
    """y = 1 below l_min, 0 from l_max on, 1 - l between (l: the normalised `losses`)."""
    return torch.where(losses < l_min, torch.ones_like(losses),
                       torch.where(losses >= l_max, torch.zeros_like(losses), 1 - losses))


SCORE_CLIP = 1e-6
LOGIT_CLIP = math.log((1 - SCORE_CLIP) / SCORE_CLIP)   # logit(1 - 1e-6): sigmoid's clip, as a logit


def bce_from_logits(logits: torch.Tensor, targets: torch.Tensor, reduction: str = "mean"):
    """BCE of sigmoid(logits), the scores clipped to [1e-6, 1 - 1e-6], against `targets`."""
    return F.binary_cross_entropy_with_logits(logits.clamp(-LOGIT_CLIP, LOGIT_CLIP), targets,
                                              reduction=reduction)


def rg_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Reconstruction-guided BCE of the selected candidates' score logits, averaged over them:
    the paper's sum without its minus sign is a log-likelihood; this is its negative."""
    return bce_from_logits(logits, labels.detach())


def scaled_iou(iou: torch.Tensor, min_iou: float, max_iou: float) -> torch.Tensor:
    """2D-TAN's targets: IoU rescaled linearly from [min_iou, max_iou] to [0, 1], clipped."""
    return ((iou - min_iou) / (max_iou - min_iou)).clamp(0, 1)


def moment_iou(bounds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """IoU of candidate bounds (..., 2) with per-query targets (B, 2), broadcast over the
    candidate dimensions: bounds (N, N, 2) and target (B, 2) give (B, N, N)."""
    shape = (target.shape[0],) + (1,) * (bounds.dim() - 1)
    start, end = target[:, 0].view(shape), target[:, 1].view(shape)
    inter = (torch.minimum(bounds[..., 1], end) - torch.maximum(bounds[..., 0], start)).clamp(min=0)
    union = (bounds[..., 1] - bounds[..., 0]) + (end - start) - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def scaled_iou_bce(logits: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor
                   ) -> torch.Tensor:
    """BCE of a score map's logits (B, N, N) against scaled-IoU targets, averaged over valid
    cells."""
    bce = bce_from_logits(logits, targets, reduction="none")
    return (bce * valid).sum() / (valid.sum() * logits.shape[0])
