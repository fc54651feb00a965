"""MS-2D, multi-scale 2D representation learning (arXiv 2111.02741), and its variants.

Per temporal scale a 2D map of candidate moments is fused with the query and convolved into a
score map; the top-K candidates of every scale are captioned, and how well each reconstructs
the query gives it a pseudo-label for the reconstruction-guided BCE (RG-BCE) on its score.
Variants are settings of this one model (see config.yaml): the scales, the weight lambda of
the reconstruction loss, and `supervised` (the network trained on ground-truth boundaries
with 2D-TAN's scaled-IoU BCE, an upper bound). Decisions where the paper is ambiguous:
docs/ms2d.md.
"""

from __future__ import annotations

import torch

from wsmr.methods.inputs import MethodInputs, seconds_to_fractions
from wsmr.methods.learned import LearnedMethod, Learner
from wsmr.methods.ms2d.loss import (
    moment_iou,
    normalised_losses,
    pseudo_labels,
    reconstruction_loss,
    reconstruction_nll,
    rg_bce,
    scaled_iou,
    scaled_iou_bce,
)
from wsmr.methods.ms2d.maps import cell_bounds
from wsmr.methods.ms2d.model import MS2DNetwork


def select_top_k(scores: torch.Tensor, valid: torch.Tensor, k: int) -> torch.Tensor:
    """(B, min(k, valid cells)) flat indices of a score map's (B, N, N) best valid cells."""
    k = min(k, int(valid.sum()))
    return scores.detach().masked_fill(~valid, -1.0).flatten(1).topk(k, dim=1).indices


def gather_cells(maps: torch.Tensor, picks: torch.Tensor) -> torch.Tensor:
    """The cells `picks` (B, K) of maps (B, N, N, ...) -> (B, K, ...)."""
    flat = maps.flatten(1, 2)
    index = picks.view(*picks.shape, *([1] * (flat.dim() - 2))).expand(-1, -1, *flat.shape[2:])
    return flat.gather(1, index)


class MS2DLearner(Learner):
    def __init__(self, data: MethodInputs, settings: dict):
        self.data, self.s = data, settings
        self.model = MS2DNetwork(data.embeddings, data.feature_dim, settings)
        # ground truth of the training queries, as fractions of the video's clips (through its
        # own clip times): read by `supervised` only
        self.targets = {row["qid"]: tuple(seconds_to_fractions([row["start"], row["end"]],
                                                               data.clip_edges[row["vid"]]))
                        for row in data.splits["train"].samples}

    def run(self, batch) -> list[dict]:
        return self.model(batch["video"], batch["n_clips"], batch["words"], batch["n_words"])

    def loss(self, batch, updates):
        batch = self.on_device(batch)
        outputs = self.run(batch)
        if self.s["supervision"] == "boundaries":
            return self.boundary_loss(batch, outputs)
        return self.weak_loss(batch, outputs)

    def weak_loss(self, batch, outputs):
        """RG-BCE on every scale's top-K candidates, plus lambda times their reconstruction loss."""
        s = self.s
        picks = [select_top_k(o["scores"], self.model.valid(j), s["top_k"])
                 for j, o in enumerate(outputs)]
        candidates = torch.cat([gather_cells(o[s["caption_reads"]], p)
                                for o, p in zip(outputs, picks, strict=True)], dim=1)
        logits, scores = (torch.cat([gather_cells(o[name], p)
                                     for o, p in zip(outputs, picks, strict=True)], dim=1)
                          for name in ("logits", "scores"))
        nll = reconstruction_nll(self.model.caption(candidates, batch["words"]), batch["words"],
                                 batch["n_words"])
        labels = torch.cat([self.pseudo_labels(scale_nll, batch["n_words"]) for scale_nll in
                            nll.detach().split([p.shape[1] for p in picks], dim=1)], dim=1)
        rg, rec = rg_bce(logits, labels), reconstruction_loss(nll, batch["n_words"])
        best = scores.detach().argmax(1, keepdim=True)   # the top-1 pick over all scales
        bounds = torch.cat([cell_bounds(n, self.device).flatten(0, 1)[p]
                            for n, p in zip(self.model.scales, picks, strict=True)], dim=1)
        width = (bounds[..., 1] - bounds[..., 0]).gather(1, best)
        return rg + s["lambda_rec"] * rec, {"rg_bce": float(rg.detach()),
                                            "rec": float(rec.detach()),
                                            "label": float(labels.mean()),
                                            "picked_width": float(width.mean())}

    def pseudo_labels(self, nll, n_words):
        """y_k of one scale's K candidates from their reconstruction losses (B, K)."""
        losses = normalised_losses(nll, n_words, self.s["normalise"])
        return pseudo_labels(losses, self.s["l_min"], self.s["l_max"])

    def boundary_loss(self, batch, outputs):
        """2D-TAN's scaled-IoU BCE over every valid cell, averaged per scale, then over scales."""
        target = torch.tensor([self.targets[q] for q in batch["qids"]], dtype=torch.float64,
                              device=self.device)
        losses = []
        for j, (n, o) in enumerate(zip(self.model.scales, outputs, strict=True)):
            iou = moment_iou(cell_bounds(n, self.device), target).float()
            losses.append(scaled_iou_bce(o["logits"], scaled_iou(iou, self.s["min_iou"],
                                                                 self.s["max_iou"]),
                                         self.model.valid(j)))
        loss = torch.stack(losses).mean()
        return loss, {"scaled_iou_bce": float(loss.detach())}

    def candidates(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Every valid cell of every scale: scores (B, C) and bounds (C, 2) as video fractions."""
        outputs = self.run(batch)
        scores = [o["scores"][:, self.model.valid(j)] for j, o in enumerate(outputs)]
        bounds = [cell_bounds(n, self.device)[self.model.valid(j)]
                  for j, n in enumerate(self.model.scales)]
        return torch.cat(scores, dim=1), torch.cat(bounds, dim=0)

    def ranking_candidates(self, batch):
        scores, bounds = self.candidates(batch)
        # bounds (C, 2) are fractions of the clips, the same for every row
        positions = bounds.cpu()[None] * batch["n_clips"].cpu()[:, None, None]
        return positions, scores.cpu().double(), None


class MS2D(LearnedMethod):
    def build_learner(self, data: MethodInputs) -> MS2DLearner:
        return MS2DLearner(data, self.job.settings)
