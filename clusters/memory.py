"""Hand freed heap back to the operating system between the stages of a sync.

A first sync parses tens of MB of JSON page by page; CPython frees it, but glibc's malloc keeps
the freed pages mapped (and a worker's RSS is what a container limit counts), so each later
stage (ownership analysis, writing its report) stacks on the high water of the one before.
``malloc_trim(0)`` returns the free pages at the top and inside the heap. A no-op where the C
library is not glibc (musl, macOS).

A watch parses in one thread per kind: glibc gives each thread that meets contention an arena
of its own (up to 8 per core), and an arena keeps its own high water, so freed pages pile up
in a dozen arenas at once. ``limit_arenas`` caps how many there are (``mallopt(M_ARENA_MAX)``,
what the ``MALLOC_ARENA_MAX`` variable sets before a process starts).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # glibc's malloc.h


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


def release_free_memory() -> bool:
    """Return the C heap's free pages to the OS; whether that could be asked at all."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def limit_arenas(count: int) -> bool:
    """At most ``count`` malloc arenas from now on (0: leave glibc's default); whether glibc
    took it. Arenas that exist stay; threads started later share the capped set."""
    libc = _libc()
    if count <= 0 or libc is None:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, count))
