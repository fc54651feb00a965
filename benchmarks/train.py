"""Training speed of a learned method on Charades-sized inputs: 200 clips x 500-d, 20 words.

    python benchmarks/train.py --method scn  [--variant full] [--steps 5] [--batch-size 128] \
        [--threads 2] [--cpu-bf16]
    python benchmarks/train.py --method ms2d [--variant full|supervised] ...
    python benchmarks/train.py --method cpl  [--variant full] --batch-size 32 ...

Times the training loop's own step (forward, the method's selection and loss, backward,
gradient clipping, Adam; autocast on CUDA, and with --cpu-bf16 on a CPU with native bf16) at
the paper's settings (config.yaml's Charades-STA settings of the method and variant) and prints
samples/s and the epoch time this implies for Charades-STA's 12,408 training queries, on CUDA
when present. It also prints the losses of the timed steps: same seed, same losses, so two
versions of the code can be compared at equal results. Any learned method of the
registry can be timed (benchmarks/gpu.py times them all).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import yaml

from wsmr import config as wcfg
from wsmr.methods import REGISTRY, load
from wsmr.methods.base import Job
from wsmr.methods.learned import LearnedMethod
from wsmr.tracking import Tracker
from wsmr.training import Loop

CHARADES_QUERIES = 12_408
VOCABULARY, WORD_DIM, FEATURE_DIM, CLIPS, WORDS = 1111, 300, 500, 200, 20
DURATION_S, MOMENT_S = 30.0, (6.0, 15.0)


def learned_methods() -> list[str]:
    return [name for name in REGISTRY if issubclass(load(name), LearnedMethod)]


def synthetic_batch(batch_size: int, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {"qids": [str(i) for i in range(batch_size)],
            "video": torch.randn(batch_size, CLIPS, FEATURE_DIM, generator=generator),
            "n_clips": torch.full((batch_size,), CLIPS),
            "words": torch.randint(5, VOCABULARY, (batch_size, WORDS), generator=generator),
            "n_words": torch.full((batch_size,), WORDS),
            "tags": [["DT", "NN", "VBZ", "JJ"] * (WORDS // 4)] * batch_size,
            "durations": torch.full((batch_size,), DURATION_S, dtype=torch.float64),
            "clip_edges": torch.linspace(0, DURATION_S, CLIPS + 1, dtype=torch.float64)
                                .expand(batch_size, -1)}


def synthetic_inputs(batch: dict, seed: int = 0) -> SimpleNamespace:
    """What a learner reads of `MethodInputs`: embeddings, feature size, the training samples
    (every query's moment the same: read by supervised variants only)."""
    samples = [{"qid": q, "vid": q, "duration": DURATION_S, "start": MOMENT_S[0],
                "end": MOMENT_S[1]} for q in batch["qids"]]
    generator = torch.Generator().manual_seed(seed)
    edges = np.linspace(0, DURATION_S, CLIPS + 1)
    return SimpleNamespace(embeddings=torch.randn(VOCABULARY, WORD_DIM, generator=generator),
                           feature_dim=FEATURE_DIM,
                           splits={"train": SimpleNamespace(samples=samples)},
                           clip_edges={q: edges for q in batch["qids"]})


def method_settings(method: str, variant: str, dataset: str = "charades"):
    """config.yaml's settings of a method's variant for a dataset, and the dataset's."""
    config = yaml.safe_load(Path("config.yaml").read_text())
    return (wcfg.method_settings(config, dataset, method, variant),
            wcfg.dataset_settings(config, dataset))


def build_loop(method: str, variant: str, batch: dict, amp: bool = True, seed: int = 0,
               dataset: str = "charades", **overrides) -> Loop:
    """The training loop around the method's learner, on synthetic Charades-sized data, at the
    method's settings for `dataset` (Charades-STA: the papers') with `overrides`; seeded, so
    two loops start from the same weights."""
    settings, dataset = method_settings(method, variant, dataset)
    settings = {**settings, **overrides}
    torch.manual_seed(seed)
    learner = load(method)(Job(dataset, method, variant, settings, seed)).build_learner(
        synthetic_inputs(batch))
    run_dir = Path(tempfile.mkdtemp(prefix="wsmr-bench-"))
    return Loop(learner, settings, run_dir, seed, dataset["ious"], [], Tracker(False), amp=amp)


def timed_steps(loop: Loop, batch: dict, steps: int, seed: int = 0
                ) -> tuple[list[float], list[float]]:
    """Seconds and loss of `steps` + 1 loop steps on `batch` (the first warms up: allocations,
    kernel choice); the random draws (dropout, masks, exploration) seeded."""
    torch.manual_seed(seed)
    seconds, losses = [], []
    for _ in range(steps + 1):
        started = time.perf_counter()
        losses.append(loop.step(batch)["loss"])
        if loop.device.type == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
    return seconds, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=learned_methods(), required=True)
    parser.add_argument("--variant", default="full")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cpu-bf16", action="store_true",
                        help="the loop's cpu_bf16: bf16 autocast on a CPU with native bf16")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = synthetic_batch(args.batch_size)
    loop = build_loop(args.method, args.variant, batch, cpu_bf16=args.cpu_bf16)
    seconds, losses = timed_steps(loop, batch, args.steps)
    step_s = sum(seconds[1:]) / args.steps
    print(f"{args.method}/{args.variant}: device {loop.device}, autocast {loop.amp}, "
          f"threads {args.threads}, batch {args.batch_size}")
    epoch_min = CHARADES_QUERIES / args.batch_size * step_s / 60
    print(f"{step_s:.2f} s/step, {args.batch_size / step_s:.3g} samples/s, Charades-STA epoch "
          f"({CHARADES_QUERIES} queries) {epoch_min:.1f} min")
    print("losses: " + " ".join(f"{loss:.6f}" for loss in losses))


if __name__ == "__main__":
    main()
