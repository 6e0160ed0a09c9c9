"""watch_cluster: one cluster's list/watch/resync loop, over HTTP against the demo cluster.

The watch runs in a thread (the applier is watch_cluster's own thread, as in a worker); the
test changes the demo cluster and waits on what the store holds, re-checked after every loop of
the applier (``on_batch``), with generous bounds: never a sleep, never a race to win. Time for
resyncs is a clock the test moves.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from django.db import connections

from clusters.collect.flux import HELM, KUSTOMIZE
from clusters.demo.server import DemoCluster
from clusters.models import Cluster, GitOpsObject, KindState, NamespaceRollup, StatusTransition
from clusters.store import version
from clusters.sync import DEADLINE, FELL_BACK, STOPPED, WatchOutcome, watch_cluster

WAIT = 60.0  # generous: a loaded 2-core machine must never fail these on time
KUSTOMIZATION_KEY = f"{KUSTOMIZE}/Kustomization"

pytestmark = pytest.mark.django_db(transaction=True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Watching:
    """watch_cluster in a thread; ``wait_for`` re-checks a predicate after each applier loop."""

    def __init__(self, cluster: Cluster, **kwargs: Any) -> None:
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.outcome: WatchOutcome | None = None
        self.error: BaseException | None = None
        self.done = False
        kwargs.setdefault("support_seconds", 3600)
        self.thread = threading.Thread(target=self._run, args=(cluster, kwargs), daemon=True)
        self.thread.start()

    def _run(self, cluster: Cluster, kwargs: dict[str, Any]) -> None:
        try:
            self.outcome = watch_cluster(cluster, stop=self.stop, on_batch=self._tick, **kwargs)
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
            self.error = exc
        finally:
            connections.close_all()
            with self.cond:
                self.done = True
                self.cond.notify_all()

    def _tick(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        with self.cond:
            ok = self.cond.wait_for(lambda: self.done or predicate(), WAIT)
        if self.error is not None:
            raise self.error
        assert ok and predicate(), f"timed out waiting for {what} (watch ended: {self.done})"

    def wait_end(self) -> WatchOutcome:
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "watch_cluster did not return"
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome

    def finish(self) -> WatchOutcome:
        self.stop.set()
        return self.wait_end()


@pytest.fixture
def watching(demo_cluster: Cluster) -> Iterator[Callable[..., Watching]]:
    started: list[Watching] = []

    def start(**kwargs: Any) -> Watching:
        started.append(Watching(demo_cluster, **kwargs))
        return started[-1]

    yield start
    for run in started:
        run.stop.set()
        run.thread.join(WAIT)


def set_ready(demo: DemoCluster, name: str, status: str, reason: str = "") -> dict[str, Any]:
    ready = {
        "type": "Ready",
        "status": status,
        "reason": reason or ("ReconciliationSucceeded" if status == "True" else "BuildFailed"),
        "message": f"Ready is {status}",
        "lastTransitionTime": "2026-12-01T12:00:00Z",
        "observedGeneration": 1,
    }
    return demo.patch_status(
        KUSTOMIZE, "Kustomization", "flux-system", name, {"conditions": [ready]}
    )


def stored(name: str, kind: str = "Kustomization") -> GitOpsObject | None:
    return GitOpsObject.objects.filter(kind=kind, name=name).first()


def stored_version(name: str) -> str:
    obj = stored(name)
    return obj.resource_version if obj else ""


def demo_version(demo: DemoCluster, name: str) -> str:
    obj = demo.get(KUSTOMIZE, "Kustomization", "flux-system", name)
    assert obj is not None
    return obj["metadata"]["resourceVersion"]


def live(cluster: Cluster) -> Callable[[], bool]:
    """The first lists are stored and the cluster says it watches."""
    return lambda: (
        Cluster.objects.get(pk=cluster.pk).sync_mode == Cluster.WATCH
        and (KindState.objects.filter(kind="Kustomization", state=KindState.OK).exists())
    )


def status_changes(name: str) -> list[tuple[str, str]]:
    return list(
        StatusTransition.objects.filter(name=name, kind="Kustomization", field="status")
        .order_by("id")
        .values_list("from_value", "to_value")
    )


# --- one change, one write, one transition -------------------------------------------------------


def test_the_cyclic_collector_runs_again_once_the_first_lists_are_stored(
    demo, demo_cluster, watching
):
    """The first lists pause it (as a poll does); hours of watching after them must not run
    without it, nor may a watch that ends leave it paused."""
    assert gc.isenabled()
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(gc.isenabled, "the collector to run again")
    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "a change by watch")
    assert gc.isenabled()
    run.finish()
    assert gc.isenabled()


def test_a_status_change_is_one_object_write_and_one_transition(demo, demo_cluster, watching):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    assert stored("flux-system").status == "Healthy"
    rows_before = dict(GitOpsObject.objects.values_list("id", "changed_at"))
    transitions_before = StatusTransition.objects.count()

    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "the change in the store")

    rows_after = dict(GitOpsObject.objects.values_list("id", "changed_at"))
    rewritten = [pk for pk, at in rows_after.items() if rows_before.get(pk) != at]
    assert rewritten == [stored("flux-system").id]
    new = StatusTransition.objects.filter(id__gt=0).order_by("id")[transitions_before:]
    assert [(t.name, t.field, t.from_value, t.to_value) for t in new] == [
        ("flux-system", "status", "Healthy", "Degraded")
    ]
    outcome = run.finish()
    assert outcome.ended == STOPPED and outcome.mode == Cluster.WATCH


def test_watched_writes_move_the_store_version_open_pages_poll(demo, demo_cluster, watching):
    # Open pages learn of a change only through the store version (dashboard/changes.py): a
    # write on the watch path that forgot to bump it would never reach a browser.
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    before = version.current()
    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "the change in the store")
    assert version.current() > before
    run.finish()


def test_a_flip_and_revert_a_moment_later_is_two_transitions_in_order(demo, demo_cluster, watching):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    # Faster than any poll: both writes land before the watcher could have looked twice.
    set_ready(demo, "flux-system", "False")
    set_ready(demo, "flux-system", "True")
    final = demo_version(demo, "flux-system")
    run.wait_for(lambda: stored_version("flux-system") == final, "the revert in the store")
    assert status_changes("flux-system")[-2:] == [("Healthy", "Degraded"), ("Degraded", "Healthy")]
    assert stored("flux-system").status == "Healthy"
    run.finish()


def test_a_burst_of_flips_is_every_transition_in_order(demo, demo_cluster, watching):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    before = len(status_changes("flux-system"))
    for _ in range(10):
        set_ready(demo, "flux-system", "False")
        set_ready(demo, "flux-system", "True")
    final = demo_version(demo, "flux-system")
    run.wait_for(lambda: stored_version("flux-system") == final, "the last flip")
    assert (
        status_changes("flux-system")[before:]
        == [
            ("Healthy", "Degraded"),
            ("Degraded", "Healthy"),
        ]
        * 10
    )
    run.finish()


def test_a_deleted_object_is_removed_with_a_transition(demo, demo_cluster, watching):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    demo.delete("argoproj.io", "applications", "argocd", "ai-services")
    run.wait_for(lambda: stored("ai-services", "Application") is None, "the deletion")
    gone = StatusTransition.objects.get(name="ai-services", field="presence", to_value="Deleted")
    assert gone.obj is None and gone.kind == "Application"
    run.finish()


def test_roll_ups_follow_a_change(demo, demo_cluster, watching):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    clean = lambda: not Cluster.objects.get(pk=demo_cluster.pk).derived_dirty  # noqa: E731
    run.wait_for(clean, "the first derive")

    def degraded() -> int:
        row = NamespaceRollup.objects.get(cluster=demo_cluster, namespace="flux-system")
        return int(row.status_counts.get("Degraded", 0))

    before = degraded()
    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: degraded() == before + 1, "the roll-up to count the Degraded object")
    run.wait_for(clean, "the crash mark cleared after deriving")
    outcome = run.finish()
    assert outcome.derives >= 2 and all(s >= 0 for s in outcome.derive_seconds)


# --- 410, resync, resume --------------------------------------------------------------------------


def test_410_relists_and_the_relist_deletes_what_went_while_unwatched(demo, demo_cluster, watching):
    # The first Application watch waits; meanwhile an object goes and etcd compacts, so the
    # watch is told its version is gone: only a relist can notice the deletion.
    hold = threading.Event()
    expired = demo.set_fault("applications?watch=true", status=410, once=True, hold=hold)
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    assert stored("ai-services", "Application") is not None
    demo.delete("argoproj.io", "applications", "argocd", "ai-services")
    demo.compact()
    hold.set()
    run.wait_for(lambda: stored("ai-services", "Application") is None, "the relist")
    assert expired.hits == 1
    assert StatusTransition.objects.filter(
        name="ai-services", field="presence", to_value="Deleted"
    ).exists()
    # Watching goes on after the relist.
    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "a change after the relist")
    assert run.finish().lists >= 2


def test_a_resync_repairs_an_event_the_watch_missed(demo, demo_cluster, watching):
    # The first Kustomization watch is answered with a bookmark past a change: that change is
    # never delivered as an event (a missed event). Only the resync can bring it in.
    hold = threading.Event()
    missed = demo.set_fault("kustomizations?watch=true", once=True, hold=hold, raw_body=b"")
    clock = FakeClock()
    run = watching(clock=clock, resync_seconds=600, watch_seconds=1)
    run.wait_for(live(demo_cluster), "the first lists")
    set_ready(demo, "flux-system", "False")
    bookmark = {
        "type": "BOOKMARK",
        "object": {
            "apiVersion": f"{KUSTOMIZE}/v1",
            "kind": "Kustomization",
            "metadata": {"resourceVersion": str(demo.resource_version)},
        },
    }
    missed.raw_body = orjson.dumps(bookmark) + b"\n"
    hold.set()
    position = str(demo.resource_version)
    run.wait_for(
        lambda: KindState.objects.get(kind="Kustomization").resource_version == position,
        "the bookmark past the change",
    )
    assert stored("flux-system").status == "Healthy"  # missed, as designed
    clock.now = 601.0
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "the resync")
    assert status_changes("flux-system")[-1] == ("Healthy", "Degraded")
    run.finish()


def test_a_restart_resumes_from_the_stored_version_without_listing(demo, demo_cluster, watching):
    first = watching()
    first.wait_for(live(demo_cluster), "the first lists")
    first.finish()
    position = KindState.objects.get(kind="Kustomization").resource_version
    assert position

    set_ready(demo, "flux-system", "False")  # while nobody watches
    lists = demo.set_fault("kustomizations?limit", status=200)  # counts lists, answers normally
    second = watching()
    second.wait_for(lambda: stored("flux-system").status == "Degraded", "the change on resume")
    assert lists.hits == 0
    assert status_changes("flux-system")[-1] == ("Healthy", "Degraded")
    second.finish()


def test_a_restart_from_a_compacted_version_relists(demo, demo_cluster, watching):
    first = watching()
    first.wait_for(live(demo_cluster), "the first lists")
    first.finish()
    demo.delete("argoproj.io", "applications", "argocd", "ai-services")  # while nobody watches
    demo.compact()  # and etcd forgets the stored position: the resumed watch gets a 410
    lists = demo.set_fault("applications?limit", status=200)
    second = watching()
    second.wait_for(lambda: stored("ai-services", "Application") is None, "the relist")
    assert lists.hits >= 1
    second.finish()


def test_a_crash_mark_left_behind_rebuilds_the_roll_ups_though_nothing_changed(
    demo, demo_cluster, watching
):
    first = watching()
    first.wait_for(live(demo_cluster), "the first lists")
    clean = lambda: not Cluster.objects.get(pk=demo_cluster.pk).derived_dirty  # noqa: E731
    first.wait_for(clean, "the first derive")
    first.finish()
    rows = NamespaceRollup.objects.filter(cluster=demo_cluster).count()
    # A watcher killed after writing objects, before rebuilding from them:
    NamespaceRollup.objects.filter(cluster=demo_cluster).delete()
    Cluster.objects.filter(pk=demo_cluster.pk).update(derived_dirty=True)

    second = watching()  # resumes: no list, no change
    second.wait_for(
        lambda: clean() and NamespaceRollup.objects.filter(cluster=demo_cluster).count() == rows,
        "the rebuild",
    )
    assert second.finish().derives == 1


def test_max_seconds_ends_the_watch_and_says_so(demo, demo_cluster):
    outcome = watch_cluster(demo_cluster, stop=threading.Event(), max_seconds=0)
    assert outcome.ended == DEADLINE and outcome.mode == Cluster.WATCH


# --- fall-back and faults per kind ---------------------------------------------------------------


def test_a_403_on_watch_falls_back_to_polling_and_the_card_says_why(
    demo, demo_cluster, watching, client, settings
):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    demo.set_fault("kustomizations?watch=true", status=403)  # list allowed, watch not
    outcome = watching().wait_end()
    assert (outcome.ended, outcome.mode) == (FELL_BACK, Cluster.POLL)
    cluster = Cluster.objects.get(pk=demo_cluster.pk)
    assert cluster.sync_mode == Cluster.POLL
    assert "watch not allowed (403" in cluster.sync_mode_reason
    html = client.get("/").content.decode()
    assert "Polling every 30 s: watch not allowed (403 Forbidden on Kustomization)" in html
    assert "Live (watching)" not in html
    (listed,) = client.get("/api/v1/clusters").json()["clusters"]
    assert listed["syncMode"] == "poll" and "403" in listed["syncModeReason"]


def test_the_card_says_live_while_watching(demo, demo_cluster, watching, client, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(
        lambda: Cluster.objects.get(pk=demo_cluster.pk).last_success_at is not None,
        "the first heartbeat",
    )
    html = client.get("/").content.decode()
    assert "Live (watching)" in html and "Polling every" not in html
    run.finish()


def test_a_kind_whose_list_fails_is_stale_while_the_others_keep_watching(
    demo, demo_cluster, watching
):
    demo.set_fault("helmreleases?limit", status=403)
    run = watching()
    run.wait_for(
        lambda: KindState.objects.filter(kind="HelmRelease", state=KindState.ERROR).exists(),
        "the failed kind",
    )
    run.wait_for(live(demo_cluster), "the other kinds")
    state = KindState.objects.get(kind="HelmRelease")
    assert state.reason == "Forbidden" and "forbidden" in state.error.lower()
    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "a change of another kind")
    demo.patch(HELM, "HelmRelease", "bigbang", "bigbang", {"metadata": {"labels": {"x": "y"}}})
    assert KindState.objects.get(kind="HelmRelease").state == KindState.ERROR
    run.finish()
