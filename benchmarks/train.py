"""Training speed of a learned method on Charades-sized inputs: 200 clips x 500-d, 20 words.

    python benchmarks/train.py --method scn  [--variant full] [--steps 5] [--batch-size 128] [--threads 2]
    python benchmarks/train.py --method ms2d [--variant full|supervised] ...
    python benchmarks/train.py --method cpl  [--variant full] --batch-size 32 ...

Times full training steps (forward, the method's selection and loss, backward, Adam) at the
paper's settings (config.yaml's Charades-STA settings of the method and variant) and prints
samples/s and the epoch time this implies for Charades-STA's 12,408 training queries, on CUDA
when present.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import torch
import yaml

from wsmr import config as wcfg
from wsmr.training import pick_device

CHARADES_QUERIES = 12_408
VOCABULARY, WORD_DIM, FEATURE_DIM, CLIPS, WORDS = 1111, 300, 500, 200, 20


def synthetic_batch(batch_size: int) -> dict:
    return {"qids": [str(i) for i in range(batch_size)],
            "video": torch.randn(batch_size, CLIPS, FEATURE_DIM),
            "n_clips": torch.full((batch_size,), CLIPS),
            "words": torch.randint(5, VOCABULARY, (batch_size, WORDS)),
            "n_words": torch.full((batch_size,), WORDS),
            "tags": [["DT", "NN", "VBZ", "JJ"] * (WORDS // 4)] * batch_size,
            "clip_edges": torch.linspace(0, 30.0, CLIPS + 1, dtype=torch.float64)
                                .expand(batch_size, -1)}


def build_learner(method: str, settings: dict, dataset: dict, batch: dict):
    """The method's learner on synthetic data (`MethodInputs`' attributes that it reads)."""
    data = SimpleNamespace(embeddings=torch.randn(VOCABULARY, WORD_DIM), feature_dim=FEATURE_DIM,
                           splits={"train": SimpleNamespace(samples=[])}, clip_edges={})
    if method == "cpl":
        from wsmr.methods.cpl import CPLLearner
        return CPLLearner(data, settings, seed=0)
    if method == "scn":
        from wsmr.methods.scn import SCNLearner, proposal_ratios
        return SCNLearner(data, settings, proposal_ratios(settings, dataset))
    from wsmr.methods.ms2d import MS2DLearner
    learner = MS2DLearner(data, settings)
    learner.targets = {qid: (0.2, 0.5) for qid in batch["qids"]}   # read by `supervised` only
    return learner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["scn", "ms2d", "cpl"], required=True)
    parser.add_argument("--variant", default="full")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load(open("config.yaml"))
    settings = wcfg.method_settings(config, "charades", args.method, args.variant)   # the paper's
    batch = synthetic_batch(args.batch_size)
    learner = build_learner(args.method, settings, config["datasets"]["charades"], batch)
    device = pick_device()
    learner.model.to(device)
    optimizer = torch.optim.Adam(learner.model.parameters(), lr=settings["lr"])
    timings = []
    for step in range(args.steps + 1):   # the first step warms up (allocations, kernels)
        started = time.perf_counter()
        loss, _ = learner.loss(batch, updates=step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    step_s = sum(timings[1:]) / args.steps
    print(f"{args.method}/{args.variant}: device {device}, threads {args.threads}, "
          f"batch {args.batch_size}")
    print(f"{step_s:.2f} s/step, {args.batch_size / step_s:.3g} samples/s, Charades-STA epoch "
          f"({CHARADES_QUERIES} queries) {CHARADES_QUERIES / args.batch_size * step_s / 60:.1f} min")


if __name__ == "__main__":
    main()
