"""Concurrency with real processes: two Celery workers (`--pool solo`) and beat, against one demo
cluster, sharing a real redis-server (broker and poll lock) and the test database.

- two workers + beat while the demo changes status between cycles: no duplicate rows, exactly
  one transition per change that a poll saw, and the per-cluster lock holds (PollRun rows of one
  cluster never overlap in time). A poller sees only the states present when it lists: a change
  made and undone before a poll completes is legitimately never seen. So each change waits until
  a poll that started after it has finished *successfully* (a poll that failed, e.g. on SQLite's
  "database is locked", saw nothing) before the next one; nothing waits on a fixed sleep;
- a worker SIGKILLed mid-poll: the store stays consistent, the lock blocks other workers until
  it expires (TIDEWATCH_LOCK_TIMEOUT, small here), then polling resumes and the hidden change
  lands once.

The processes use a Redis database of their own (claimed with a key, flushed after), so other
test runs on the same redis-server cannot take their tasks.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import yaml
from django.db import connection
from django.utils import timezone

from clusters.collect.snapshot import GITOPS_KINDS
from clusters.demo.server import DemoCluster
from clusters.models import (
    Cluster,
    GitOpsObject,
    KindState,
    Namespace,
    NamespaceRollup,
    PollRun,
    StatusTransition,
)
from clusters.registry import sync_clusters
from clusters.tasks import poll_cluster_task
from dashboard.celery import app as celery_app
from tests.reliability.world import APPLICATION, KUSTOMIZATION, Probe
from tests.services import PYTHON, redis_url_or_skip, subprocess_env

pytestmark = pytest.mark.services

CLAIM = "tidewatch:reliability:claimed"
# Bounds for "this must happen", generous for a loaded 2-core machine: reaching one is a
# failure, never the way a test passes, so they cost nothing when things work.
STARTUP = 120.0  # a Celery process starting or stopping
POLLED = 120.0  # a poll (with Celery's retries and beat's next tick) finishing
NAME = "conc"
LOCK_KEY = f"tidewatch:poll:{NAME}"


@pytest.fixture
def broker() -> Iterator[str]:
    """A Redis database nobody else is using, for this test's queues and locks."""
    parts = urlsplit(redis_url_or_skip())
    for db in random.sample(range(1, 16), 15):
        url = urlunsplit(parts._replace(path=f"/{db}"))
        client = redis.Redis.from_url(url)
        if not client.set(CLAIM, os.getpid(), nx=True, ex=600):
            continue
        if client.dbsize() == 1:
            break
        client.delete(CLAIM)  # someone else's data lives here
    else:
        pytest.skip("no free Redis database (1-15) to run Celery in")
    try:
        yield url
    finally:
        client.flushdb()


@pytest.fixture
def cluster_file(demo_kubeconfig: Path, tmp_path: Path, settings) -> Path:
    path = tmp_path / "clusters.yaml"
    entry = {"name": NAME, "kubeconfig": str(demo_kubeconfig), "context": "demo"}
    path.write_text(yaml.safe_dump({"clusters": [{**entry, "poll_interval": 5}]}))
    settings.TIDEWATCH_CLUSTERS = str(path)
    return path


class Processes:
    """Celery processes started by a test, with their logs; all stopped at the end."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.started: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "dashboard", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started[name] = process
        return process

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(
            name,
            "worker",
            "--pool",
            "solo",
            "--hostname",
            f"{name}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )

    def beat(self) -> subprocess.Popen[bytes]:
        schedule = str(self.directory / "beat-schedule")
        return self.start("beat", "beat", "--loglevel", "INFO", "--schedule", schedule)

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        """Errors and retries of every process, then the tail of each log."""
        parts = []
        for name in self.started:
            text = self.log(name)
            notable = [
                line
                for line in text.splitlines()
                if any(w in line for w in ("ERROR", "Traceback", "Retry", "Error:", "CRITICAL"))
            ]
            parts.append(f"--- {name}\n" + "\n".join(notable[:40]) + f"\n...\n{text[-2000:]}")
        return "\n".join(parts)

    def wait_ready(self, name: str, timeout: float = STARTUP) -> None:
        if not wait_for(lambda: " ready." in self.log(name), timeout):
            pytest.fail(f"{name} did not start:\n{self.logs()}")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.started[name]
        if process.poll() is None:
            process.send_signal(sig)
        try:
            process.wait(timeout=STARTUP)  # a warm shutdown first finishes the running poll
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.started):
            self.stop(name)


@pytest.fixture
def processes(broker, cluster_file, transactional_db, tmp_path) -> Iterator[Processes]:
    env = subprocess_env(
        REDIS_URL=broker,
        TIDEWATCH_CLUSTERS=str(cluster_file),
        TIDEWATCH_BEAT_SECONDS="1",
        TIDEWATCH_SYNC_MODE="poll",  # these tests are about polling
        LOG_LEVEL="INFO",
    )
    running = Processes(tmp_path, env)
    try:
        yield running
    finally:
        running.stop_all()


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def send_poll(broker: str) -> None:
    # An explicit connection: the app's cached producer pool may point at another broker.
    with celery_app.connection_for_write(broker) as connection:
        poll_cluster_task.apply_async(args=[NAME], connection=connection)


def served(demo: DemoCluster) -> Counter[tuple[str, str, str]]:
    found: Counter[tuple[str, str, str]] = Counter()
    for spec in GITOPS_KINDS:
        try:
            objects = demo.list(spec.group, spec.kind)
        except KeyError:
            continue  # not served by the demo: not installed
        for obj in objects:
            found[(spec.kind, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] += 1
    return found


def stored() -> Counter[tuple[str, str, str]]:
    return Counter(GitOpsObject.objects.values_list("kind", "namespace", "name"))


def finished_since(at: datetime) -> bool:
    return PollRun.objects.filter(started_at__gt=at, finished_at__isnull=False).exists()


def succeeded_since(at: datetime) -> bool:
    """A poll that started after ``at`` listed and stored everything: it saw the cluster as it
    was at ``at`` or later. A failed one (a locked SQLite database, retried by Celery) did not."""
    return PollRun.objects.filter(started_at__gt=at, finished_at__isnull=False, ok=True).exists()


def assert_no_duplicates() -> None:
    for model, fields in (
        (GitOpsObject, ("cluster", "group", "kind", "namespace", "name")),
        (KindState, ("cluster", "group", "kind")),
        (Namespace, ("cluster", "name")),
        (NamespaceRollup, ("cluster", "namespace")),
    ):
        keys = Counter(model.objects.values_list(*fields))
        assert not [k for k, n in keys.items() if n > 1], f"duplicate {model.__name__} rows"


def assert_runs_never_overlap() -> list[PollRun]:
    runs = list(PollRun.objects.filter(cluster__name=NAME).order_by("started_at", "id"))
    for before, after in zip(runs, runs[1:], strict=False):
        if before.finished_at is None:
            continue  # a killed worker's run never finishes (see the kill test)
        assert after.started_at >= before.finished_at, (
            f"poll {after.id} started at {after.started_at} while poll {before.id} ran "
            f"until {before.finished_at}"
        )
    return runs


def status_history(probe: Probe) -> list[tuple[str, str]]:
    return list(
        StatusTransition.objects.filter(
            cluster__name=NAME,
            kind=probe.kind,
            namespace=probe.namespace,
            name=probe.name,
            field=StatusTransition.STATUS,
        )
        .order_by("at", "id")
        .values_list("from_value", "to_value")
    )


HEALTHY_AGAIN = {
    APPLICATION.key: {"health": {"status": "Healthy", "message": ""}},
    KUSTOMIZATION.key: {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "ReconciliationSucceeded",
                "message": "Applied revision: main",
                "lastTransitionTime": "2026-11-26T11:00:00Z",
                "observedGeneration": 1,
            }
        ]
    },
}


def test_two_workers_and_beat_poll_without_duplicates_or_lost_transitions(processes, broker, demo):
    sync_clusters()
    for name in ("worker1", "worker2"):
        processes.worker(name)
    processes.beat()
    started = time.monotonic()
    for name in ("worker1", "worker2"):
        processes.wait_ready(name)
    if not wait_for(lambda: PollRun.objects.filter(ok=True).exists(), POLLED):
        pytest.fail(f"no poll finished:\n{processes.logs()}")

    # The lock, deterministically: one poll held mid-list (it holds the cluster's lock), then
    # another poll task, which the other worker takes (the busy one reserves nothing more:
    # prefetch 1 with late acks) and must skip.
    release = threading.Event()
    held = demo.set_fault("/applications?", hold=release, once=True)
    try:
        send_poll(broker)
        assert wait_for(lambda: held.hits == 1, POLLED), processes.logs()
        skipped = locked_count(processes)
        send_poll(broker)
        if not wait_for(lambda: locked_count(processes) > skipped, POLLED):
            pytest.fail(f"the second poll did not find the cluster locked:\n{processes.logs()}")
    finally:
        release.set()

    # Cycles: change the cluster, queue two polls at once (on top of beat's, and each poll takes
    # over a second so they contend for the lock), then wait until a poll that started after
    # the change has succeeded: only then has the state certainly been seen.
    demo.set_fault("/applications?", delay=1.0)
    expected: dict[tuple[str, str, str], list[tuple[str, str]]] = {
        APPLICATION.key: [],
        KUSTOMIZATION.key: [],
    }
    current = {APPLICATION.key: "Healthy", KUSTOMIZATION.key: "Healthy"}
    for cycle in range(CYCLES):
        for probe in (APPLICATION, KUSTOMIZATION) if cycle % 2 == 0 else (APPLICATION,):
            to = "Degraded" if current[probe.key] == "Healthy" else "Healthy"
            if to == "Healthy":
                status = HEALTHY_AGAIN[probe.key]
                demo.patch_status(probe.group, probe.plural, probe.namespace, probe.name, status)
            else:
                probe.flip(demo)
            expected[probe.key].append((current[probe.key], to))
            current[probe.key] = to
        changed_at = timezone.now()
        send_poll(broker)
        send_poll(broker)
        if not wait_for(lambda at=changed_at: succeeded_since(at), POLLED):
            runs = list(PollRun.objects.values_list("id", "started_at", "finished_at", "error"))
            pytest.fail(f"no poll after cycle {cycle} ({changed_at}): {runs}\n{processes.logs()}")

    # A warm shutdown lets a running poll finish; polls still queued are simply not run.
    processes.stop("beat")
    processes.stop("worker1")
    processes.stop("worker2")
    elapsed = time.monotonic() - started

    runs = assert_runs_never_overlap()
    assert all(r.finished_at for r in runs), "a poll was left looking as if it still ran"
    # SQLite lets one writer in at a time and fails a deferred transaction that would have to
    # wait ("database is locked"): Celery retries that poll. PostgreSQL must never fail one.
    tolerated = "database is locked" if connection.vendor == "sqlite" else "(none)"
    bad = [(r.id, r.error, r.errors) for r in runs if not r.ok and tolerated not in r.error]
    assert not bad, f"{bad}\n{processes.logs()}"
    retried = sum(1 for r in runs if not r.ok)
    assert_no_duplicates()
    assert stored() == served(demo)
    assert GitOpsObject.objects.count() == sum(served(demo).values())
    for probe in (APPLICATION, KUSTOMIZATION):
        assert status_history(probe) == [("", "Healthy"), *expected[probe.key]], probe.name
    appearances = Counter(
        StatusTransition.objects.filter(field=StatusTransition.PRESENCE).values_list(
            "kind", "namespace", "name", "to_value"
        )
    )
    assert set(appearances.values()) == {1}, "an object appeared twice"
    worked = [n for n in ("worker1", "worker2") if "poll_cluster" in processes.log(n)]
    assert len(worked) == 2, "both workers took poll tasks"
    locked = locked_count(processes)
    changes = sum(len(v) for v in expected.values())
    report(
        f"{CYCLES} cycles, {changes} changes, {len(runs)} polls in {elapsed:.0f} s by "
        f"{len(worked)} workers; {locked} poll tasks found the cluster locked and skipped; "
        f"{retried} polls failed on a locked {connection.vendor} database and were retried",
        processes,
    )


CYCLES = 8


def locked_count(processes: Processes) -> int:
    """Poll tasks that found the cluster locked and skipped it (the task's return value)."""
    return sum(processes.log(n).count("'locked'") for n in ("worker1", "worker2"))


def test_a_worker_killed_mid_poll_leaves_the_store_consistent_and_the_lock_expires(
    processes, broker, demo
):
    # Long enough that the other worker certainly tries while the lock lives (it is idle and
    # ready when the poll is held), short enough to wait out.
    processes.env["TIDEWATCH_LOCK_TIMEOUT"] = "20"
    sync_clusters()
    lock = redis.Redis.from_url(broker)
    for name in ("worker1", "worker2"):
        processes.worker(name)
    for name in ("worker1", "worker2"):
        processes.wait_ready(name)
    send_poll(broker)
    if not wait_for(lambda: PollRun.objects.filter(ok=True).exists(), POLLED):
        pytest.fail(f"no first poll:\n{processes.logs()}")
    before = stored()
    assert before == served(demo)
    mark = StatusTransition.objects.order_by("-id").first().id

    # The next poll is held on the Application list; the cluster changes meanwhile.
    release = threading.Event()
    fault = demo.set_fault("/applications?", hold=release, once=True)
    try:
        APPLICATION.flip(demo)
        send_poll(broker)
        assert wait_for(lambda: fault.hits == 1, POLLED), processes.logs()
        (hung,) = PollRun.objects.filter(finished_at__isnull=True)
        assert lock.exists(LOCK_KEY)
        busy = next(n for n in ("worker1", "worker2") if running_task(processes.log(n)))
        idle = "worker2" if busy == "worker1" else "worker1"
        polls = PollRun.objects.count()

        # While the poll's lock lives, the other worker skips the cluster.
        send_poll(broker)
        assert wait_for(lambda: "'locked'" in processes.log(idle), POLLED), processes.logs()
        assert PollRun.objects.count() == polls, "polled while the lock was held"
        processes.stop(busy, signal.SIGKILL)
        killed_at = time.monotonic()
        ttl = lock.pttl(LOCK_KEY) / 1000
    finally:
        release.set()  # the killed worker's request: nobody reads the answer

    # The store is as the last finished poll left it.
    assert stored() == before
    assert_no_duplicates()
    assert not StatusTransition.objects.filter(id__gt=mark).exists()
    assert not KindState.objects.filter(state=KindState.ERROR).exists()

    # Then the lock expires on its own and polling resumes.
    assert wait_for(lambda: not lock.exists(LOCK_KEY), 20 + POLLED), "the lock never expired"
    expired_after = time.monotonic() - killed_at
    resumed_at = timezone.now()
    send_poll(broker)
    assert wait_for(lambda: succeeded_since(resumed_at), POLLED), processes.logs()

    last = PollRun.objects.filter(finished_at__isnull=False).latest("started_at")
    assert last.ok, (last.error, last.errors)
    assert stored() == before == served(demo)
    assert_no_duplicates()
    new = list(
        StatusTransition.objects.filter(id__gt=mark).values_list("name", "field", "to_value")
    )
    assert new == [(APPLICATION.name, "status", "Degraded")]
    assert_runs_never_overlap()
    # The killed run's row stays "running" for ever: nothing marks it abandoned.
    hung.refresh_from_db()
    assert hung.finished_at is None
    report(
        f"lock expired {expired_after:.1f} s after the kill (TTL left at kill {ttl:.1f} s); "
        f"the killed PollRun {hung.id} keeps finished_at=None"
    )
    assert Cluster.objects.get(name=NAME).last_success_at is not None


def running_task(log: str) -> bool:
    """Whether a worker's log shows a task received and not yet ended."""
    received = set(re.findall(r"Task [\w.]+\[([-\w]+)\] received", log))
    ended = set(re.findall(r"Task [\w.]+\[([-\w]+)\] (?:succeeded|failed|retry)", log))
    return bool(received - ended)


def report(line: str, processes: Processes | None = None) -> None:
    """With TIDEWATCH_RELIABILITY_REPORT=1 (and -s), print the figures docs/reliability.md uses."""
    if os.environ.get("TIDEWATCH_RELIABILITY_REPORT"):
        print(line)
        if processes is not None and os.environ.get("TIDEWATCH_RELIABILITY_REPORT") == "logs":
            print(processes.logs())
