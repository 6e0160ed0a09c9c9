"""Which cluster needs which Celery task, in watch mode: the Redis keys beat and tasks share.

- ``tidewatch:watch:<cluster>`` (clusters.lease): a worker watches the cluster now.
- ``tidewatch:watch-queued:<cluster>``: beat queued a watch task that has not started yet, so the
  next tick does not queue another (a free worker takes it within a tick; the marker expires by
  itself after TIDEWATCH_WATCH_DISPATCH_SECONDS in case the task is lost). A watch that could not
  start (cluster unreachable) leaves it set for one poll_interval, so it is retried at that pace.
- ``tidewatch:watch-retry:<cluster>``: the cluster fell back to polling; while it lives (for
  TIDEWATCH_RESYNC_SECONDS) the cluster is polled, then watching is tried again (RBAC may have
  changed).
- ``tidewatch:worker-stopping:<hostname>``: that worker is shutting down (warm): its watches end.
  Set by the worker's main process, read by its watch tasks, which may run in pool children
  where Celery's shutdown signal never arrives.
"""

from __future__ import annotations

import redis

from clusters.lease import holder_of

QUEUED = "tidewatch:watch-queued:"
RETRY = "tidewatch:watch-retry:"
STOPPING = "tidewatch:worker-stopping:"

WATCH = "watch"  # dispatch a watch task
POLL = "poll"  # poll (when due)
SKIP = "skip"  # watched now, or a watch task is queued


def decide(client: redis.Redis, name: str, sync_mode: str) -> str:
    """What beat does for one enabled cluster in watch mode."""
    if sync_mode == "poll" and client.exists(RETRY + name):
        return POLL
    if holder_of(client, name) is not None or client.exists(QUEUED + name):
        return SKIP
    return WATCH


def mark_queued(client: redis.Redis, name: str, seconds: float) -> bool:
    """True when no watch task is queued for ``name`` and this call marked one as queued."""
    return bool(client.set(QUEUED + name, "queued", nx=True, px=max(1, int(seconds * 1000))))


def started(client: redis.Redis, name: str) -> None:
    """The queued task runs: from now on its lease says the cluster is taken."""
    client.delete(QUEUED + name)


def hold_off(client: redis.Redis, name: str, seconds: float) -> None:
    """No new watch task for ``name`` for ``seconds`` (its watch could not start)."""
    client.set(QUEUED + name, "failed", px=max(1, int(seconds * 1000)))


def poll_for(client: redis.Redis, name: str, seconds: float) -> None:
    """The cluster fell back to polling: poll it for ``seconds``, then try watching again."""
    client.set(RETRY + name, "poll", px=max(1, int(seconds * 1000)))


def worker_stopping(client: redis.Redis, hostname: str, seconds: float = 600) -> None:
    client.set(STOPPING + hostname, "1", px=int(seconds * 1000))


def worker_started(client: redis.Redis, hostname: str) -> None:
    client.delete(STOPPING + hostname)


def is_stopping(client: redis.Redis, hostname: str) -> bool:
    return bool(client.exists(STOPPING + hostname))
