import platform
import subprocess
import sys

import pytest

from wsmr.hardware import cpu_has_native_bf16


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    without.write_text("flags\t\t: fpu avx2 avx512f\n")
    assert cpu_has_native_bf16(with_bf16) and not cpu_has_native_bf16(without)
    assert not cpu_has_native_bf16(tmp_path / "no-such-file")


# Counts the allocations glibc serves with a mapping of their own (mallinfo2, glibc >= 2.33)
# while a batch-sized buffer (beyond glibc's largest mmap threshold, 32 MB) is alive.
COUNT_MAPPED_ALLOCATIONS = """
import ctypes, sys
import numpy as np
from wsmr.hardware import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in "arena ordblks smblks hblks hblkhd"
                " usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    keep_freed_memory()
before = libc.mallinfo2().hblks
buffer = np.ones(64 * 2**20, np.uint8)
print(libc.mallinfo2().hblks - before)
"""


def mapped_allocations(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", COUNT_MAPPED_ALLOCATIONS, mode],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_a_large_buffer_is_no_fresh_mapping_after_keep_freed_memory():
    """What extraction's and training's speed rest on: by default glibc maps a batch-sized
    buffer apart and unmaps it when freed; after keep_freed_memory it comes from the arena,
    whose pages are reused. Each case runs in a fresh interpreter: the setting is per process,
    and where the arena lies (inside [heap] or not) depends on the process's other mappings."""
    assert mapped_allocations("default") == 1
    assert mapped_allocations("keep") == 0
