"""The in-process watcher of `make demo`: one watch per cluster, polling where watch is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connections

from clusters.models import Cluster, GitOpsObject, PollRun
from clusters.watcher import run_sync
from tests.clusters.test_sync import set_ready

WAIT = 60.0

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sync_thread(clusters_file: Path, settings) -> Iterator[Callable[[], threading.Event]]:
    settings.TIDEWATCH_SUPPORT_SECONDS = 3600
    stops: list[tuple[threading.Event, threading.Thread]] = []

    def start() -> threading.Event:
        stop = threading.Event()

        def run() -> None:
            try:
                run_sync(stop, clusters_file=str(clusters_file))
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        stops.append((stop, thread))
        return stop

    yield start
    for stop, thread in stops:
        stop.set()
        thread.join(WAIT)
        assert not thread.is_alive(), "the watcher did not stop"


def eventually(predicate: Callable[[], bool], what: str) -> None:
    """Re-check the store every 0.1 s up to a generous bound: the watcher lives in another
    thread and offers no hook here, so this waits on observable state, never on a guess."""
    deadline = time.monotonic() + WAIT
    pause = threading.Event()
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        pause.wait(0.1)


def flux_system() -> GitOpsObject | None:
    return GitOpsObject.objects.filter(kind="Kustomization", name="flux-system").first()


def test_the_demo_watcher_watches_and_a_change_arrives_without_a_poll(demo, sync_thread):
    sync_thread()
    eventually(lambda: Cluster.objects.filter(sync_mode=Cluster.WATCH).exists(), "watch mode")
    eventually(lambda: flux_system() is not None, "the first list")
    set_ready(demo, "flux-system", "False")
    eventually(lambda: flux_system().status == "Degraded", "the change")
    assert not PollRun.objects.exists()


def test_the_demo_watcher_polls_a_cluster_that_may_not_watch(demo, sync_thread):
    demo.set_fault("kustomizations?watch=true", status=403)
    sync_thread()
    eventually(lambda: PollRun.objects.filter(ok=True).exists(), "a poll instead")
    cluster = Cluster.objects.get(name="demo")
    assert cluster.sync_mode == Cluster.POLL and "403" in cluster.sync_mode_reason


def test_poll_mode_polls_and_never_watches(demo, sync_thread, settings):
    settings.TIDEWATCH_SYNC_MODE = "poll"
    watches = demo.set_fault("watch=true", status=200)
    sync_thread()
    eventually(lambda: PollRun.objects.filter(ok=True).exists(), "a poll")
    assert watches.hits == 0
