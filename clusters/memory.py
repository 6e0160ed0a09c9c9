"""Hand freed heap back to the operating system between the stages of a sync.

A first sync parses tens of MB of JSON page by page; CPython frees it, but glibc's malloc keeps
the freed pages mapped (and a worker's RSS is what a container limit counts), so each later
stage (ownership analysis, writing its report) stacks on the high water of the one before.
``malloc_trim(0)`` returns the free pages at the top and inside the heap. A no-op where the C
library is not glibc (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return the C heap's free pages to the OS; whether that could be asked at all."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
