"""What beat does per cluster in watch mode (clusters.dispatch), against a real redis-server."""

from __future__ import annotations

import uuid

import pytest
import redis

from clusters import dispatch
from clusters.lease import Lease
from tests.services import redis_url_or_skip


@pytest.fixture
def client():
    return redis.Redis.from_url(redis_url_or_skip())


@pytest.fixture
def name(client):
    name = f"dispatch-{uuid.uuid4().hex[:8]}"
    yield name
    client.delete(f"tidewatch:watch:{name}", dispatch.QUEUED + name, dispatch.RETRY + name)


@pytest.mark.parametrize(
    ("sync_mode", "leased", "queued", "retry", "expected"),
    [
        ("", False, False, False, dispatch.WATCH),  # never watched: watch it
        ("watch", False, False, False, dispatch.WATCH),  # its watcher died: take it over
        ("watch", True, False, False, dispatch.SKIP),  # watched now
        ("watch", False, True, False, dispatch.SKIP),  # a watch task waits in the queue
        ("poll", False, False, True, dispatch.POLL),  # fell back: poll while the retry key lives
        ("poll", False, False, False, dispatch.WATCH),  # retry time over: try watching again
    ],
)
def test_what_beat_does_for_a_cluster(client, name, sync_mode, leased, queued, retry, expected):
    if leased:
        assert Lease(client, name, ttl=30).acquire()
    if queued:
        assert dispatch.mark_queued(client, name, 60)
    if retry:
        dispatch.poll_for(client, name, 60)
    assert dispatch.decide(client, name, sync_mode) == expected


def test_a_watch_task_is_queued_once_until_it_starts(client, name):
    assert dispatch.mark_queued(client, name, 60)
    assert not dispatch.mark_queued(client, name, 60), "queued again on the next tick"
    dispatch.started(client, name)
    assert dispatch.mark_queued(client, name, 60), "after it ended, it is queued again"
