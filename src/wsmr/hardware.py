"""What the machine offers a process: native bf16 on the CPU, and glibc's allocator settings
that let a process reuse the large buffers it frees (C3D batches, training activations)."""

from __future__ import annotations

import ctypes
import platform
from pathlib import Path

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Native bf16 instructions (AVX512-BF16 or AMX-BF16). Without them bf16 autocast is
    emulated and two orders of magnitude slower than fp32 (docs/performance.md)."""
    try:
        flags = set(Path(cpuinfo).read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def keep_freed_memory() -> None:
    """Let the process reuse the memory a batch frees for the next one (glibc; elsewhere a
    no-op). glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh
    mapping and unmaps it on free, so each batch's activations, hundreds of MB, are faulted in
    and zeroed again by the kernel. Here they come from malloc's arena, trimmed only once 2 GB lie
    free at its top. Measured on a CPU shard of `shapes` (one thread, bf16): 55.0 s, 14.1 of
    them in the kernel, against 36.6 s and 1.2 s, byte-identical features, for a peak RSS of
    3.3 GB against 1.9 (the extraction rule's memory request allows for it); training figures
    are in docs/performance-gpu.md."""
    if platform.libc_ver()[0] != "glibc":
        return
    libc = ctypes.CDLL(None)   # the C library this process already runs on
    libc.mallopt(M_MMAP_MAX, 0)
    libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)
