"""One shard of videos through C3D: fc7 per clip, stored compactly (float16) per video.

Decoding runs in background threads, a few batches ahead of the network, so the CPU threads
(or the GPU) are never waiting on FFmpeg: `decode_workers` threads each decode one video at a
time, taking the next from a shared list (FFmpeg releases the GIL while it decodes and scales, so
they use as many cores). On a GPU decoding is the limit (C3D takes thousands of clips/s there),
so a GPU job decodes with all its cores. Batches hold one video's clips, cut as one decoder
would, so features do not depend on the number of workers; a video's features are complete,
and written, as soon as its last batch is through, whatever order the videos finish in.

A video's last batch is usually short; on CPU it runs on one thread. oneDNN computes the tail of
a short batch by another path when it has more threads (measured: the 5th clip of a batch of 5
moves by up to 5 float16 steps between 1 and 2 threads; full batches do not move), so without
this a shard's features would depend on its threads, that is on `--cores`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from wsmr.features import store
from wsmr.hardware import keep_freed_memory
from wsmr.video.c3d import normalise
from wsmr.video.decode import BadVideo, VideoInfo, video_clips

log = logging.getLogger("wsmr.extract")

FLOAT16_MAX = float(np.finfo(np.float16).max)
PREFETCH_BATCHES = 4


@dataclass
class Failed:
    error: BaseException


@dataclass
class Batch:
    vid: str
    clips: np.ndarray  # (B, 16, 112, 112, 3) uint8


def shard_videos(vids: Iterable[str], shard: int, shards: int) -> list[str]:
    """Shard i of n: every n-th video of the sorted ids, so shards balance and never overlap."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    return sorted(set(vids))[shard::shards]


def video_batches(videos: list[tuple[str, Path]], batch_size: int) -> Iterator:
    """Per video: its clips in batches, then its VideoInfo; or the BadVideo that stopped it."""
    for vid, path in videos:
        try:
            info, clips = video_clips(vid, path)
            chunk = []
            for clip in clips:
                chunk.append(clip)
                if len(chunk) == batch_size:
                    yield Batch(vid, np.stack(chunk))
                    chunk = []
            if chunk:
                yield Batch(vid, np.stack(chunk))
            yield info
        except BadVideo as bad:
            yield bad


def prefetch(sources: list[Iterator], depth: int) -> Iterator:
    """Run each of `sources` in a background thread, together at most `depth` items ahead;
    items come as they are ready; an exception in a source re-raises here."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def produce(items):
        try:
            for item in items:
                buffer.put(item)
        except BaseException as err:  # handed to the consumer, which re-raises it
            buffer.put(Failed(err))
        buffer.put(done)

    for i, items in enumerate(sources):
        threading.Thread(target=produce, args=(items,), daemon=True, name=f"decode{i}").start()
    running = len(sources)
    while running:
        item = buffer.get()
        if item is done:
            running -= 1
        elif isinstance(item, Failed):
            raise item.error
        else:
            yield item


def decode_workers(device: torch.device, threads: int) -> int:
    """Decoding threads of a job given `threads` cores: all of them on a GPU, where decoding is
    the limit; one on CPU, where C3D is (~1-3 clips/s against hundreds of frames/s decoded)."""
    return max(1, threads) if device.type == "cuda" else 1


def decoded_batches(videos: list[tuple[str, Path]], batch_size: int, workers: int) -> Iterator:
    """`video_batches` of every video, decoded by `workers` threads, each taking the next video
    when it has finished one; a video's items keep their order, videos interleave."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for video in videos:
        todo.put(video)

    def worker() -> Iterator:
        while True:
            try:
                video = todo.get_nowait()
            except queue.Empty:
                return
            yield from video_batches([video], batch_size)

    return prefetch([worker() for _ in range(max(1, min(workers, len(videos))))],
                    PREFETCH_BATCHES * max(1, workers))


def run_c3d(model: torch.nn.Module, clips: np.ndarray, device: torch.device,
            dtype: torch.dtype) -> np.ndarray:
    x = normalise(torch.from_numpy(clips).to(device, non_blocking=True))
    x = x.contiguous(memory_format=torch.channels_last_3d)
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype,
                                                enabled=dtype != torch.float32):
        return model(x).float().cpu().numpy()


@contextlib.contextmanager
def one_thread_if(condition: bool):
    """Torch on one CPU thread inside the block, when `condition` holds."""
    threads = torch.get_num_threads()
    if condition:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fc7_per_video(model: torch.nn.Module, videos: list[tuple[str, Path]], *, batch_size: int,
                  device: torch.device, dtype: torch.dtype, decode_workers: int = 1) -> Iterator:
    """Yield (VideoInfo, fc7 (n_clips, dim) float32) per video, or a BadVideo, as videos finish."""
    keep_freed_memory()
    rows: dict[str, list[np.ndarray]] = {}
    for item in decoded_batches(videos, batch_size, decode_workers):
        if isinstance(item, Batch):
            with one_thread_if(device.type == "cpu" and len(item.clips) < batch_size):
                fc7 = run_c3d(model, item.clips, device, dtype)
            rows.setdefault(item.vid, []).append(fc7)
        elif isinstance(item, VideoInfo):
            yield item, np.concatenate(rows.pop(item.vid))
        else:
            rows.pop(item.vid, None)
            yield item


def to_float16(vid: str, fc7: np.ndarray) -> np.ndarray:
    if not np.isfinite(fc7).all() or np.abs(fc7).max() > FLOAT16_MAX:
        raise ValueError(f"video {vid}: fc7 has non-finite values or values beyond float16")
    return fc7.astype(np.float16)


def extract_shard(model: torch.nn.Module, source: str, videos: list[tuple[str, Path]],
                  out: str | Path, *, batch_size: int, device: torch.device, dtype: torch.dtype,
                  skip_bad: bool, decode_workers: int = 1) -> dict:
    """fc7 of every video into `out`, decoded by `decode_workers` threads; a bad video stops
    the job, or is skipped and listed."""
    model = model.to(device, memory_format=torch.channels_last_3d)
    skipped, clips, started = {}, 0, time.perf_counter()
    bar = tqdm(total=len(videos), unit="video", file=sys.stderr, mininterval=2, desc="C3D fc7")
    with store.create(out, clip_length=store.CLIP_FRAMES, stride=store.STRIDE_FRAMES,
                      source=source) as h5:
        for result in fc7_per_video(model, videos, batch_size=batch_size, device=device,
                                    dtype=dtype, decode_workers=decode_workers):
            bar.update()
            if isinstance(result, BadVideo):
                if not skip_bad:
                    raise result
                log.warning("SKIPPED %s (on_bad_video: skip)", result)
                skipped[result.vid] = result.reason
                continue
            info, fc7 = result
            check_clip_count(info, fc7)
            store.put(h5, info.vid, to_float16(info.vid, fc7), info.clip_seconds(), info.fps)
            clips += len(fc7)
            rate = clips / (time.perf_counter() - started)
            bar.set_postfix(clips=clips, clips_per_s=f"{rate:.2f}")
        store.finish(h5, skipped)
    bar.close()
    seconds = time.perf_counter() - started
    report = {"videos": len(videos) - len(skipped), "clips": clips, "skipped": len(skipped),
              "decode_workers": decode_workers,
              "seconds": round(seconds, 1), "clips_per_s": round(clips / max(seconds, 1e-9), 3)}
    log.info("shard done: %s", report)
    return report


def check_clip_count(info: VideoInfo, fc7: np.ndarray) -> None:
    if len(fc7) != info.n_clips:
        raise RuntimeError(f"video {info.vid}: {len(fc7)} clips extracted for {info.n_frames} "
                           f"frames, expected {info.n_clips}")
