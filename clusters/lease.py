"""An expiring, renewable lease in Redis: one watcher per cluster at a time.

A poll holds a lock for one bounded run (clusters.locks); a watch runs for as long as its worker
lives, so it holds a lease instead and renews it while alive. A SIGKILLed worker stops renewing,
the key expires after ``ttl`` seconds, and the next worker that asks takes the cluster over: a
worker that tries every ``ttl / 2`` seconds takes over within 1.5 × ttl of the death, inside the
2 × ttl the design promises.

Renewing and releasing check the holder atomically (a Lua script), so a worker that was paused
past its lease (a long GC, a frozen VM) can never extend or delete the lease of the worker that
took over: it learns it lost the lease and stops watching.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

log = logging.getLogger(__name__)

PREFIX = "tidewatch:watch:"

# KEYS[1] lease key, ARGV[1] holder, ARGV[2] ttl in ms.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"  # noqa: E501
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"  # noqa: E501


def new_holder_id() -> str:
    """Names the worker in the lease value, so an operator can see who watches a cluster."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """The lease on one name. ``acquire`` once, then ``renew`` well before ``ttl`` runs out."""

    def __init__(
        self, client: redis.Redis, name: str, ttl: float, holder: str | None = None
    ) -> None:
        if ttl <= 0:
            raise ValueError("a lease needs a positive ttl")
        self.client = client
        self.name = name
        self.key = PREFIX + name
        self.ttl = ttl
        self.holder = holder or new_holder_id()
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def ttl_ms(self) -> int:
        return max(1, int(self.ttl * 1000))

    def acquire(self) -> bool:
        """True when this holder has the lease now (newly or still)."""
        if self.client.set(self.key, self.holder, nx=True, px=self.ttl_ms):
            return True
        return self.renew()

    def renew(self) -> bool:
        """Extend the lease to a full ttl; False when another holder has it or it expired."""
        return bool(self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))

    def release(self) -> None:
        """Give the lease up early (a clean shutdown), so another worker need not wait out ttl."""
        self._release(keys=[self.key], args=[self.holder])


def holder_of(client: redis.Redis, name: str) -> str | None:
    """Who holds the lease on ``name`` now, or None."""
    value = client.get(PREFIX + name)
    return value.decode() if isinstance(value, bytes) else value


@contextmanager
def held(lease: Lease, *, renew_every: float | None = None) -> Iterator[threading.Event | None]:
    """Hold ``lease`` for the duration of the block, renewing it from a background thread.

    Yields None when someone else holds it. Otherwise yields an Event that is set the moment the
    lease is lost (renewal refused, or Redis unreachable for longer than the lease lasts): the
    watch loop must stop then, because another worker may already be watching the cluster.
    """
    if not lease.acquire():
        yield None
        return
    lost = threading.Event()
    done = threading.Event()
    interval = renew_every if renew_every is not None else lease.ttl / 3

    def keep() -> None:
        renewed = time.monotonic()
        while not done.wait(interval):
            try:
                if lease.renew():
                    renewed = time.monotonic()
                    continue
                log.warning("lease %s: taken over or expired; stopping", lease.name)
            except redis.RedisError as exc:
                # A failed renewal is survivable while the lease still runs; the key's own
                # expiry is the bound, so give up only once it may have run out.
                log.warning("lease %s: could not renew: %s", lease.name, exc)
                if time.monotonic() - renewed < lease.ttl:
                    continue
            lost.set()
            return

    renewer = threading.Thread(target=keep, name=f"lease-{lease.name}", daemon=True)
    renewer.start()
    try:
        yield lost
    finally:
        done.set()
        renewer.join()
        if not lost.is_set():
            try:
                lease.release()
            except redis.RedisError as exc:
                log.warning(
                    "lease %s: could not release (it expires by itself): %s", lease.name, exc
                )
