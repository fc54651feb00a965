"""Where a method's numbers must stay in float32 under the loop's CUDA autocast (bf16/fp16).

Autocast runs projections in half precision: right for the hidden states, wrong for the values
that rank, select and reward. bf16 keeps 8 bits of mantissa: sigmoid scores near 0.8 fall on
steps of ~0.004, ties that `argmax` breaks toward the lowest index, and word logits rounded as
much decide which proposal reconstructs best. The last projection into such values runs here.
"""

from __future__ import annotations

import torch


def in_float32(fn, *tensors: torch.Tensor) -> torch.Tensor:
    """fn(*tensors) in float32 with autocast off (a no-op for float32 tensors outside autocast)."""
    with torch.autocast(tensors[0].device.type, enabled=False):
        return fn(*(t.float() for t in tensors))
