"""CPL's parts against hand-made cases, and a learning test on the feature-level twin."""

import math

import numpy as np
import pytest
import torch

from wsmr.methods.cpl import rank_proposals, vote_scores
from wsmr.methods.cpl.gaussians import (
    gaussian_masks,
    moment_bounds,
    negative_masks,
    negative_proposals,
    sample_positions,
    schedule_progress,
)
from wsmr.methods.cpl.loss import (
    contrastive_term,
    diversity_loss,
    hinge,
    positive_losses,
    reconstruction_term,
)
from wsmr.methods.cpl.model import CPLNetwork

SMALL = dict(hidden=16, heads=2, layers=1, dropout=0.0, causal=True, proposals=3, sigma=9.0,
             positions=10)


def test_gaussian_masks_on_a_hand_made_case():
    # positions 0, .25, .5, .75, 1; width 0.9 -> spread 0.1
    mask = gaussian_masks(torch.tensor([0.5]), torch.tensor([0.9]), 5, 9.0)[0]
    far = math.exp(-0.25 ** 2 / (2 * 0.1 ** 2))
    assert mask.tolist() == pytest.approx([math.exp(-0.5 ** 2 / 0.02), far, 1.0, far,
                                           math.exp(-0.5 ** 2 / 0.02)], rel=1e-5)
    # a centre between positions: the largest sampled value is 1, the nearest position's
    between = gaussian_masks(torch.tensor([0.3]), torch.tensor([0.9]), 5, 9.0)[0]
    assert between.max().item() == 1.0 and between.argmax().item() == 1
    # a narrow Gaussian far from every position still has a mask (no 0 / 0)
    narrow = gaussian_masks(torch.tensor([0.3]), torch.tensor([0.0]), 5, 9.0)[0]
    assert torch.isfinite(narrow).all() and narrow.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]


def test_positions_are_spread_over_each_video():
    index = sample_positions(torch.tensor([10, 3]), 4)
    assert index.tolist() == [[0, 3, 6, 9], [0, 0, 1, 2]]


def self_overlap(width: float, positions: int) -> float:
    mask = gaussian_masks(torch.tensor([0.5]), torch.tensor([width]), positions, 9.0)
    return float(((mask / mask.sum()) ** 2).sum())


def test_the_diversity_target_sets_a_width_that_depends_on_the_positions():
    """lambda = 0.146 is the self-overlap of a mask of width ~0.34 over the code's 50 positions;
    over 12 positions (48 frames // 4) even a mask as wide as the video overlaps itself more,
    so the diversity loss pushes every proposal to be wider than the video (docs/cpl.md)."""
    assert self_overlap(0.30, 50) > 0.146 > self_overlap(0.38, 50)
    assert self_overlap(1.0, 12) > 0.146


def test_moments_are_clipped_to_the_video():
    bounds = moment_bounds(torch.tensor([0.1, 0.5]), torch.tensor([0.4, 0.2]))
    assert torch.allclose(bounds, torch.tensor([[0.0, 0.3], [0.4, 0.6]]))


def test_the_schedule_counts_epochs_from_one():
    assert [schedule_progress(u, 10, 4) for u in (0, 9, 10, 39, 100)] == [0.25, 0.25, 0.5, 1.0, 1.0]


def test_negatives_move_in_from_the_ends_as_training_goes():
    centre, width = torch.tensor([0.6]), torch.tensor([0.2])   # gaps: 0.5 left, 0.3 right
    early_c, early_w = negative_proposals(centre, width, 0.25, gamma=0.5)   # r = 0.5
    assert early_c[0].tolist() == pytest.approx([0.125, 0.925])
    assert early_w[0].tolist() == pytest.approx([0.125, 0.075])
    late_c, late_w = negative_proposals(centre, width, 1.0, gamma=0.5)      # r = 1
    assert late_c[0].tolist() == pytest.approx([0.25, 0.85])
    assert late_w[0].tolist() == pytest.approx([0.25, 0.15])
    start_c, _ = negative_proposals(centre, width, 0.0, gamma=0.5)          # r = 0: at the ends
    assert start_c[0].tolist() == pytest.approx([0.0, 1.0])
    hard_c, _ = negative_proposals(centre, width, 0.25, gamma=0.0)          # no schedule
    assert hard_c[0].tolist() == pytest.approx([0.25, 0.85])
    # even at the end of training the negatives hardly reach into the positive's moment
    masks = negative_masks(centre, width, 101, 9.0, 1.0, 0.5)[0]
    inside = torch.linspace(0, 1, 101).sub(0.6).abs() <= 0.1
    assert masks[:, inside].max() < 0.05 and masks.amax(dim=1).tolist() == [1.0, 1.0]


def test_losses_on_a_hand_made_case():
    nll, best = positive_losses(torch.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, 0.7]]))
    assert nll.tolist() == [1.0, 0.5] and best.tolist() == [1, 0]
    assert reconstruction_term(nll, torch.tensor([2.0, 1.5])).item() == pytest.approx(1.25)
    assert reconstruction_term(nll, None).item() == pytest.approx(0.75)
    assert (hinge(torch.tensor([1.0, 1.0]), torch.tensor([2.0, 1.05]), 0.1).tolist()
            == pytest.approx([0.0, 0.05]))
    positive, reference = torch.tensor([1.0]), torch.tensor([1.05])
    negatives = torch.tensor([[2.0, 1.1]])
    # reference: 1 - 1.05 + 0.1; negatives: 0 and 1 - 1.1 + 0.15
    assert contrastive_term(positive, reference, negatives, 0.1, 0.15).item() == pytest.approx(0.1)
    assert contrastive_term(positive, None, negatives, 0.1, 0.15).item() == pytest.approx(0.05)
    assert contrastive_term(positive, reference, None, 0.1, 0.15).item() == pytest.approx(0.05)


def test_diversity_loss_on_a_hand_made_case():
    apart = torch.tensor([[[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]]])   # normalised: one-hot
    assert diversity_loss(apart, 0.2).item() == pytest.approx(2 * 0.8 ** 2)
    same = torch.tensor([[[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]])    # every overlap 0.5
    assert diversity_loss(same, 0.2).item() == pytest.approx(2 * 0.3 ** 2 + 2 * 0.5 ** 2)
    # masks as concentrated as lambda asks (self-overlap 0.2): zero when apart, not together
    left, right = torch.zeros(10), torch.zeros(10)
    left[:5], right[5:] = 1.0, 1.0
    apart, together = torch.stack([left, right])[None], torch.stack([left, left])[None]
    assert diversity_loss(apart, 0.2).item() == pytest.approx(0.0, abs=1e-7)
    assert diversity_loss(together, 0.2).item() == pytest.approx(2 * 0.2 ** 2)


def test_inference_ranks_by_reconstruction_loss():
    nll = torch.tensor([[2.0, 0.5, 1.0]])
    centres, widths = torch.tensor([[0.2, 0.5, 0.8]]), torch.tensor([[0.2, 0.2, 0.2]])
    bounds, scores = rank_proposals(nll, centres, widths, "none")
    assert torch.allclose(bounds[0], torch.tensor([[0.4, 0.6], [0.7, 0.9], [0.1, 0.3]]))
    assert scores[0].tolist() == [-0.5, -1.0, -2.0]


def test_voting_on_a_hand_made_case():
    # ranked by loss: X alone at the end, Y, Z and W overlapping at the start
    bounds = torch.tensor([[[0.7, 1.0], [0.0, 0.4], [0.05, 0.4], [0.0, 0.35]]])
    uniform = vote_scores(bounds, "uniform")[0]
    # Y: 1 + IoU(Y, Z) 0.875 + IoU(Y, W) 0.875; Z: 0.875 + 1 + 0.75; W: the same as Z
    assert uniform.tolist() == pytest.approx([1.0, 2.75, 2.625, 2.625])
    # weighted by the IoU with the top-ranked X, which overlaps nobody: X keeps first place
    assert vote_scores(bounds, "weighted")[0].tolist() == pytest.approx([1.0, 0.0, 0.0, 0.0])
    centres, widths = bounds.mean(-1), bounds[..., 1] - bounds[..., 0]
    _, scores = rank_proposals(torch.tensor([[0.1, 0.2, 0.3, 0.4]]), centres, widths, "uniform")
    assert scores[0].argmax().item() == 1


def test_a_mask_hides_the_positions_it_zeroes():
    """Each reading sees only its own mask's positions (no leak across readings or heads)."""
    torch.manual_seed(0)
    model = CPLNetwork(torch.randn(20, 6), 5, SMALL).eval()
    positions, words = torch.randn(1, 10, 16), torch.randint(5, 20, (1, 6))
    n_words, hidden = torch.tensor([6]), torch.zeros(1, 6, dtype=torch.bool)
    first, second = torch.zeros(10), torch.zeros(10)
    first[:5], second[5:] = 1.0, 1.0
    masks = torch.stack([first, second])[None]
    before = model.complete(positions, masks, words, n_words, hidden)
    changed = positions.clone()
    changed[:, 5:] += 3.0 * torch.randn(1, 5, 16)
    after = model.complete(changed, masks, words, n_words, hidden)
    assert torch.allclose(before[:, 0], after[:, 0], atol=1e-5)
    assert not torch.allclose(before[:, 1], after[:, 1], atol=1e-2)


def test_a_query_is_read_the_same_alone_or_in_a_padded_batch():
    torch.manual_seed(0)
    model = CPLNetwork(torch.randn(20, 6), 5, SMALL).eval()
    video, n_clips = torch.randn(2, 9, 5), torch.tensor([9, 4])
    words, n_words = torch.randint(5, 20, (2, 6)), torch.tensor([6, 3])
    centres, widths = model.propose(video, n_clips, words, n_words)
    alone_c, alone_w = model.propose(video[1:, :4], n_clips[1:], words[1:, :3], n_words[1:])
    assert torch.allclose(centres[1], alone_c[0], atol=1e-5)
    assert torch.allclose(widths[1], alone_w[0], atol=1e-5)


def test_grounds_the_query_on_the_stream_twin(tmp_path):
    """Weakly supervised, at config.yaml's loss settings on a smaller network and a one-minute
    budget (12 epochs at lr 3e-3), the epoch chosen on validation: on the twin of the default
    stream layout, CPL's reconstruction loss falls, it beats Random (5 seeds) and `prior` on
    R@1 IoU=0.3, 0.5 and mIoU, and given another moment's words it loses at least half of its
    R@1 IoU=0.5 margin over Random (docs/cpl.md, "On the feature-level twin")."""
    import csv
    import dataclasses
    from pathlib import Path

    import yaml

    from toy_features import DATASET, build, random_scores, stream_generator
    from wsmr import config as wcfg
    from wsmr.controls import other_query_samples
    from wsmr.evaluation import evaluate_files
    from wsmr.io import read_jsonl, write_jsonl
    from wsmr.methods.base import Job
    from wsmr.methods.cpl import CPL
    from wsmr.methods.prior import Prior
    from wsmr.tracking import Tracker

    toy = build(tmp_path / "toy", {"train": 24, "val": 8, "test": 8}, queries_per_event=4,
                generator=stream_generator())
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    settings = {**wcfg.method_settings(config, "shapes", "cpl", "full"),
                "hidden": 32, "heads": 2, "epochs": 12, "lr": 3e-3, "warmup_updates": 50}
    cpl = CPL(Job(DATASET, "cpl", "full", settings, seed=0))
    cpl.train(toy, tmp_path / "run", Tracker(False))
    with (tmp_path / "run/history.csv").open() as f:
        rec = [float(row["train_rec"]) for row in csv.DictReader(f)]
    assert sum(rec[-3:]) / 3 < 0.8 * rec[0], rec

    test = read_jsonl(toy.samples["test"])
    ious = [0.3, 0.5]
    predictions = cpl.predict(toy, tmp_path / "run", "test")
    learned = evaluate_files(predictions, test, ious)
    random = random_scores(toy, ious)
    prior = Prior(Job(DATASET, "prior", "default", config["methods"]["prior"]["settings"], 0))
    prior.train(toy, tmp_path / "prior", Tracker(False))
    blind = evaluate_files(prior.predict(toy, tmp_path / "prior", "test"), test, ious)
    for metric in ("R1_IoU0.3", "R1_IoU0.5", "mIoU"):
        values = [r[metric] for r in random]
        assert learned[metric] > max(np.mean(values) + np.std(values), blind[metric]), (
            metric, learned, values, blind)

    # the other-query control: the same checkpoint, each query with another moment's words
    rewritten, _ = other_query_samples(test)
    write_jsonl(tmp_path / "other_query.jsonl", rewritten)
    control = dataclasses.replace(toy, samples={**toy.samples,
                                                "test": tmp_path / "other_query.jsonl"},
                                  _cache={})
    donated = {r["qid"] for r in rewritten}   # single-moment videos have no donor
    kept = [s for s in test if s["qid"] in donated]
    other = evaluate_files(cpl.predict(control, tmp_path / "run", "test"), kept, ious)
    reference = evaluate_files([p for p in predictions if p["qid"] in donated], kept, ious)
    margin = learned["R1_IoU0.5"] - np.mean([r["R1_IoU0.5"] for r in random])
    assert reference["R1_IoU0.5"] - other["R1_IoU0.5"] >= margin / 2, (reference, other)
