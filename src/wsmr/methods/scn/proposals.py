"""SCN's proposals: candidates at every time step, their selection, and their clips.

At every clip t a video of n_v clips has one candidate per ratio r_k: (t + 1 - r_k * n_v, t + 1)
in clip units (the paper's (t - r_k n_v, t) with t counted from 1). Candidates that would start
before the video are not valid. Everything is batched over the videos of a batch.
"""

from __future__ import annotations

import math

import torch


def proposal_bounds(n_clips: torch.Tensor, steps: int, ratios: torch.Tensor):
    """(B, T*n_k, 2) candidate bounds in clips, and (B, T*n_k) validity; index = t * n_k + k."""
    ends = torch.arange(1, steps + 1, dtype=torch.float32, device=n_clips.device)
    widths = ratios[None, :] * n_clips[:, None].float()                       # (B, n_k)
    starts = ends[None, :, None] - widths[:, None, :]                         # (B, T, n_k)
    valid = (starts >= -1e-6) & (ends[None, :, None] <= n_clips[:, None, None])
    bounds = torch.stack([starts.clamp(min=0), ends[None, :, None].expand_as(starts)], dim=-1)
    return bounds.flatten(1, 2), valid.flatten(1, 2)


def exploration_probability(updates: int, lambda1: float, lambda2: float) -> float:
    """p = λ1 exp(-n_update / λ2): the chance of picking a random proposal instead of the best."""
    return lambda1 * math.exp(-updates / lambda2)


def iou_with(bounds: torch.Tensor, picked: torch.Tensor) -> torch.Tensor:
    """IoU of every candidate (B, N, 2) with one picked moment per video (B, 2)."""
    inter = (torch.minimum(bounds[..., 1], picked[:, None, 1])
             - torch.maximum(bounds[..., 0], picked[:, None, 0])).clamp(min=0)
    union = (bounds[..., 1] - bounds[..., 0]) + (picked[:, None, 1] - picked[:, None, 0]) - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-9), torch.zeros_like(inter))


def select_top_k(scores: torch.Tensor, bounds: torch.Tensor, valid: torch.Tensor, k: int,
                 p: float, nms: float) -> torch.Tensor:
    """(B, k) indices: each pick is, with probability p, a random available candidate, else the
    best-scored one; candidates overlapping a pick by more than `nms` IoU stop being available.
    When NMS leaves nothing, any valid candidate is available again."""
    available = valid.clone()
    picks = []
    for _ in range(k):
        pool = torch.where(available.any(dim=1, keepdim=True), available, valid)
        best = scores.masked_fill(~pool, -math.inf).argmax(dim=1)
        random = torch.multinomial(pool.float(), 1).squeeze(1)
        explore = torch.rand(scores.shape[0], device=scores.device) < p
        pick = torch.where(explore, random, best)
        picks.append(pick)
        picked = bounds.gather(1, pick[:, None, None].expand(-1, 1, 2)).squeeze(1)
        available &= iou_with(bounds, picked) <= nms
        available[torch.arange(len(pick)), pick] = False
    return torch.stack(picks, dim=1)


def sample_clip_positions(bounds: torch.Tensor, n_clips: torch.Tensor, length: int) -> torch.Tensor:
    """(B, K, length) clip indices spread evenly over each proposal (B, K, 2): a proposal's clips
    resampled to a fixed length, as the authors' code does (16), so all proposals batch together."""
    fractions = (torch.arange(length, device=bounds.device) + 0.5) / length
    positions = bounds[..., :1] + (bounds[..., 1:] - bounds[..., :1]) * fractions
    last = (n_clips - 1)[:, None, None]
    return positions.floor().long().clamp(min=0).minimum(last)
