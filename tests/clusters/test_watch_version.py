"""The store version while watching (clusters/store/version.py): open pages compute their
fingerprint each time it moves, so a write no page shows must not move it."""

from __future__ import annotations

import pytest

from clusters.models import Cluster, OwnershipReport, Violation
from clusters.poll import poll_cluster
from clusters.store import version
from clusters.store.ownership import analyse_ownership, save_ownership
from dashboard import changes
from dashboard.changes import HEADER
from tests.clusters import test_sync
from tests.clusters.test_sync import live, set_ready, stored
from tests.dashboard.test_live import refresh, token_of

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


def test_one_status_change_moves_the_store_version_once(
    demo, demo_cluster, watching, client, settings, monkeypatch
):
    """Each move makes every open page compute its fingerprint: the batch's object,
    transition and roll-up writes are one step, and the ownership analysis that follows the
    change (it finds the same violations) and its hand-over move nothing more. An open object
    page redraws once for the change and then polls idle."""
    settings.TIDEWATCH_ANONYMOUS_READ = True
    monkeypatch.setattr(changes, "clock_minute", lambda: "202601010000")  # no minute moves
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(derived(demo_cluster), "the first ownership report, handed over")
    url = "/o/demo/Kustomization/flux-system/flux-system"
    token = token_of(client.get(url).content.decode())
    before = version.current()

    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "the change in the store")
    run.wait_for(derived(demo_cluster), "the analysis that covers it, handed over")

    assert version.current() == before + 1
    redraw = refresh(client, url, token)
    assert redraw.status_code == 200 and 'data-status="Degraded"' in redraw.content.decode()
    again = refresh(client, url, token_of(redraw.content.decode()))
    assert again.status_code == 204 and HEADER not in again  # idle: nothing moved since
    run.finish()


def derived(cluster: Cluster):
    """The crash mark is clear: the analysis covering every committed batch was handed back."""
    return lambda: (
        OwnershipReport.objects.filter(cluster=cluster).exists()
        and not Cluster.objects.get(pk=cluster.pk).derived_dirty
    )


def test_a_re_analysis_moves_the_version_only_when_a_violation_changed(demo_cluster):
    poll_cluster(demo_cluster)
    assert Violation.objects.filter(cluster=demo_cluster).exists()  # the demo's own
    before = version.current()

    save_ownership(demo_cluster, analyse_ownership(demo_cluster))
    assert version.current() == before  # the same violations: no page has anything new

    Violation.objects.filter(cluster=demo_cluster).order_by("id").first().delete()
    save_ownership(demo_cluster, analyse_ownership(demo_cluster))  # it is back: news
    assert version.current() == before + 1
