"""How much freed CPU memory the process keeps: glibc's mmap threshold, set from :class:`TrainConfig`.

glibc serves an allocation below its mmap threshold from the heap, and a freed heap block stays with the process
until the blocks above it are freed too. The threshold also moves: freeing an mmapped block raises it to that
block's size (up to 32 MiB), so after the first large tensor is freed, every later activation of a few MiB lands in
the heap. Choice scoring frees and allocates such tensors in a different order in every pass, so the heap fragments
and the process's RSS climbs far above what is live. A fixed threshold keeps the RSS near what is live, at the cost
of fresh zeroed pages for every large tensor (the figures: docs/measurements.md). Setting the threshold with
``mallopt`` also switches the moving threshold off; ``MALLOC_MMAP_THRESHOLD_`` in the environment does the same
before start-up.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
GLIBC_MAX_THRESHOLD = 32 * 1024 * 1024  # HEAP_MAX / 2 on 64-bit: mallopt refuses larger values


@functools.cache
def _libc():
    """The C library when it is glibc (the only one with this mallopt parameter), else None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 -- present in glibc only
    except (OSError, AttributeError):
        return None
    return libc


def check_mmap_threshold(threshold: int) -> None:
    """``ValueError`` unless ``threshold`` is a byte count glibc accepts (0: leave glibc's setting alone)."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= GLIBC_MAX_THRESHOLD:
        raise ValueError(f"host_mmap_threshold must be an int in [0, {GLIBC_MAX_THRESHOLD}] bytes, got {threshold!r}")


def set_mmap_threshold(threshold: int) -> bool:
    """Serve CPU allocations of at least ``threshold`` bytes by mmap, returned to the OS when freed.

    ``threshold`` 0 leaves glibc's default (a moving threshold). Returns whether the setting took effect: False on
    a C library that is not glibc; raises ``ValueError`` for a threshold glibc refuses.
    """
    check_mmap_threshold(threshold)
    libc = _libc()
    if threshold == 0 or libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, ctypes.c_int(threshold)))


def peak_resident_gib() -> float:
    """This process's peak resident memory so far, in GiB (``getrusage``; 0.0 where the platform has none)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return 0.0
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (2**30 if sys.platform == "darwin" else 2**20)
