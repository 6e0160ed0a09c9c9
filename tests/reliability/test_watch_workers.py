"""Watching in Celery workers, with real processes: `--pool solo` workers consuming the "watch"
queue (and beat, where it dispatches), a real redis-server holding the lease, the demo cluster
over HTTP.

- one worker watches the cluster: the first list lands, then a change in the demo reaches the
  store without any poll;
- two workers: exactly one holds the lease and watches, a second watch task on the other
  worker returns "watched elsewhere"; the holder SIGKILLed, beat queues the cluster again once
  the lease expires and the other worker takes it over within 2 × the lease (measured, asserted
  loosely on a loaded machine) and its list catches up on the change made meanwhile;
- a warm shutdown (SIGTERM) ends the watch and releases the lease at once.

Nothing waits on a fixed sleep: every wait is on the store, the lease or a log line, bounded.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest
import redis

from clusters.lease import holder_of
from clusters.models import Cluster, StatusTransition
from clusters.registry import sync_clusters
from clusters.tasks import WATCHED_ELSEWHERE, watch_cluster_task
from dashboard.celery import app as celery_app
from tests.reliability.test_concurrency import (  # noqa: F401 - fixtures
    NAME,
    STARTUP,
    Processes,
    broker,
    cluster_file,
    served,
    stored,
    wait_for,
)
from tests.reliability.world import APPLICATION, KUSTOMIZATION, Probe
from tests.services import subprocess_env

pytestmark = pytest.mark.services

LEASE = 3  # seconds: short, so takeover is quick to wait out
SETTLE = 120.0  # bound for "this must happen" on a loaded 2-core machine (never how a test passes)


class Watchers(Processes):
    broker = ""  # the Redis URL the processes use

    def watcher(self, name: str):  # noqa: ANN201
        return self.start(
            name,
            "worker",
            "--pool",
            "solo",
            "--queues",
            "celery,watch",
            "--hostname",
            f"{name}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )


@pytest.fixture
def watchers(broker, cluster_file, transactional_db, tmp_path) -> Iterator[Watchers]:  # noqa: F811
    env = subprocess_env(
        REDIS_URL=broker,
        TIDEWATCH_CLUSTERS=str(cluster_file),
        TIDEWATCH_BEAT_SECONDS="1",
        TIDEWATCH_SYNC_MODE="watch",
        TIDEWATCH_WATCH_LEASE_SECONDS=str(LEASE),
        LOG_LEVEL="INFO",
    )
    running = Watchers(tmp_path, env)
    running.broker = broker
    try:
        yield running
    finally:
        running.stop_all()


def send_watch(broker_url: str) -> None:
    with celery_app.connection_for_write(broker_url) as connection:
        watch_cluster_task.apply_async(args=[NAME], connection=connection)


def holder_pid(client: redis.Redis) -> int | None:
    holder = holder_of(client, NAME)
    return int(holder.split(":")[1]) if holder else None


def transitions_to(probe: Probe, value: str) -> int:
    return StatusTransition.objects.filter(
        cluster__name=NAME,
        kind=probe.kind,
        namespace=probe.namespace,
        name=probe.name,
        field=StatusTransition.STATUS,
        to_value=value,
    ).count()


def test_a_worker_watches_the_cluster_and_a_change_reaches_the_store(watchers, demo):
    sync_clusters()
    client = redis.Redis.from_url(watchers.broker)
    worker = watchers.watcher("worker1")
    watchers.wait_ready("worker1")
    send_watch(watchers.broker)
    if not wait_for(lambda: holder_pid(client) == worker.pid, SETTLE):
        pytest.fail(f"the worker never took the lease:\n{watchers.logs()}")
    if not wait_for(lambda: stored() == served(demo), SETTLE):
        pytest.fail(f"the first list never landed:\n{watchers.logs()}")

    APPLICATION.flip(demo)
    changed = time.monotonic()
    if not wait_for(lambda: transitions_to(APPLICATION, "Degraded") == 1, SETTLE):
        pytest.fail(f"the change never reached the store:\n{watchers.logs()}")
    print(f"change in the store {time.monotonic() - changed:.2f} s after the demo accepted it")
    cluster = Cluster.objects.get(name=NAME)
    assert cluster.sync_mode == Cluster.WATCH
    assert "clusters.tasks.poll_cluster[" not in watchers.log("worker1"), "watched, not polled"


def test_one_worker_holds_the_lease_and_the_other_takes_over_after_sigkill(watchers, demo):
    sync_clusters()
    client = redis.Redis.from_url(watchers.broker)
    workers = {name: watchers.watcher(name) for name in ("worker1", "worker2")}
    for name in workers:
        watchers.wait_ready(name)
    watchers.beat()  # queues the watch task once; then the lease says the cluster is taken
    if not wait_for(lambda: holder_pid(client) is not None, SETTLE):
        pytest.fail(f"nobody took the lease:\n{watchers.logs()}")
    if not wait_for(lambda: stored() == served(demo), SETTLE):
        pytest.fail(f"the first list never landed:\n{watchers.logs()}")
    busy = next(name for name, p in workers.items() if p.pid == holder_pid(client))
    idle = "worker2" if busy == "worker1" else "worker1"

    # A second watch task for the same cluster: the idle worker takes it (the busy one holds
    # its one unacknowledged task) and finds the lease taken.
    send_watch(watchers.broker)
    if not wait_for(lambda: repr(WATCHED_ELSEWHERE) in watchers.log(idle), SETTLE):
        pytest.fail(f"the second watch task did not find the lease held:\n{watchers.logs()}")
    assert holder_pid(client) == workers[busy].pid
    assert watchers.log(idle).count("watch_cluster") >= 1

    # SIGKILL the holder; change the cluster while nobody watches it.
    watchers.stop(busy, signal.SIGKILL)
    killed = time.monotonic()
    KUSTOMIZATION.flip(demo)
    if not wait_for(lambda: holder_pid(client) == workers[idle].pid, 2 * LEASE + SETTLE):
        pytest.fail(f"the other worker never took the cluster over:\n{watchers.logs()}")
    takeover = time.monotonic() - killed
    if not wait_for(lambda: transitions_to(KUSTOMIZATION, "Degraded") == 1, SETTLE):
        pytest.fail(f"the change made meanwhile was lost:\n{watchers.logs()}")
    caught_up = time.monotonic() - killed
    assert stored() == served(demo), "the new watcher's list caught up with the cluster"
    print(
        f"lease {LEASE} s: taken over {takeover:.1f} s after the SIGKILL "
        f"(goal ≤ {2 * LEASE} s), the change made meanwhile stored after {caught_up:.1f} s"
    )
    # Loose on purpose: a loaded machine delays beat and the worker, never the lease logic.
    assert takeover < 2 * LEASE + 30


def test_a_warm_shutdown_ends_the_watch_and_releases_the_lease(watchers, demo):
    watchers.env["TIDEWATCH_WATCH_LEASE_SECONDS"] = "600"  # only a release frees it in time
    sync_clusters()
    client = redis.Redis.from_url(watchers.broker)
    worker = watchers.watcher("worker1")
    watchers.wait_ready("worker1")
    send_watch(watchers.broker)
    if not wait_for(lambda: holder_pid(client) == worker.pid, SETTLE):
        pytest.fail(f"the worker never took the lease:\n{watchers.logs()}")
    assert client.pttl(f"tidewatch:watch:{NAME}") > 60_000

    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=STARTUP)
    except Exception:
        pytest.fail(f"the worker did not stop on SIGTERM:\n{watchers.logs()}")
    assert holder_of(client, NAME) is None, "the lease was released, not left to expire"
    log = watchers.log("worker1")
    assert "succeeded" in log and "'stopped'" in log, log[-3000:]
    assert worker.returncode == 0
