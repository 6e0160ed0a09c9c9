from __future__ import annotations

import time

import redis

from clusters.locks import cluster_lock
from tests.services import redis_url_or_skip


def test_two_pollers_never_hold_the_same_cluster():
    client = redis.Redis.from_url(redis_url_or_skip())
    with cluster_lock(client, "lock-test-a", timeout=60) as first:
        with cluster_lock(client, "lock-test-a", timeout=60) as second:
            assert first is True
            assert second is False
        with cluster_lock(client, "lock-test-b", timeout=60) as other_cluster:
            assert other_cluster is True
    with cluster_lock(client, "lock-test-a", timeout=60) as again:
        assert again is True, "released after the holder finished"


def test_a_lock_whose_holder_died_expires():
    client = redis.Redis.from_url(redis_url_or_skip())
    key = "tidewatch:poll:lock-test-dead"
    # A holder that never releases (a killed worker); its TTL outlasts any slow machine ...
    client.lock(key, timeout=60).acquire()
    with cluster_lock(client, "lock-test-dead", timeout=60) as blocked:
        assert blocked is False
    # ... until it runs out (made to run out now, rather than slept through).
    client.pexpire(key, 1)
    assert wait_for(lambda: not client.exists(key), 30), "the lock never expired"
    with cluster_lock(client, "lock-test-dead", timeout=60) as later:
        assert later is True


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
