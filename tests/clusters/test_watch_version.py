"""The store version while watching (clusters/store/version.py): open pages compute their
fingerprint each time it moves, so a write no page shows must not move it."""

from __future__ import annotations

import pytest

from clusters.models import Cluster
from clusters.store import version
from tests.clusters import test_sync
from tests.clusters.test_sync import live, set_ready, stored

watching = test_sync.watching  # its fixture: watch_cluster in a thread
pytestmark = pytest.mark.django_db(transaction=True)


def test_heartbeats_alone_leave_the_store_version_alone(demo, demo_cluster, watching):
    run = watching(heartbeat_seconds=0.2)
    run.wait_for(live(demo_cluster), "the first lists")

    def beat() -> object:
        return Cluster.objects.get(pk=demo_cluster.pk).last_success_at

    run.wait_for(lambda: beat() is not None, "the first heartbeat")
    before, first = version.current(), beat()
    run.wait_for(lambda: beat() != first, "a second heartbeat")
    second = beat()
    run.wait_for(lambda: beat() != second, "a third heartbeat")
    assert version.current() == before
    # A change a page shows still moves it.
    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "the change in the store")
    assert version.current() > before
    run.finish()
