"""Watch mode beyond the GitOps kinds, over HTTP against the demo cluster: namespaces, workloads,
monitors and Events are watched (no list between resyncs), a 403 on one of those watches
re-lists it instead and the card says so, CRDs installed or removed while watching are picked
up, and the last writers of contested resources are read as a poll reads them.

Each test waits on what the store (or the demo cluster's request counters) holds, re-checked
after every loop of the applier, never on a sleep; time for resyncs is a clock the test moves.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from clusters.collect.flux import HELM
from clusters.demo.server import DemoCluster
from clusters.models import Cluster, Event, GitOpsObject, KindState, LastWriter, Namespace
from tests.clusters.test_sync import FakeClock, live, set_ready, stored
from tests.clusters.test_sync import watching as watching  # the fixture, shared

pytestmark = pytest.mark.django_db(transaction=True)


def supporting_stored(cluster: Cluster) -> Callable[[], bool]:
    """The first lists are in and the first supporting snapshot is stored."""
    is_live = live(cluster)
    return lambda: is_live() and KindState.objects.filter(kind="Namespace", state="ok").exists()


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def an_event_about(demo: DemoCluster, kind: str, name: str, reason: str) -> dict[str, Any]:
    """A copy of one of the demo's Events about a ``kind``, renamed and about ``name``."""
    template = next(e for e in demo.list("", "events") if e["involvedObject"]["kind"] == kind)
    event = copy.deepcopy(template)
    event["metadata"] = {
        "name": f"{name}.{uuid.uuid4().hex[:12]}",
        "namespace": template["metadata"]["namespace"],
        "uid": str(uuid.uuid4()),
    }
    event["involvedObject"]["name"] = name
    event["reason"] = reason
    return demo.apply(event)


def lists(demo: DemoCluster) -> dict[str, int]:
    return dict(demo.list_requests)


# --- watched, not re-listed ----------------------------------------------------------------------


def test_a_namespace_created_while_watching_is_stored_without_any_list(
    demo, demo_cluster, watching
):
    run = watching()
    run.wait_for(supporting_stored(demo_cluster), "the first supporting snapshot")
    before = lists(demo)
    demo.apply(namespace("late-arrival"))
    run.wait_for(
        lambda: Namespace.objects.filter(cluster=demo_cluster, name="late-arrival").exists(),
        "the new namespace in the store",
    )
    demo.delete("", "namespaces", None, "late-arrival")
    run.wait_for(
        lambda: not Namespace.objects.filter(cluster=demo_cluster, name="late-arrival").exists(),
        "the namespace gone from the store",
    )
    assert lists(demo) == before, "learnt from the watch, not from a list"
    run.finish()


def test_an_idle_watched_cluster_lists_nothing_between_resyncs(demo, demo_cluster, watching):
    # support_seconds 1: the old supporting thread re-listed everything every second. Watches
    # of 1 s: the streams end and are renewed, which is what the time is counted in.
    clock = FakeClock()
    run = watching(clock=clock, support_seconds=1, watch_seconds=1)
    run.wait_for(supporting_stored(demo_cluster), "the first supporting snapshot")
    before = lists(demo)
    renewed = demo.set_fault("/api/v1/namespaces?watch=true", status=200)  # counts, answers
    run.wait_for(lambda: renewed.hits >= 4, "three namespace watches to end and be renewed")
    assert lists(demo) == before, "an idle cluster is watched, not listed"
    # The resync lists each watched list once more (and only then).
    clock.now = 601.0
    run.wait_for(
        lambda: lists(demo).get("/namespaces", 0) > before.get("/namespaces", 0), "the resync"
    )
    run.finish()


def test_an_event_about_a_watched_kind_arrives_by_watch_and_others_stay_out(
    demo, demo_cluster, watching
):
    run = watching()
    run.wait_for(supporting_stored(demo_cluster), "the first supporting snapshot")
    before = lists(demo)
    an_event_about(demo, "Kustomization", "flux-system", "LateReconcile")
    run.wait_for(
        lambda: Event.objects.filter(
            cluster=demo_cluster, involved_name="flux-system", reason="LateReconcile"
        ).exists(),
        "the new Event in the store",
    )
    assert lists(demo) == before
    # An Event about a kind Tidewatch does not hold is not asked for, as in a poll.
    pod = copy.deepcopy(an_event_about(demo, "Kustomization", "x", "Other"))
    pod["metadata"] = {"name": "pod.1", "namespace": "flux-system", "uid": str(uuid.uuid4())}
    pod["involvedObject"] = {"apiVersion": "v1", "kind": "Pod", "name": "p", "namespace": "x"}
    demo.apply(pod)
    set_ready(demo, "flux-system", "False")  # something the applier waits on after the Pod's
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "a later change")
    assert not Event.objects.filter(involved_kind="Pod").exists()
    run.finish()


def test_a_410_on_the_events_watch_relists_them(demo, demo_cluster, watching):
    hold = threading.Event()
    # The Kustomization Events' watch (its field selector comes first in the query) waits;
    # meanwhile an Event goes and etcd compacts: only the relist can notice.
    expired = demo.set_fault("Kustomization&watch=true", status=410, once=True, hold=hold)
    run = watching()
    run.wait_for(supporting_stored(demo_cluster), "the first supporting snapshot")
    (gone,) = Event.objects.filter(involved_kind="Kustomization").order_by("uid")[:1]
    event = next(e for e in demo.list("", "events") if e["metadata"]["uid"] == gone.uid)
    before = lists(demo).get("/events", 0)
    demo.delete("", "events", event["metadata"]["namespace"], event["metadata"]["name"])
    demo.compact()
    hold.set()
    run.wait_for(lambda: not Event.objects.filter(uid=gone.uid).exists(), "the relist")
    assert expired.hits == 1 and lists(demo)["/events"] > before
    run.finish()


# --- a 403 on a supporting watch -----------------------------------------------------------------


def test_a_403_on_a_supporting_watch_re_lists_it_and_the_card_says_so(
    demo, demo_cluster, watching, client, settings
):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    demo.set_fault("/api/v1/namespaces?watch=true", status=403)  # list allowed, watch not
    run = watching(support_seconds=1)
    note = "Namespace: watch not allowed (403 Forbidden); re-listed every 1 s"
    run.wait_for(
        lambda: Cluster.objects.get(pk=demo_cluster.pk).sync_mode_reason == note, "the note"
    )
    cluster = Cluster.objects.get(pk=demo_cluster.pk)
    assert cluster.sync_mode == Cluster.WATCH, "the GitOps kinds are still watched"
    html = client.get("/").content.decode()
    assert "Live (watching)" in html and f"Re-listed instead of watched: {note}" in html
    demo.apply(namespace("late-arrival"))
    run.wait_for(
        lambda: Namespace.objects.filter(cluster=demo_cluster, name="late-arrival").exists(),
        "the re-list to find the new namespace",
    )
    run.finish()


# --- CRDs installed or removed while watching ----------------------------------------------------


def test_a_crd_installed_and_removed_while_watching_starts_and_stops_its_kind(
    demo, demo_cluster, watching
):
    releases = demo.list(HELM, "helmreleases")
    assert releases
    demo.uninstall(HELM)
    run = watching(discovery_seconds=0.2)
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(
        lambda: KindState.objects.filter(kind="HelmRelease", state="not_installed").exists(),
        "HelmRelease not installed",
    )
    demo.install(HELM)
    for release in releases:
        release["metadata"] = {
            k: v
            for k, v in release["metadata"].items()
            if k not in ("resourceVersion", "uid", "creationTimestamp", "generation")
        }
        demo.apply(release)
    count = len(releases)
    run.wait_for(
        lambda: GitOpsObject.objects.filter(kind="HelmRelease").count() == count,
        "the new kind listed and stored",
    )
    assert KindState.objects.get(kind="HelmRelease").state == KindState.OK
    set_ready(demo, "flux-system", "False")  # the other kinds watch on
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "a change of another kind")

    demo.uninstall(HELM)
    run.wait_for(
        lambda: (
            not GitOpsObject.objects.filter(kind="HelmRelease").exists()
            and KindState.objects.get(kind="HelmRelease").state == KindState.NOT_INSTALLED
        ),
        "the kind gone",
    )
    run.finish()


# --- last writers ------------------------------------------------------------------------------


def test_the_last_writer_of_a_contested_resource_is_read_in_watch_mode(
    demo, demo_cluster, watching
):
    run = watching(last_writer_seconds=0.2)
    run.wait_for(
        lambda: LastWriter.objects.filter(cluster=demo_cluster).exists(), "the last writer"
    )
    (writer,) = LastWriter.objects.filter(cluster=demo_cluster)
    assert writer.resource == "/ConfigMap:monitoring/grafana-dashboard-portfolio"
    assert writer.tool == "argocd" and writer.manager == "argocd-controller"
    run.finish()


# --- /readyz: the heartbeat of a watcher whose every kind fails ----------------------------------


def test_a_watcher_whose_every_kind_fails_still_beats_for_readyz(
    demo, demo_cluster, watching, settings
):
    from dashboard.health import check_polls

    settings.TIDEWATCH_SYNC_MODE = "watch"
    Cluster.objects.filter(pk=demo_cluster.pk).update(sync_mode=Cluster.WATCH)
    demo.set_fault("?limit", status=403)  # every list is refused
    run = watching()
    run.wait_for(
        lambda: Cluster.objects.get(pk=demo_cluster.pk).last_poll_finished_at is not None,
        "the heartbeat",
    )
    cluster = Cluster.objects.get(pk=demo_cluster.pk)
    assert cluster.last_success_at is None, "nothing was listed: the card is not live"
    assert not KindState.objects.filter(kind="Kustomization", state="ok").exists()
    # A watch that started long ago: only the heartbeat says the watcher is alive.
    Cluster.objects.filter(pk=demo_cluster.pk).update(last_poll_started_at=ago_seconds(3600))
    assert check_polls().ok, check_polls().detail
    run.finish()


def ago_seconds(seconds: float) -> Any:
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(seconds=seconds)


# --- storing a changed Events list rewrites only what changed ------------------------------------


def test_storing_events_again_rewrites_only_the_events_that_changed(demo, demo_cluster):
    from django.utils import timezone

    from clusters.collect.core import EVENTS
    from clusters.collect.kinds import ServedKind
    from clusters.collect.snapshot import KindResult
    from clusters.store.supporting import store_events

    served = ServedKind(EVENTS, "v1", "events", True)

    def event(name: str, version: str, reason: str) -> dict[str, Any]:
        return {
            "metadata": {
                "name": name,
                "namespace": "flux-system",
                "uid": f"uid-{name}",
                "resourceVersion": version,
            },
            "involvedObject": {"kind": "Kustomization", "name": "apps", "namespace": "flux-system"},
            "reason": reason,
            "lastTimestamp": "2026-12-01T12:00:00Z",
        }

    def stored_events() -> dict[str, tuple[int, str, str]]:
        return {
            e.uid: (e.id, e.resource_version, e.reason)
            for e in Event.objects.filter(cluster=demo_cluster)
        }

    def store(*items: dict[str, Any]) -> None:
        result = KindResult(EVENTS, "ok", served=served, items=list(items), count=len(items))
        store_events(demo_cluster, result, timezone.now())

    store(event("a", "1", "Same"), event("b", "1", "Before"), event("c", "1", "Goes"))
    first = stored_events()
    store(event("a", "1", "Same"), event("b", "2", "After"), event("d", "1", "New"))
    second = stored_events()
    assert set(second) == {"uid-a", "uid-b", "uid-d"}
    assert second["uid-a"] == first["uid-a"], "an unchanged Event is not rewritten"
    assert second["uid-b"][1:] == ("2", "After") and second["uid-d"][1:] == ("1", "New")


def test_watched_events_past_the_cap_turn_the_event_kind_stale_and_keep_what_is_stored(
    demo, demo_cluster, watching, settings
):
    # The demo's Events are all about kinds with objects: the cap lets exactly those in.
    settings.TIDEWATCH_MAX_EVENTS = cap = len(demo.list("", "events"))
    run = watching()
    run.wait_for(supporting_stored(demo_cluster), "the first supporting snapshot")
    assert KindState.objects.get(kind="Event").state == KindState.OK
    stored_before = set(Event.objects.values_list("uid", flat=True))
    an_event_about(demo, "Kustomization", "flux-system", "OneTooMany")
    run.wait_for(
        lambda: KindState.objects.get(kind="Event").state == KindState.ERROR, "the cap reached"
    )
    state = KindState.objects.get(kind="Event")
    assert state.reason == "TooManyObjects" and f"TIDEWATCH_MAX_EVENTS={cap}" in state.error
    assert set(Event.objects.values_list("uid", flat=True)) == stored_before
    run.finish()
