"""CPL's losses: reconstruction, the intra-video hinge (contrastive) losses, the diversity loss.

All take per-proposal reconstruction losses (NLL per word, from
wsmr.methods.scn.loss.reconstruction_loss) and return one number for the batch.
"""

from __future__ import annotations

import torch


def positive_losses(proposal_nll: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B,) the lowest reconstruction loss among each query's proposals (B, N), and which."""
    return proposal_nll.min(dim=1)


def reconstruction_term(positive_nll: torch.Tensor, reference_nll: torch.Tensor | None
                        ) -> torch.Tensor:
    """The positive's NLL, averaged with the whole video's when there is a reference: the
    decoder learns to complete the query from the whole video too, so that the hinge against
    it compares two trained readings."""
    if reference_nll is None:
        return positive_nll.mean()
    return (positive_nll.mean() + reference_nll.mean()) / 2


def hinge(positive_nll: torch.Tensor, negative_nll: torch.Tensor, margin: float) -> torch.Tensor:
    """(B,) max(0, L_pos - L_neg + margin): the positive must reconstruct better by `margin`."""
    return (positive_nll - negative_nll + margin).clamp(min=0)


def contrastive_term(positive_nll: torch.Tensor, reference_nll: torch.Tensor | None,
                     negative_nll: torch.Tensor | None, reference_margin: float,
                     negative_margin: float) -> torch.Tensor:
    """The intra-video contrastive loss: hinge against the whole video (margin m1) plus hinges
    against the positive's two in-video negatives (B, 2) (margin m2), averaged over the batch.
    Either part can be absent (the ablations)."""
    total = torch.zeros_like(positive_nll)
    if reference_nll is not None:
        total = total + hinge(positive_nll, reference_nll, reference_margin)
    if negative_nll is not None:
        total = total + hinge(positive_nll[:, None], negative_nll, negative_margin).sum(dim=1)
    return total.mean()


def diversity_loss(masks: torch.Tensor, target: float) -> torch.Tensor:
    """||lambda I - G G^T||_F^2 averaged over the batch, G the (B, N, P) masks each normalised
    to sum 1: overlapping proposals are penalised, and each mask's self-overlap sum_t g_t^2 is
    drawn to lambda, which sets how concentrated (how wide) a proposal is."""
    g = masks / masks.sum(dim=-1, keepdim=True)
    overlap = g @ g.transpose(1, 2)
    identity = torch.eye(masks.shape[1], device=masks.device, dtype=overlap.dtype)
    return ((target * identity - overlap) ** 2).sum(dim=(1, 2)).mean()
