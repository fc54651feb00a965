"""Speed of the video-features stage: decoding (frames/s), C3D alone and end to end (clips/s).

    python benchmarks/extract.py results/shapes/raw/videos/*.mp4 --threads 2 --batch-size 8 \
        [--decode-workers 2]

Decoding is timed on the given videos (resize to 128x171, centre crop, as extraction does), by
one thread and, cut into C3D's clips, by `--decode-workers` threads; C3D on random clips in the
dtype extraction would choose here (and in float32 for comparison); end to end on the same
videos through `extract_shard` (decode threads + C3D + float16 HDF5).
Prints the CPU model (lscpu) with the figures.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import torch

from wsmr.video.c3d import build_c3d, choose_dtype
from wsmr.video.decode import VideoInfo, decode_frames
from wsmr.video.extract import Batch, decoded_batches, extract_shard, run_c3d


def cpu_model() -> str:
    try:
        lines = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines.splitlines()
                 if line.startswith("Model name")), "unknown")


def decode_rate(videos: list[Path]) -> float:
    started, frames = time.perf_counter(), 0
    for path in videos:
        for _ in decode_frames(path, VideoInfo(path.stem)):
            frames += 1
    return frames / (time.perf_counter() - started)


def decode_clip_rate(videos: list[Path], batch_size: int, workers: int) -> float:
    """Clips/s that `workers` decoding threads hand to C3D: the bound on end-to-end extraction."""
    started, clips = time.perf_counter(), 0
    for item in decoded_batches([(p.stem, p) for p in videos], batch_size, workers):
        clips += len(item.clips) if isinstance(item, Batch) else 0
    return clips / (time.perf_counter() - started)


def c3d_rate(model, batch_size: int, batches: int, device, dtype) -> float:
    import numpy as np

    clips = np.random.default_rng(0).integers(0, 255, (batch_size, 16, 112, 112, 3), np.uint8)
    run_c3d(model, clips, device, dtype)  # warm-up: oneDNN/cuDNN pick their kernels
    started = time.perf_counter()
    for _ in range(batches):
        run_c3d(model, clips, device, dtype)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch_size * batches / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--batches", type=int, default=5, help="C3D-alone batches to time")
    parser.add_argument("--decode-workers", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = choose_dtype(device)
    model, source = build_c3d(None, seed=0)
    model = model.to(device, memory_format=torch.channels_last_3d)
    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else cpu_model()}, "
          f"{args.threads} threads, batch {args.batch_size}, auto dtype {dtype}")
    print(f"decode: {decode_rate(args.videos):.0f} frames/s ({len(args.videos)} videos)")
    print(f"decode into clips, {args.decode_workers} threads: "
          f"{decode_clip_rate(args.videos, args.batch_size, args.decode_workers):.1f} clips/s")
    for name, kind in {"auto": dtype, "float32": torch.float32}.items():
        rate = c3d_rate(model, args.batch_size, args.batches, device, kind)
        print(f"C3D alone ({name}, {kind}): {rate:.2f} clips/s")
    with tempfile.TemporaryDirectory() as tmp:
        report = extract_shard(model, source, [(p.stem, p) for p in args.videos],
                               Path(tmp) / "fc7.h5", batch_size=args.batch_size, device=device,
                               dtype=dtype, skip_bad=False, decode_workers=args.decode_workers)
    print(f"end to end: {report['clips_per_s']:.2f} clips/s ({report['clips']} clips, "
          f"{report['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
