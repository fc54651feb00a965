"""The GPU check, in one command: every method's training under AMP against fp32, and C3D
extraction end to end (decode -> C3D -> HDF5).

    python benchmarks/gpu.py --video /path/to/Y1HGC.mp4 [--steps 3] [--shapes-videos 4] \
        [--threads 8]

Training: for every learned method of the registry and every variant of config.yaml, at
Charades size (200 clips x 500-d, 20 words) and the method's Charades-STA settings (the papers'
batch sizes), `--steps` loop steps (the first one more warms up) in fp32 and then, from the
same weights and random draws, under the loop's autocast (bf16, or fp16 with a GradScaler):
samples/s, peak GPU memory, and how far the AMP losses are from the fp32 ones (relative;
`--tolerance` for the first step, twice it for the mean over steps; a FAIL sets the exit code).

Extraction: the real C3D (seeded init: speed does not depend on the weights) on the given
video and on `--shapes-videos` rendered `shapes` videos: decoding alone (frames/s, one thread;
clips/s with one and with `--threads` decoding threads: the bound on extraction), C3D alone
(clips/s, the dtype extraction chooses and fp32) and end to end through `extract_shard`.

Without CUDA it says so and checks what it can: the steps at the `shapes` model sizes (batch
2) in fp32, and against them in bf16 autocast where the CPU has native bf16 (`cpu_bf16`),
decoding, and extraction end to end with C3D's channels divided by 16.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch
import yaml

from extract import c3d_rate, cpu_model, decode_clip_rate, decode_rate
from train import (
    CHARADES_QUERIES,
    build_loop,
    learned_methods,
    method_settings,
    synthetic_batch,
    timed_steps,
)
from wsmr.data.shapes import generate
from wsmr.hardware import cpu_has_native_bf16
from wsmr.video.c3d import build_c3d, choose_dtype
from wsmr.video.extract import extract_shard

CONFIG = yaml.safe_load(Path("config.yaml").read_text())


def peak_memory_gib(device) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else float("nan")


def run_steps(method, variant, batch, steps, amp, dataset):
    """(seconds per step, losses, peak GiB) of `steps` loop steps from seeded weights; `amp`:
    the loop's autocast, on a CPU too (`cpu_bf16`) where it has native bf16."""
    loop = build_loop(method, variant, batch, amp=amp, dataset=dataset, cpu_bf16=amp)
    if loop.device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    seconds, losses = timed_steps(loop, batch, steps)
    peak = peak_memory_gib(loop.device)
    del loop
    return statistics.mean(seconds[1:]), losses, peak


def relative_gaps(amp: list[float], fp32: list[float]) -> tuple[float, float]:
    gaps = [abs(a - f) / max(abs(f), 1e-12) for a, f in zip(amp, fp32, strict=True)]
    return gaps[0], statistics.mean(gaps)


def check_training(cuda: bool, steps: int, tolerance: float) -> bool:
    ok = True
    dataset = "charades" if cuda else "shapes"
    amp_here = cuda or cpu_has_native_bf16()
    what = ("Charades-size inputs, Charades-STA settings" if cuda else
            "no GPU: at the shapes model sizes on Charades-size inputs, batch 2, "
            + ("fp32 and bf16 autocast (this CPU has native bf16)" if amp_here
               else "fp32 only (no native bf16 on this CPU)"))
    print(f"\n== training: {what}")
    for method in learned_methods():
        for variant in CONFIG["methods"][method]["variants"]:
            batch_size = method_settings(method, variant)[0]["batch_size"] if cuda else 2
            batch = synthetic_batch(batch_size)
            name = f"{method}/{variant} (batch {batch_size})"
            try:
                step_s, fp32, peak = run_steps(method, variant, batch, steps, False, dataset)
                line = (f"{name}: fp32 {step_s:.3f} s/step, {batch_size / step_s:.1f} samples/s"
                        + (f", peak {peak:.1f} GiB" if cuda else ""))
                if amp_here:
                    amp_s, amp, amp_peak = run_steps(method, variant, batch, steps, True, dataset)
                    first, mean = relative_gaps(amp, fp32)
                    passed = first <= tolerance and mean <= 2 * tolerance
                    ok &= passed
                    line += (f"; AMP {amp_s:.3f} s/step, {batch_size / amp_s:.1f} samples/s "
                             f"(x{step_s / amp_s:.2f})"
                             + (f", peak {amp_peak:.1f} GiB" if cuda else "")
                             + ", Charades-STA epoch "
                             f"{CHARADES_QUERIES / batch_size * amp_s / 60:.1f} min; loss gap "
                             f"first {first:.2%}, mean {mean:.2%}: {'ok' if passed else 'FAIL'}")
                print(line, flush=True)
            except Exception as err:   # one broken method must not hide the others' figures
                ok = False
                print(f"{name}: FAIL {type(err).__name__}: {err}", flush=True)
    return ok


def shapes_videos(root: Path, n: int) -> list[Path]:
    generator = {**CONFIG["datasets"]["shapes"]["generator"], "videos": {"train": n}}
    generate(root, generator)
    return sorted((root / "videos").glob("*.mp4"))


def check_extraction(cuda: bool, video: Path | None, n_shapes: int, threads: int,
                     batch_size: int) -> None:
    device = torch.device("cuda" if cuda else "cpu")
    width = 1 if cuda else 16   # without a GPU the real C3D takes ~1 s a clip: plumbing only
    model, source = build_c3d(None, seed=0, width=width)
    model = model.to(device, memory_format=torch.channels_last_3d)
    dtype = choose_dtype(device)
    size = "(real size)" if width == 1 else f"channels / {width} (no GPU)"
    print(f"\n== extraction: C3D {size}, {dtype}, batch {batch_size}, {threads} decoding threads")
    if cuda:
        for name, kind in {"auto": dtype, "float32": torch.float32}.items():
            rate = c3d_rate(model, batch_size, 10, device, kind)
            print(f"C3D alone ({name}, {kind}): {rate:.0f} clips/s")
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"shapes": shapes_videos(Path(tmp) / "shapes", n_shapes)}
        if video is not None:
            sets[video.stem] = [video]
        for name, videos in sets.items():
            print(f"{name} ({len(videos)} videos): decode {decode_rate(videos):.0f} frames/s "
                  f"(one thread); into clips {decode_clip_rate(videos, batch_size, 1):.1f} clips/s "
                  f"(one thread), {decode_clip_rate(videos, batch_size, threads):.1f} clips/s "
                  f"({threads} threads)", flush=True)
            for workers in sorted({1, threads}):
                report = extract_shard(model, source, [(p.stem, p) for p in videos],
                                       Path(tmp) / f"{name}{workers}.h5", batch_size=batch_size,
                                       device=device, dtype=dtype, skip_bad=False,
                                       decode_workers=workers)
                print(f"{name}: end to end (decode -> C3D -> HDF5), {workers} decoding threads: "
                      f"{report['clips_per_s']:.1f} clips/s ({report['clips']} clips)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, help="a real video, e.g. Charades' Y1HGC.mp4")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--shapes-videos", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=32, help="C3D clips per batch")
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if cuda:
        print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}, bf16 {torch.cuda.is_bf16_supported()}")
    else:
        print(f"no GPU: CUDA is not available (torch {torch.__version__}); CPU {cpu_model()}. "
              "Checking what runs without one; the figures for the README need a GPU.")
    ok = args.skip_training or check_training(cuda, args.steps if cuda else 1, args.tolerance)
    check_extraction(cuda, args.video, args.shapes_videos, args.threads, args.batch_size)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
