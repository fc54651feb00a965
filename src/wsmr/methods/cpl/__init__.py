"""CPL, Gaussian-based contrastive proposal learning (Zheng et al., CVPR 2022), and its ablations.

From the video decoded against the query, N Gaussian proposals (centre, width); each proposal's
mask reweights a transformer's attention over the video while it completes the query's hidden
words. The proposal that reconstructs the query best is the positive; it must reconstruct
better, by a margin, than the whole video and than two negatives from the same video, which move
from the video's ends towards the positive as training goes (easy to hard); a diversity loss
keeps the N masks apart. At test the proposals are ranked by reconstruction loss, or by voting
(CPL*). Variants are settings of this one model (config.yaml); decisions: docs/cpl.md.
"""

from __future__ import annotations

import contextlib
import math

import torch

from wsmr.methods.cpl.gaussians import (
    gaussian_masks,
    moment_bounds,
    negative_masks,
    sample_positions,
    schedule_progress,
)
from wsmr.methods.cpl.loss import (
    contrastive_term,
    diversity_loss,
    positive_losses,
    reconstruction_term,
)
from wsmr.methods.cpl.model import CPLNetwork
from wsmr.methods.inputs import MethodInputs
from wsmr.methods.learned import LearnedMethod, Learner
from wsmr.methods.scn.loss import reconstruction_loss
from wsmr.methods.scn.masking import choose_masked, favoured_words
from wsmr.methods.scn.model import padding_mask
from wsmr.methods.scn.proposals import iou_with


def pairwise_iou(bounds: torch.Tensor) -> torch.Tensor:
    """(B, N, N) IoU between every two of each query's moments (B, N, 2)."""
    n = bounds.shape[1]
    return iou_with(bounds.repeat_interleave(n, dim=0), bounds.flatten(0, 1)).view(-1, n, n)


def vote_scores(bounds: torch.Tensor, weighting: str) -> torch.Tensor:
    """(B, N) votes for moments (B, N, 2) ranked by reconstruction loss, best first: each
    moment's summed IoU with all of them (itself included), every voter weighted by its IoU
    with the best-ranked moment ("weighted", the authors' Charades-STA rule: a proposal far
    from the top one hardly votes) or equally ("uniform", their ActivityNet rule)."""
    iou = pairwise_iou(bounds)
    weights = iou[:, 0, :] if weighting == "weighted" else torch.ones_like(iou[:, 0, :])
    return (iou * weights[:, None, :]).sum(dim=2)


def rank_proposals(nll: torch.Tensor, centres: torch.Tensor, widths: torch.Tensor,
                   vote: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Moments (B, N, 2) as video fractions, ranked by reconstruction loss (B, N), best first,
    and their scores: minus the loss, or (vote "weighted" / "uniform") the votes, so that the
    voted moment comes first and equal votes keep the order of the losses."""
    order = nll.argsort(dim=1, stable=True)
    bounds = moment_bounds(centres, widths).gather(1, order[..., None].expand(-1, -1, 2))
    if vote == "none":
        return bounds, -nll.gather(1, order)
    return bounds, vote_scores(bounds, vote)


class CPLLearner(Learner):
    def __init__(self, data: MethodInputs, settings: dict, seed: int):
        self.data, self.s, self.seed = data, settings, seed
        self.model = CPLNetwork(data.embeddings, data.feature_dim, settings)
        self.updates_per_epoch = math.ceil(len(data.splits["train"].samples)
                                           / settings["batch_size"])

    def hidden_words(self, batch) -> torch.Tensor:
        s, words = self.s, batch["words"]
        favoured = favoured_words(batch["tags"], words.shape[1], tuple(s["mask_tags"]))
        return choose_masked(batch["n_words"], favoured, s["mask_fraction"], s["mask_weight"])

    def nll(self, positions, masks, batch, hidden) -> torch.Tensor:
        """(B, M) per-word NLL of the query completed from each of the M readings (B, M, P)."""
        words, n_words = batch["words"], batch["n_words"]
        logits = self.model.complete(positions, masks, words, n_words, hidden)
        return reconstruction_loss(logits, words, ~padding_mask(n_words, words.shape[1]),
                                   self.s["label_smoothing"], "mean")

    def proposals(self, batch):
        """Centres, widths (B, N), their masks (B, N, P) and the sampled clips (B, P, d)."""
        s = self.s
        centres, widths = self.model.propose(batch["video"], batch["n_clips"], batch["words"],
                                             batch["n_words"])
        positions = self.model.sampled_clips(batch["video"],
                                             sample_positions(batch["n_clips"], s["positions"]))
        masks = gaussian_masks(centres, widths, s["positions"], s["sigma"])
        return centres, widths, masks, positions

    def loss(self, batch, updates):
        s, batch = self.s, self.on_device(batch)
        centres, widths, masks, positions = self.proposals(batch)
        hidden = self.hidden_words(batch)
        readings = masks
        if s["reference"]:   # the whole video: a mask of ones
            readings = torch.cat([masks, torch.ones_like(masks[:, :1])], dim=1)
        nll = self.nll(positions, readings, batch, hidden)
        positive_nll, best = positive_losses(nll[:, : s["proposals"]])
        reference_nll = nll[:, -1] if s["reference"] else None
        negative_nll = None
        if s["negatives"]:   # only the positive's negatives enter the loss: only they are read
            progress = schedule_progress(updates, self.updates_per_epoch, s["epochs"])
            negatives = negative_masks(centres.gather(1, best[:, None])[:, 0],
                                       widths.gather(1, best[:, None])[:, 0], s["positions"],
                                       s["sigma"], progress, s["schedule_gamma"])
            negative_nll = self.nll(positions, negatives, batch, hidden)
        rec = reconstruction_term(positive_nll, reference_nll)
        contrastive = contrastive_term(positive_nll, reference_nll, negative_nll,
                                       s["reference_margin"], s["negative_margin"])
        diversity = diversity_loss(masks, s["diversity_target"])
        total = rec + s["contrastive_weight"] * contrastive + s["diversity_weight"] * diversity
        return total, {"rec": float(rec.detach()), "contrastive": float(contrastive.detach()),
                       "diversity": float(diversity.detach()),
                       "positive_width": float(widths.detach().gather(1, best[:, None]).mean())}

    def ranked(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        centres, widths, masks, positions = self.proposals(batch)
        nll = self.nll(positions, masks, batch, self.hidden_words(batch))
        return rank_proposals(nll, centres, widths, self.s["vote"])

    @contextlib.contextmanager
    def prediction_stream(self):
        # the words hidden at test are drawn as in training (the authors' code), from a stream of
        # their own: the same predictions from every call, and training's stream untouched
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            yield

    def ranking_candidates(self, batch):
        bounds, scores = self.ranked(batch)   # bounds: fractions of the clips
        positions = bounds.cpu().double() * batch["n_clips"].cpu()[:, None, None]
        return positions, scores.float().cpu().double(), None


class CPL(LearnedMethod):
    def build_learner(self, data: MethodInputs) -> CPLLearner:
        return CPLLearner(data, self.job.settings, self.job.seed)
