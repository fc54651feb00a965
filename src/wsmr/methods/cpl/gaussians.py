"""CPL's proposals: Gaussian masks over a video, the in-video negatives and their schedule.

A proposal is a centre c and a width w, both fractions of the video. Its mask over the video's
sampled positions t in [0, 1] is exp(-(t - c)^2 / (2 s^2)) with s = w / sigma, scaled so that
its largest value is 1, as the authors' code does. The masks reweight attention over the
video (wsmr.methods.cpl.model); the moment a proposal stands for is [c - w/2, c + w/2], clipped
to the video. Everything is batched: any leading shape of centres and widths.
"""

from __future__ import annotations

import torch

MIN_WIDTH = 1e-2          # the authors' clamp: a mask never collapses onto one position


def sample_positions(n_clips: torch.Tensor, count: int) -> torch.Tensor:
    """(B, count) clip indices spread evenly over each video, first and last clip included
    (the authors' `linspace(0, n - 1, count).long()`), so every video has `count` positions
    whatever its length: a longer one is sub-sampled, a shorter one repeats clips."""
    steps = torch.arange(count, device=n_clips.device)
    return steps[None, :] * (n_clips[:, None] - 1) // max(count - 1, 1)   # exact, in integers


def gaussian_masks(centres: torch.Tensor, widths: torch.Tensor, positions: int,
                   sigma: float) -> torch.Tensor:
    """(..., positions) masks of the Gaussians (centres, widths) over positions in [0, 1],
    each divided by its largest value. Computed in log space: a narrow Gaussian between two
    positions underflows to 0 everywhere, and 0 / 0 would be its mask."""
    t = torch.linspace(0, 1, positions, device=centres.device)
    spread = widths.clamp(min=MIN_WIDTH)[..., None] / sigma
    log_mask = -(t - centres[..., None]) ** 2 / (2 * spread ** 2)
    return torch.exp(log_mask - log_mask.amax(dim=-1, keepdim=True))


def schedule_progress(updates: int, updates_per_epoch: int, epochs: int) -> float:
    """epoch / max_epoch with epochs counted from 1, as the authors' loop: constant within an
    epoch, 1 in the last."""
    return min((updates // max(updates_per_epoch, 1) + 1) / epochs, 1.0)


def negative_proposals(centres: torch.Tensor, widths: torch.Tensor, progress: float,
                       gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., 2) centres and widths of the two negatives of each proposal, left then right.

    With r = progress^gamma, the left negative sits at r/2 of the gap between the video's start
    and the proposal's start, with that same value as its width; the right one mirrors it. Early
    (r near 0) they are narrow and at the video's ends, far from the proposal: easy. As r grows
    they widen and move in, until each covers the middle of its gap: hard. gamma = 0 gives the
    hard ones from the start (0^0 = 1)."""
    r = progress ** gamma
    left_gap = (centres - widths / 2).clamp(min=0)
    right_gap = (1 - centres - widths / 2).clamp(min=0)
    left, right = r * left_gap / 2, r * right_gap / 2
    return torch.stack([left, 1 - right], dim=-1), torch.stack([left, right], dim=-1)


def negative_masks(centres: torch.Tensor, widths: torch.Tensor, positions: int, sigma: float,
                   progress: float, gamma: float) -> torch.Tensor:
    """(..., 2, positions) masks of the two negatives; their spread is width / (sigma / 2), twice
    a proposal's for the same width, as in the authors' code."""
    negative_centres, negative_widths = negative_proposals(centres, widths, progress, gamma)
    return gaussian_masks(negative_centres, negative_widths, positions, sigma / 2)


def moment_bounds(centres: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """(..., 2) the moments [c - w/2, c + w/2] the proposals stand for, clipped to [0, 1]."""
    return torch.stack([(centres - widths / 2).clamp(min=0), (centres + widths / 2).clamp(max=1)],
                       dim=-1)
