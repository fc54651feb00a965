"""SCN training speed on Charades-sized inputs: 200 clips x 500-d, 20 words, batch 128.

    python benchmarks/train_scn.py [--steps 5] [--batch-size 128] [--threads 2]

Prints samples/s of full training steps (forward, selection, completion, backward, Adam) and
the epoch time this implies for Charades-STA's 12,408 training queries, on CUDA when present.
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import torch
import yaml

from wsmr.methods.scn import SCNLearner
from wsmr.training import pick_device

CHARADES_QUERIES = 12_408
CHARADES_RATIOS = [0.167, 0.25, 0.333, 0.5]


def synthetic_batch(batch_size: int, clips: int, words: int, vocab: int, feature_dim: int) -> dict:
    return {"qids": [str(i) for i in range(batch_size)],
            "video": torch.randn(batch_size, clips, feature_dim),
            "n_clips": torch.full((batch_size,), clips),
            "words": torch.randint(5, vocab, (batch_size, words)),
            "n_words": torch.full((batch_size,), words),
            "tags": [["DT", "NN", "VBZ", "JJ"] * (words // 4)] * batch_size,
            "durations": torch.full((batch_size,), 30.0, dtype=torch.float64)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = yaml.safe_load(open("config.yaml"))["methods"]["scn"]["settings"]  # the paper's
    data = SimpleNamespace(embeddings=torch.randn(1111, 300), feature_dim=500)
    learner = SCNLearner(data, settings, CHARADES_RATIOS)
    device = pick_device()
    learner.model.to(device)
    optimizer = torch.optim.Adam(learner.model.parameters(), lr=settings["lr"])
    batch = synthetic_batch(args.batch_size, 200, 20, 1111, 500)
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
    print(f"device {device}, threads {args.threads}, batch {args.batch_size}, "
          f"hidden {settings['hidden']}, layers {settings['layers']}")
    print(f"{step_s:.2f} s/step, {args.batch_size / step_s:.1f} samples/s, "
          f"Charades-STA epoch ({CHARADES_QUERIES} queries) {CHARADES_QUERIES / args.batch_size * step_s / 60:.1f} min")


if __name__ == "__main__":
    main()
