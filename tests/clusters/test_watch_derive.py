"""A watcher's derived data under change (issue 11): roll-ups in step with the store, ownership
on a thread of its own, a few seconds behind at most.

Over HTTP against the demo cluster, as tests/clusters/test_sync.py (whose ``Watching`` helper
waits on what the store holds after every loop of the applier): never a sleep. What ran is
counted by wrapping the store's own functions, never the client.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import clusters.ownership
import clusters.sync
from clusters.demo.server import DemoCluster
from clusters.models import Cluster, NamespaceRollup, OwnershipReport, Violation
from clusters.poll import poll_cluster
from clusters.store import ownership_child
from clusters.store.ownership import analyse_ownership
from clusters.store.rollups import rebuild_rollups
from tests.clusters import ownership_analysers
from tests.clusters.test_sync import WAIT, live, set_ready, stored
from tests.clusters.test_sync import watching as watching  # the fixture, shared

pytestmark = pytest.mark.django_db(transaction=True)

ARGO = "argoproj.io"


def row(cluster: Cluster, namespace: str) -> NamespaceRollup | None:
    return NamespaceRollup.objects.filter(cluster=cluster, namespace=namespace).first()


def clean(cluster: Cluster) -> Callable[[], bool]:
    return lambda: not Cluster.objects.get(pk=cluster.pk).derived_dirty


@pytest.fixture
def rollup_calls(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str] | None]:
    """What the watcher asked rebuild_rollups for: None for the whole cluster."""
    calls: list[frozenset[str] | None] = []
    real = clusters.sync.rebuild_rollups

    def counted(cluster: Cluster, namespaces: Any = None) -> int:
        if namespaces is None:
            calls.append(None)
            return real(cluster)
        calls.append(frozenset(namespaces))
        return real(cluster, namespaces)

    monkeypatch.setattr(clusters.sync, "rebuild_rollups", counted)
    return calls


class Gate:
    """Holds every ownership analysis on the watcher's thread (clusters.ownership.analyse)
    until opened (TIDEWATCH_OWNERSHIP_CHILD=false)."""

    def __init__(self) -> None:
        self._entered = threading.Event()
        self.opened = threading.Event()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = clusters.ownership.analyse

        def held(*args: Any, **kwargs: Any) -> Any:
            self._entered.set()
            assert self.opened.wait(WAIT), "the test never opened the gate"
            return real(*args, **kwargs)

        monkeypatch.setattr(clusters.ownership, "analyse", held)

    def entered(self) -> bool:
        return self._entered.is_set()

    def open(self) -> None:
        self.opened.set()


class ChildGate:
    """Holds every ownership analysis in the child process (tests/clusters/
    ownership_analysers.py ``held``) until the test opens and closes its FIFO."""

    def __init__(self) -> None:
        self.dir = ownership_analysers.gate_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in ("entered", "opened", "open"):
            (self.dir / name).unlink(missing_ok=True)
        os.mkfifo(self.dir / "open")
        self.opened = False

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(ownership_child, "ANALYSE", ownership_analysers.HELD)

    def entered(self) -> bool:
        return (self.dir / "entered").exists()

    def open(self, block: bool = True) -> None:
        (self.dir / "opened").touch()  # the analyses after this one are not held
        try:
            fd = os.open(self.dir / "open", os.O_WRONLY | (0 if block else os.O_NONBLOCK))
        except OSError:
            return  # nobody waits at the gate
        os.close(fd)  # the child reads end-of-file: it goes on
        self.opened = True


@pytest.fixture(params=["child", "thread"])
def gate(request: pytest.FixtureRequest) -> Iterator[Gate | ChildGate]:
    held = ChildGate() if request.param == "child" else Gate()
    yield held
    if isinstance(held, ChildGate):
        held.open(block=False)  # never leave a child blocked behind a failed test
    else:
        held.open()


def move_application(demo: DemoCluster, name: str, to: str) -> None:
    """Point an Application's destination (and the resources it reports) at namespace ``to``."""
    app = demo.get(ARGO, "applications", "argocd", name)
    assert app is not None
    resources = [{**r, "namespace": to} for r in app["status"].get("resources", [])]
    demo.patch(
        ARGO,
        "applications",
        "argocd",
        name,
        {"spec": {"destination": {"namespace": to}}, "status": {"resources": resources}},
    )


# --- roll-ups in step with the store --------------------------------------------------------------


def test_a_status_change_updates_its_namespace_row_without_a_whole_rebuild(
    demo, demo_cluster, watching, rollup_calls
):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(clean(demo_cluster), "the first derive")
    assert row(demo_cluster, "flux-system").status_counts.get("Degraded", 0) == 0
    rollup_calls.clear()

    set_ready(demo, "flux-system", "False")
    # The row counts it as soon as the object is stored: both are written in one transaction.
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "the change in the store")
    flux = row(demo_cluster, "flux-system")
    assert flux.status == "Degraded" and flux.status_counts["Degraded"] == 1
    assert flux.headline.startswith("Kustomization flux-system/flux-system is Degraded")

    run.wait_for(clean(demo_cluster), "the ownership analysis after the change")
    assert None not in rollup_calls, "a whole-cluster roll-up rebuild ran for one change"
    assert any("flux-system" in scope for scope in rollup_calls if scope)
    outcome = run.finish()
    assert outcome.rollups_scoped >= 1


def test_a_new_destination_moves_the_application_between_namespace_rows(
    demo, demo_cluster, watching, rollup_calls
):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(clean(demo_cluster), "the first derive")
    assert row(demo_cluster, "ai-services").object_count == 1
    demo_apps = row(demo_cluster, "demo-apps").object_count
    rollup_calls.clear()

    move_application(demo, "ai-services", "demo-apps")
    run.wait_for(
        lambda: stored("ai-services", "Application").target_namespaces == ["demo-apps"],
        "the new destination in the store",
    )
    # In the same transaction: the old namespace lost it, the new one has it (Progressing).
    left = row(demo_cluster, "ai-services")
    assert left.object_count == 0 and left.deployed_by == [] and left.headline == ""
    arrived = row(demo_cluster, "demo-apps")
    assert arrived.object_count == demo_apps + 1 and arrived.status == "Progressing"
    assert arrived.headline_object == "Application/argocd/ai-services"
    assert None not in rollup_calls
    run.finish()


@pytest.fixture
def polled(demo_cluster: Cluster) -> Cluster:
    poll_cluster(demo_cluster)
    return demo_cluster


def test_roll_ups_of_a_few_namespaces_cost_the_same_few_queries_as_of_all(polled):
    # No N+1: the queries do not grow with the namespaces (or objects) asked for.
    everything = list(NamespaceRollup.objects.values_list("namespace", flat=True))
    counts = {}
    for scope in (["sandbox"], ["sandbox", "gitlab", "argocd"], everything, None):
        with CaptureQueriesContext(connection) as queries:
            assert rebuild_rollups(polled, scope) == 0, "the poll's rows already match"
        counts[len(scope) if scope else "all"] = len(queries.captured_queries)
    assert max(counts.values()) <= 12, counts
    assert len(set(counts.values())) == 1, counts


def test_scoped_roll_ups_agree_with_the_whole_rebuild(polled, demo):
    # A namespace the scoped call is asked about but that has nothing left loses its row.
    demo.delete(ARGO, "applications", "argocd", "sandbox-experiments")
    demo.delete("", "namespaces", None, "sandbox")
    poll_cluster(polled)
    NamespaceRollup.objects.filter(cluster=polled, namespace="sandbox").delete()
    NamespaceRollup.objects.create(cluster=polled, namespace="sandbox", object_count=7)
    NamespaceRollup.objects.filter(cluster=polled, namespace="gitlab").update(object_count=99)

    assert rebuild_rollups(polled, {"gitlab", "sandbox"}) == 1
    assert row(polled, "sandbox") is None
    assert row(polled, "gitlab").object_count != 99
    assert rebuild_rollups(polled) == 0


# --- ownership off the applier's path -------------------------------------------------------------


def test_events_are_stored_while_an_ownership_analysis_runs(
    demo, demo_cluster, watching, gate, monkeypatch
):
    run = watching(derive_in_child=isinstance(gate, ChildGate))
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(clean(demo_cluster), "the first derive")
    gate.install(monkeypatch)

    set_ready(demo, "flux-system", "False")
    run.wait_for(gate.entered, "an ownership analysis started after the change")
    # The analysis is held: later changes are still stored, with their namespace's row.
    set_ready(demo, "infrastructure", "False")
    run.wait_for(
        lambda: stored("infrastructure").status == "Degraded",
        "a change stored while the analysis is held",
    )
    set_ready(demo, "flux-system", "True")
    run.wait_for(
        lambda: stored("flux-system").status != "Degraded", "another change while it is held"
    )
    assert row(demo_cluster, "flux-system").status_counts["Degraded"] == 1
    assert Cluster.objects.get(pk=demo_cluster.pk).derived_dirty, "not analysed yet"

    gate.open()
    run.wait_for(clean(demo_cluster), "the held analysis (and the one after it) to finish")
    assert run.finish().derives >= 2


def test_a_watch_that_ends_during_a_child_analysis_saves_nothing(
    demo, demo_cluster, watching, monkeypatch
):
    gate = ChildGate()
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(clean(demo_cluster), "the first derive")
    report = OwnershipReport.objects.get(cluster=demo_cluster)
    gate.install(monkeypatch)

    move_application(demo, "ai-services", "monitoring")
    run.wait_for(gate.entered, "the analysis after the change, held in the child")
    outcome = run.finish()  # the lease lost, say: the watch ends while the child analyses
    gate.open(block=False)  # a child still there would go on: it must find nobody to save for
    assert outcome.derive_failures == 0, "ending is not a failed analysis"
    assert OwnershipReport.objects.get(pk=report.pk).computed_at == report.computed_at
    assert not Violation.objects.filter(code="TW001", namespace="monitoring").exists()
    assert Cluster.objects.get(pk=demo_cluster.pk).derived_dirty, "the next watcher analyses"


def test_a_killed_ownership_child_is_logged_and_replaced_while_changes_go_on(
    demo, demo_cluster, watching, monkeypatch, caplog
):
    crash = ownership_analysers.gate_dir() / "crash"
    crash.parent.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(ownership_child, "ANALYSE", ownership_analysers.CRASHING)
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(clean(demo_cluster), "the first derive")
    report = OwnershipReport.objects.get(cluster=demo_cluster)
    assert not Violation.objects.filter(code="TW001", namespace="monitoring").exists()

    crash.touch()  # the next analysis SIGKILLs its child
    move_application(demo, "ai-services", "monitoring")
    run.wait_for(lambda: not crash.exists(), "the analysis whose child is killed")
    # The watcher goes on storing changes; the crash mark says the derived data is behind.
    set_ready(demo, "flux-system", "False")
    run.wait_for(lambda: stored("flux-system").status == "Degraded", "a change after the crash")
    assert Cluster.objects.get(pk=demo_cluster.pk).derived_dirty

    # Tried again in a new child: the report covers the change the killed analysis missed.
    run.wait_for(clean(demo_cluster), "the analysis tried again")
    assert OwnershipReport.objects.get(pk=report.pk).computed_at > report.computed_at
    assert Violation.objects.filter(code="TW001", namespace="monitoring").exists()
    assert run.finish().derive_failures == 1
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("child process ended (signal 9)" in r.getMessage() for r in failures), failures


def test_ownership_converges_after_a_burst_of_changes(demo, demo_cluster, watching):
    run = watching()
    run.wait_for(live(demo_cluster), "the first lists")
    run.wait_for(clean(demo_cluster), "the first derive")
    assert not Violation.objects.filter(code="TW001", namespace="monitoring").exists()

    # Argo CD Applications deploying into a namespace declared for Flux: a violation each
    # time, then most of them move back, then flips of status in between.
    for app in ("ai-services", "demo-apps-dev", "demo-apps-staging"):
        move_application(demo, app, "monitoring")
    for flip in ("False", "True", "False", "True"):
        set_ready(demo, "flux-system", flip)
    for app in ("demo-apps-dev", "demo-apps-staging"):
        move_application(demo, app, "demo-apps")
    last = demo.get(ARGO, "applications", "argocd", "demo-apps-staging")["metadata"]
    run.wait_for(
        lambda: (
            stored("demo-apps-staging", "Application").resource_version == last["resourceVersion"]
        ),
        "the burst in the store",
    )
    run.wait_for(clean(demo_cluster), "ownership after the burst")

    # What the watcher derived is what a fresh analysis and a whole rebuild say now.
    stored_report = OwnershipReport.objects.get(cluster=demo_cluster)
    fresh = analyse_ownership(demo_cluster).data
    assert stored_report.namespaces == fresh["namespaces"]
    assert sorted(Violation.objects.values_list("vid", flat=True)) == sorted(
        v["id"] for v in fresh["violations"]
    )
    monitoring = row(demo_cluster, "monitoring")
    assert any(v["namespace"] == "monitoring" for v in fresh["violations"])
    assert monitoring.violation_codes and monitoring.attention
    assert rebuild_rollups(demo_cluster) == 0, "every roll-up already matches"
    run.finish()
