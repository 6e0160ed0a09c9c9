"""The supporting kinds watched (clusters/collect/supporting_watch.py) against a real
kube-apiserver, as the `tidewatch` user with the shipped ClusterRole: a namespace and an Event
created after the watch started arrive without any list, and a 410 from etcd on the Events
watch (the second API server without watch cache, after compaction) relists them.

Every wait is on the snapshots handed over, with generous bounds, never on a sleep.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from clusters.collect.core import NAMESPACES
from clusters.collect.discovery import discover
from clusters.collect.snapshot import SUPPORTING_KINDS, Snapshot
from clusters.collect.supporting_watch import (
    Source,
    SupportingKnobs,
    SupportingWatch,
    event_source,
)
from clusters.kube import DEFAULT_LIMITS
from tests.conformance.conftest import Namespaces, api_client, compact_etcd

WAIT = 30.0


class Watching:
    """A SupportingWatch in a thread; ``wait_for`` re-checks after each snapshot."""

    def __init__(self, kubeconfig: Path, event_kinds: list[str], watch_seconds: int) -> None:
        self.cond = threading.Condition()
        self.snapshots: list[Snapshot] = []
        self.ending = threading.Event()
        probe = api_client(kubeconfig, "tidewatch")
        try:
            served, errors = discover(probe, SUPPORTING_KINDS)
        finally:
            probe.close()
        self.watch = SupportingWatch(
            lambda: api_client(kubeconfig, "tidewatch"),
            served,
            errors,
            event_kinds=lambda: event_kinds,
            on_snapshot=self._snapshot,
            ending=self.ending,
            knobs=SupportingKnobs(
                resync_seconds=3600,
                watch_seconds=watch_seconds,
                support_seconds=3600,
                retry_seconds=1,
                debounce_seconds=0.1,
            ),
            limits=DEFAULT_LIMITS,
        )
        self.thread = threading.Thread(target=self.watch.run, daemon=True)
        self.thread.start()

    def _snapshot(self, snapshot: Snapshot) -> None:
        with self.cond:
            self.snapshots.append(snapshot)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[Snapshot], bool], what: str) -> Snapshot:
        def found() -> bool:
            return bool(self.snapshots) and predicate(self.snapshots[-1])

        with self.cond:
            assert self.cond.wait_for(found, WAIT), f"timed out waiting for {what}"
            return self.snapshots[-1]

    def state(self, source: Source) -> Any:
        return self.watch.informers[source].state

    def stop(self) -> None:
        self.ending.set()
        self.thread.join(WAIT)


@pytest.fixture
def watching(tidewatch_rbac) -> Iterator[Callable[..., Watching]]:
    started: list[Watching] = []

    def start(kubeconfig: Path, event_kinds: list[str], watch_seconds: int = 4) -> Watching:
        started.append(Watching(kubeconfig, event_kinds, watch_seconds))
        return started[-1]

    yield start
    for run in started:
        run.stop()


def names(snapshot: Snapshot) -> set[str]:
    return {item["metadata"]["name"] for item in snapshot.namespaces.items}


def reasons(snapshot: Snapshot) -> set[str]:
    assert snapshot.events is not None
    return {item.get("reason", "") for item in snapshot.events.items}


@pytest.fixture
def create_event(admin: k8s.ApiClient) -> Iterator[Callable[[str, str], None]]:
    """Create Events about a Kustomization as admin; deleted at the end (a namespace deleted
    here leaves its Events behind: no namespace controller runs)."""
    core = k8s.CoreV1Api(admin)
    made: list[tuple[str, str]] = []

    def create(namespace: str, reason: str) -> None:
        name = f"tw-{uuid.uuid4().hex[:10]}"
        made.append((namespace, name))
        _create_event(core, namespace, name, reason)

    yield create
    for namespace, name in made:
        core.delete_namespaced_event(name, namespace)


def _create_event(core: k8s.CoreV1Api, namespace: str, name: str, reason: str) -> None:
    core.create_namespaced_event(
        namespace,
        {
            "metadata": {"name": name},
            "involvedObject": {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "name": "apps",
                "namespace": namespace,
            },
            "reason": reason,
            "message": f"{reason} (tidewatch conformance)",
            "type": "Normal",
            "source": {"component": "kustomize-controller"},
        },
    )


def test_a_namespace_and_an_event_created_after_the_watch_started_arrive_without_a_list(
    realapi_kubeconfig: Path, create_event, namespaces: Namespaces, watching
) -> None:
    run = watching(realapi_kubeconfig, ["Kustomization"])
    first = run.wait_for(lambda s: bool(s.namespaces.items), "the first snapshot")
    late = f"{namespaces.prefix}-late"
    assert late not in names(first)
    namespaces.create("late")
    run.wait_for(lambda s: late in names(s), "the new namespace")
    reason = f"Late{uuid.uuid4().hex[:6]}"
    create_event(late, reason)
    run.wait_for(lambda s: reason in reasons(s), "the new Event")
    assert run.state(Source(NAMESPACES)).lists == 1, "learnt from the watch, not a list"
    assert run.state(event_source("Kustomization")).lists == 1


def test_a_410_from_etcd_on_the_events_watch_relists_them(
    uncached_kubeconfig: Path, etcd_url: str, admin, create_event, namespaces, watching
) -> None:
    """Events watched through the API server without watch cache, watches of a second: once
    etcd compacts past the last event's version, the next watch is a 410 and the Events are
    listed again, then watched on."""
    namespace, elsewhere = namespaces.create("events"), namespaces.create("writes")
    run = watching(uncached_kubeconfig, ["Kustomization"], watch_seconds=1)
    run.wait_for(lambda s: s.events is not None and s.events.state == "ok", "the first snapshot")
    before = f"Before{uuid.uuid4().hex[:6]}"
    create_event(namespace, before)
    run.wait_for(lambda s: before in reasons(s), "the Event by watch")

    core = k8s.CoreV1Api(admin)
    for _ in range(2):  # writes of another kind move etcd on past the Event's version
        made = core.create_namespaced_config_map(elsewhere, {"metadata": {"generateName": "rev-"}})
        core.delete_namespaced_config_map(made.metadata.name, elsewhere)
    compact_etcd(etcd_url)
    events = event_source("Kustomization")
    informer = run.watch.informers[events]
    with run.cond:
        assert run.cond.wait_for(lambda: informer.state.expired >= 1, WAIT), "no 410 relist"
    after = f"After{uuid.uuid4().hex[:6]}"
    create_event(namespace, after)
    snapshot = run.wait_for(lambda s: after in reasons(s), "an Event after the relist")
    assert before in reasons(snapshot), "the relist kept what exists"
    assert informer.state.lists == 2
