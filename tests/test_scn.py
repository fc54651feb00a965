"""SCN's parts against hand-made cases, resume after an interrupt, and a small learning test."""

import math
from pathlib import Path

import pytest
import torch
import yaml

from wsmr.methods.scn.loss import multi_task_loss, rank_loss, rank_rewards, reconstruction_loss
from wsmr.methods.scn.masking import choose_masked, favoured_words
from wsmr.methods.scn.proposals import (
    exploration_probability,
    proposal_bounds,
    sample_clip_positions,
    select_top_k,
)


def test_proposal_geometry():
    bounds, valid = proposal_bounds(torch.tensor([8, 4]), steps=8, ratios=torch.tensor([0.25, 0.5]))
    b = bounds.view(2, 8, 2, 2)
    v = valid.view(2, 8, 2)
    # video of 8 clips: widths 2 and 4 clips, ending after every clip t (end = t + 1)
    assert b[0, 3, 0].tolist() == [2.0, 4.0] and b[0, 3, 1].tolist() == [0.0, 4.0]
    assert v[0, :, 0].tolist() == [False] + [True] * 7      # width 2 fits from end 2
    assert v[0, :, 1].tolist() == [False] * 3 + [True] * 5  # width 4 fits from end 4
    # video of 4 clips (padded to 8): widths 1 and 2; nothing ends past its last clip
    assert b[1, 1, 1].tolist() == [0.0, 2.0]
    assert v[1, :, 0].tolist() == [True] * 4 + [False] * 4


def test_exploration_schedule():
    assert exploration_probability(0, 0.5, 2000) == 0.5
    assert exploration_probability(2000, 0.5, 2000) == pytest.approx(0.5 / math.e)
    assert exploration_probability(10**6, 0.5, 2000) < 1e-6
    assert exploration_probability(0, 0.0, 2000) == 0.0   # no_rand


def test_selection_takes_the_best_then_suppresses_overlaps():
    bounds = torch.tensor([[[0, 4], [1, 4], [4, 8], [0, 8]]], dtype=torch.float32)
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6]])
    valid = torch.ones(1, 4, dtype=torch.bool)
    # (1, 4) overlaps (0, 4) by 0.75 > 0.5: suppressed; (4, 8) next; (0, 8) overlaps both by 0.5
    assert select_top_k(scores, bounds, valid, 3, p=0.0, nms=0.5).tolist() == [[0, 2, 3]]
    # with everything suppressed, picks fall back to any valid candidate not picked yet
    assert select_top_k(scores, bounds, valid, 3, p=0.0, nms=0.0)[0, :2].tolist() == [0, 2]


def test_selection_explores_with_probability_p():
    torch.manual_seed(0)
    scores = torch.linspace(1, 0, 10).repeat(2000, 1)
    bounds = torch.stack([torch.arange(10.0), torch.arange(10.0) + 1], -1).repeat(2000, 1, 1)
    picks = select_top_k(scores, bounds, torch.ones(2000, 10, dtype=torch.bool), 1, 0.5, 0.5)
    # best is picked with p(not explore) + p(explore) * 1/10 = 0.55
    assert (picks[:, 0] == 0).float().mean().item() == pytest.approx(0.55, abs=0.03)


def test_masking_hides_a_third_and_favours_content_words():
    torch.manual_seed(0)
    tags = [["DT", "JJ", "NN", "VBZ", "TO", "DT"]] * 4000
    favoured = favoured_words(tags, 6, ("NN", "VB"))
    hidden = choose_masked(torch.full((4000,), 6), favoured, 1 / 3, weight=2.0)
    assert hidden.sum(dim=1).tolist() == [2] * 4000          # floor(6 / 3)
    rates = hidden.float().mean(dim=0)
    assert rates[2] / rates[0] > 1.6 and rates[3] / rates[4] > 1.6   # nouns/verbs ~2x likelier
    short = choose_masked(torch.tensor([2]), favoured[:1, :6], 1 / 3, 2.0)
    assert short.sum().item() == 1 and not short[0, 2:].any()   # at least one, never padding


def test_favoured_words_of_ragged_tags_are_those_of_each_sentence_padded():
    tags = [["DT", "NN", "VBZ"], [], ["JJ", "NNS", "RB", "VBG", "IN"]]
    favoured = favoured_words(tags, 5, ("NN", "VB"))
    assert favoured.tolist() == [[False, True, True, False, False], [False] * 5,
                                 [False, True, False, True, False]]


def test_configured_mask_fraction_hides_a_third_of_every_length():
    """The config writes a third as 0.333; every query length still loses length // 3 words."""
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    fraction = config["methods"]["scn"]["settings"]["mask_fraction"]
    lengths = torch.arange(3, 31)   # past max_words (20), so a longer config stays covered
    favoured = torch.zeros(len(lengths), 30, dtype=torch.bool)
    hidden = choose_masked(lengths, favoured, fraction, weight=2.0)
    assert hidden.sum(dim=1).tolist() == (lengths // 3).tolist()


def test_rewards_by_rank():
    losses = torch.tensor([[3.0, 1.0, 2.0, 4.0]])
    assert rank_rewards(losses, "rank")[0].tolist() == pytest.approx([1 / 3, 1.0, 2 / 3, 0.0])
    assert rank_rewards(losses, "one_hot").tolist() == [[0.0, 1.0, 0.0, 0.0]]
    assert rank_rewards(torch.tensor([[2.0, 1.0, 3.0]]), [0, 0.5, 1]).tolist() == [[0.5, 1.0, 0.0]]


def test_losses_on_a_hand_made_case():
    scores = torch.tensor([[0.0, math.log(3.0)]])        # softmax -> [0.25, 0.75]
    rewards = torch.tensor([[1.0, 0.0]])
    assert rank_loss(scores, rewards)[0].tolist() == pytest.approx([math.log(4.0), 0.0])
    logits = torch.zeros(1, 2, 3, 4)                      # uniform over 4 words: NLL log 4 each
    scored = torch.tensor([[True, False, True]])
    rec = reconstruction_loss(logits, torch.tensor([[1, 2, 3]]), scored)
    assert rec[0].tolist() == pytest.approx([2 * math.log(4.0)] * 2)
    total = multi_task_loss(rec, rank_loss(scores, rewards), beta=0.1)
    assert total.item() == pytest.approx(2 * math.log(4.0) + 0.1 * math.log(4.0) / 2)


def test_proposal_clips_are_resampled_inside_the_proposal():
    positions = sample_clip_positions(torch.tensor([[[2.0, 6.0]]]), torch.tensor([10]), 8)
    assert positions.tolist() == [[[2, 2, 3, 3, 4, 4, 5, 5]]]


def test_learns_weakly_on_the_feature_twin(tmp_path):
    """Trained on its own picks and rewards alone, SCN's reconstruction loss falls and, with the
    epoch chosen on validation, it localises the twin's test queries better than Random. (On
    rendered `shapes`, over seeds: docs/scn.md.)"""
    import csv

    import numpy as np

    from test_training import TINY
    from toy_features import DATASET, build, random_scores
    from wsmr.evaluation import evaluate_files
    from wsmr.io import read_jsonl
    from wsmr.methods.base import Job
    from wsmr.methods.scn import SCN
    from wsmr.tracking import Tracker

    toy = build(tmp_path / "toy", {"train": 16, "val": 8, "test": 8}, queries_per_event=4)
    # ~1,200 updates at the `shapes` step size: the scorer learns from the rank loss alone
    settings = {**TINY, "hidden": 32, "heads": 4, "k": 4, "epochs": 100, "batch_size": 16,
                "lr": 1e-3, "warmup_updates": 100, "select_on": "mIoU"}
    scn = SCN(Job(DATASET, "scn", "full", settings, seed=0))
    scn.train(toy, tmp_path / "run", Tracker(False))
    with (tmp_path / "run/history.csv").open() as f:
        rec = [float(row["train_rec"]) for row in csv.DictReader(f)]
    assert sum(rec[-3:]) / 3 < 0.8 * rec[0], rec

    test = read_jsonl(toy.samples["test"])
    learned = evaluate_files(scn.predict(toy, tmp_path / "run", "test"), test, [0.5])["mIoU"]
    random = [r["mIoU"] for r in random_scores(toy, [0.5])]
    assert learned > np.mean(random) + np.std(random), (learned, random)


@pytest.mark.parametrize("encoders", ["causal", "bidirectional"])
def test_causal_encoders_score_a_clip_from_the_clips_up_to_it(encoders):
    """`encoders: causal` (the authors' code: a future mask on every stack): a clip's proposal
    scores, which end at that clip, do not move when later clips or later words change."""
    from wsmr.methods.scn.model import SCNNetwork

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    settings = {**config["methods"]["scn"]["settings"], "hidden": 16, "heads": 2, "layers": 2,
                "encoders": encoders}
    torch.manual_seed(0)
    net = SCNNetwork(torch.randn(30, 8), feature_dim=6, n_ratios=2, s=settings).eval()
    video, words = torch.randn(1, 10, 6), torch.randint(4, 30, (1, 5))
    n_clips, n_words = torch.tensor([10]), torch.tensor([5])
    later = video.clone()
    later[:, 6:] = torch.randn(1, 4, 6)
    with torch.no_grad():
        scores = net.score_proposals(video, n_clips, words, n_words).view(10, 2)
        moved = net.score_proposals(later, n_clips, words, n_words).view(10, 2)
    same_before = torch.allclose(scores[:6], moved[:6], atol=1e-6)
    assert same_before == (encoders == "causal")
    assert not torch.allclose(scores[6:], moved[6:], atol=1e-6)


@pytest.mark.parametrize("variant, width, inner_dropout", [("full", 4, 0.1), ("official", 2, 0.0)])
def test_layers_follow_the_variant(variant, width, inner_dropout):
    """`official` has the authors' layers: a feed-forward of fc1: hidden -> 2 x hidden, and
    dropout on the residual branches only (none on the attention weights, none between fc1 and
    fc2); `full` the Transformer's 4 x hidden, dropout everywhere."""
    from wsmr import config as wcfg
    from wsmr.methods.scn.model import Layer, SCNNetwork

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    settings = wcfg.method_settings(config, "charades", "scn", variant)
    net = SCNNetwork(torch.randn(30, 8), feature_dim=6, n_ratios=2, s=settings)
    layers = [m for m in net.modules() if isinstance(m, torch.nn.Sequential)]
    assert layers and {m[0].out_features for m in layers} == {width * settings["hidden"]}
    assert {m[2].p for m in layers} == {inner_dropout}
    attention = [m for m in net.modules() if isinstance(m, torch.nn.MultiheadAttention)]
    assert attention and {m.dropout for m in attention} == {inner_dropout}
    residual = [m.dropout.p for m in net.modules() if isinstance(m, Layer)]
    assert residual and set(residual) == {0.1}
