"""Multi-scale 2D temporal maps: a video's clips resampled to N segments per scale, and the
N x N map of candidate moments (x <= y) whose feature is the max-pool of segments x..y.

Everything is a tensor op over the batch: the resampling is one matrix product, the map one
cumulative max; no Python loop over samples or cells.
"""

from __future__ import annotations

import math

import torch


def segment_weights(n_clips: torch.Tensor, length: int, n_segments: int) -> torch.Tensor:
    """(B, N, T) averaging weights: segment i covers [i/N, (i+1)/N) of the video, clip t covers
    [t/n, (t+1)/n) of its n clips; a segment is the overlap-weighted mean of the clips it
    meets. Longer videos are average-pooled (as 2D-TAN's), shorter ones repeat a clip."""
    n = n_clips.to(torch.float64)[:, None, None]
    t = torch.arange(length, device=n_clips.device, dtype=torch.float64)[None, None, :]
    i = torch.arange(n_segments, device=n_clips.device, dtype=torch.float64)[None, :, None]
    low = torch.maximum(i / n_segments, t / n)
    high = torch.minimum((i + 1) / n_segments, (t + 1) / n)
    weights = (high - low).clamp(min=0) * (t < n)
    return (weights / weights.sum(-1, keepdim=True)).float()


def resample(video: torch.Tensor, n_clips: torch.Tensor, n_segments: int) -> torch.Tensor:
    """(B, N, D) segment features of padded clip features (B, T, D)."""
    return segment_weights(n_clips, video.shape[1], n_segments) @ video


def moment_map(segments: torch.Tensor) -> torch.Tensor:
    """(B, N, N, D): cell [x, y] = max(segments[x..y]) where x <= y, else 0.

    Row x is the running maximum, along y, of the segments with those before x hidden."""
    n = segments.shape[1]
    below = upper_triangle(n, segments.device).logical_not()[None, :, :, None]
    rows = segments[:, None].expand(-1, n, -1, -1).masked_fill(below, -math.inf)
    return rows.cummax(dim=2).values.masked_fill(below, 0.0)


def upper_triangle(n: int, device=None) -> torch.Tensor:
    """(N, N) True where x <= y: the cells that are moments."""
    index = torch.arange(n, device=device)
    return index[:, None] <= index[None, :]


def valid_cells(n: int, dense_widths: int, device=None) -> torch.Tensor:
    """(N, N) True at the candidates kept by 2D-TAN's sparse sampling: every moment up to
    `dense_widths` segments long; beyond, the stride s doubles with every doubling of the width
    (s = 2^ceil(log2(width / dense_widths))), and a moment is kept when its start and its width
    are multiples of s. With dense_widths = 16 and N = 64 this is 2D-TAN's ActivityNet mask
    (pooling counts 15, 8, 8, 8); with N <= dense_widths the map is dense."""
    index = torch.arange(n, device=device)
    start, width = index[:, None], index[None, :] - index[:, None] + 1
    ratio = (width.clamp(min=1).double() / dense_widths).clamp(min=1.0)
    stride = (2 ** torch.ceil(torch.log2(ratio))).long()
    return (width >= 1) & (start % stride == 0) & (width % stride == 0)


def cell_bounds(n: int, device=None) -> torch.Tensor:
    """(N, N, 2) each cell's (start, end) as fractions of the video: [x/N, (y+1)/N]."""
    index = torch.arange(n, device=device, dtype=torch.float64)
    start = (index[:, None] / n).expand(n, n)
    end = ((index[None, :] + 1) / n).expand(n, n)
    return torch.stack([start, end], dim=-1)
