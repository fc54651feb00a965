import platform
from pathlib import Path

import numpy as np
import pytest

from wsmr.hardware import cpu_has_native_bf16, keep_freed_memory


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    without.write_text("flags\t\t: fpu avx2 avx512f\n")
    assert cpu_has_native_bf16(with_bf16) and not cpu_has_native_bf16(without)
    assert not cpu_has_native_bf16(tmp_path / "no-such-file")


def heap_range() -> tuple[int, int]:
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith("[heap]"):
            start, end = line.split()[0].split("-")
            return int(start, 16), int(end, 16)
    raise AssertionError("no [heap] in /proc/self/maps")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_a_large_buffer_comes_from_the_heap_after_keep_freed_memory():
    """What extraction's and training's speed rest on: a batch-sized buffer is no fresh
    mapping (glibc would otherwise map it apart from the heap and unmap it when freed), so its
    pages are reused."""
    keep_freed_memory()
    buffer = np.ones(64 * 2**20, np.uint8)   # beyond glibc's largest mmap threshold (32 MB)
    start, end = heap_range()
    assert start <= buffer.ctypes.data < end
