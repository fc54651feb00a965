"""SCN, the Semantic Completion Network (Lin et al., AAAI 2020), and its ablations.

A proposal generation module scores candidates at every time step from cross-modal states; the
top-K are selected with decaying random exploration and NMS; a semantic completion module
predicts the query's hidden words from each proposal's clips; proposals are rewarded by the
rank of their reconstruction loss, and a rank loss over the softmax-normalised scores trains the
scorer. Ablations are settings of this one model (see config.yaml): no_rand (p = 0), no_reward
(one-hot rewards), no_mask (a captioning decoder, nothing hidden), no_share (separate modules),
official (the authors' code where it differs from the paper).
"""

from __future__ import annotations

import torch

from wsmr.methods.inputs import MethodInputs
from wsmr.methods.learned import LearnedMethod, Learner
from wsmr.methods.scn.loss import multi_task_loss, rank_loss, rank_rewards, reconstruction_loss
from wsmr.methods.scn.masking import choose_masked, favoured_words
from wsmr.methods.scn.model import SCNNetwork, padding_mask
from wsmr.methods.scn.proposals import exploration_probability, proposal_bounds, select_top_k


def proposal_ratios(settings: dict, dataset: dict) -> list[float]:
    """The dataset's ratios, or, given a number n, the widths i/n of the video (authors' code)."""
    ratios = settings.get("ratios")
    if ratios is None:
        return list(dataset["ratios"])
    if isinstance(ratios, int):
        return [i / ratios for i in range(1, ratios + 1)]
    return list(ratios)


class SCNLearner(Learner):
    def __init__(self, data: MethodInputs, settings: dict, ratios: list[float]):
        self.data, self.s = data, settings
        self.ratios = torch.tensor(ratios, dtype=torch.float32)
        self.model = SCNNetwork(data.embeddings, data.feature_dim, len(ratios), settings)

    def scores_and_bounds(self, batch):
        scores = self.model.score_proposals(batch["video"], batch["n_clips"], batch["words"],
                                            batch["n_words"])
        bounds, valid = proposal_bounds(batch["n_clips"], batch["video"].shape[1],
                                        self.ratios.to(self.device))
        return scores, bounds, valid

    def loss(self, batch, updates):
        s, batch = self.s, self.on_device(batch)
        words, n_words, n_clips = batch["words"], batch["n_words"], batch["n_clips"]
        scores, bounds, valid = self.scores_and_bounds(batch)
        exploration = s["exploration"]
        p = exploration_probability(updates, exploration["lambda1"], exploration["lambda2"])
        picks = select_top_k(scores.detach(), bounds, valid, s["k"], p, s["train_nms"])
        picked_bounds = bounds.gather(1, picks[..., None].expand(-1, -1, 2))
        favoured = favoured_words(batch["tags"], words.shape[1], tuple(s["mask_tags"]))
        hidden = choose_masked(n_words, favoured, s["mask_fraction"], s["mask_weight"])
        logits = self.model.predict_words(batch["video"], n_clips, picked_bounds, words, n_words,
                                          hidden)
        scored = hidden if s["loss_on"] == "masked" else ~padding_mask(n_words, words.shape[1])
        rec = reconstruction_loss(logits, words, scored, s["label_smoothing"], s["rec_reduction"])
        rank = rank_loss(scores.gather(1, picks), rank_rewards(rec.detach(), s["rewards"]))
        widths = (picked_bounds[..., 1] - picked_bounds[..., 0]) / n_clips[:, None]
        return multi_task_loss(rec, rank, s["beta"]), {
            "rec": float(rec.detach().mean()), "rank": float(rank.detach().mean()),
            "exploration_p": p, "picked_width": float(widths[:, 0].mean())}

    def ranking_candidates(self, batch):
        scores, bounds, valid = self.scores_and_bounds(batch)   # bounds: clip positions
        return bounds.cpu(), scores.float().cpu(), valid.cpu()


class SCN(LearnedMethod):
    def build_learner(self, data: MethodInputs) -> SCNLearner:
        ratios = proposal_ratios(self.job.settings, self.job.dataset)
        return SCNLearner(data, self.job.settings, ratios)
