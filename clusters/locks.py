"""A per-cluster Redis lock, so two workers never poll the same cluster at once.

The lock expires on its own (a worker killed mid-poll must not block the cluster forever), so
its timeout is set above the task's hard time limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

import redis


@contextmanager
def cluster_lock(client: redis.Redis, cluster_name: str, timeout: float) -> Iterator[bool]:
    """Yield True when this caller holds the lock, False when someone else does."""
    lock = client.lock(f"tidewatch:poll:{cluster_name}", timeout=timeout, blocking=False)
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired:
            # Expired while we worked: someone else may hold it now; leave theirs be.
            with suppress(redis.exceptions.LockError):
                lock.release()
