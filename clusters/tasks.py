"""Celery tasks: thin wrappers around clusters.poll and clusters.sync. Retries, leases and
dispatch live here (and in clusters.dispatch), logic does not."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import shared_task
from celery.signals import worker_ready, worker_shutting_down
from django.conf import settings
from django.db import OperationalError

from clusters import dispatch
from clusters.argocd_server.refresh import refresh_argo_details
from clusters.lease import Lease, held
from clusters.locks import cluster_lock
from clusters.models import Cluster
from clusters.poll import due_clusters, poll_cluster
from clusters.registry import ConfigFileError, sync_clusters
from clusters.sync import FAILED, FELL_BACK, watch_cluster

log = logging.getLogger(__name__)

# Failures worth trying again soon rather than waiting for the next interval.
TRANSIENT = {"Unreachable", "Timeout", "ConnectionDropped", "TooManyRequests", "ServerError"}


def lock_timeout() -> float:
    """Seconds before a poll's lock expires on its own (a killed worker never releases it):
    TIDEWATCH_LOCK_TIMEOUT, by default above the task's hard time limit so a live poll never
    loses its lock."""
    return float(settings.TIDEWATCH_LOCK_TIMEOUT)


WATCHED_ELSEWHERE = "watched elsewhere"

# Set in a worker's main process when it begins a warm shutdown (solo and threads pools run
# their tasks there); pool children learn it from Redis (clusters.dispatch.STOPPING).
_SHUTTING_DOWN = threading.Event()


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(name="clusters.tasks.schedule_polls", ignore_result=True)
def schedule_polls() -> list[str]:
    """Beat calls this. TIDEWATCH_SYNC_MODE=poll: one poll task per due cluster. Watch mode:
    one watch task per cluster nobody watches (and none is queued for), and one poll task per
    due cluster that fell back to polling."""
    try:
        sync_clusters()
    except ConfigFileError as exc:
        log.error("%s; polling the clusters already known", exc)
    names = []
    if settings.TIDEWATCH_SYNC_MODE != "poll":
        # Watched clusters have no poll to follow: their argocd-server step runs once per
        # poll_interval (a poll queues its own right after it stored).
        queue_argocd_refreshes(_redis())
    if settings.TIDEWATCH_SYNC_MODE == "poll":
        for cluster in due_clusters():
            poll_cluster_task.delay(cluster.name)
            names.append(cluster.name)
        return names
    client = _redis()
    due = {cluster.pk for cluster in due_clusters()}
    for cluster in Cluster.objects.filter(enabled=True).order_by("name"):
        action = dispatch.decide(client, cluster.name, cluster.sync_mode)
        if action == dispatch.POLL and cluster.pk in due:
            poll_cluster_task.delay(cluster.name)
            names.append(cluster.name)
        elif action == dispatch.WATCH and dispatch.mark_queued(
            client, cluster.name, settings.TIDEWATCH_WATCH_DISPATCH_SECONDS
        ):
            watch_cluster_task.delay(cluster.name)
            names.append(cluster.name)
    return names


@worker_ready.connect
def _worker_ready(sender: Any = None, **_: Any) -> None:
    # A worker restarted under the same hostname must not find its predecessor's stop flag.
    try:
        dispatch.worker_started(_redis(), sender.hostname)
    except (redis.RedisError, AttributeError) as exc:
        log.warning("could not clear the worker's stop flag: %s", exc)


@worker_shutting_down.connect
def _worker_shutting_down(sender: Any = None, how: str = "", **_: Any) -> None:
    _SHUTTING_DOWN.set()
    try:
        dispatch.worker_stopping(_redis(), str(sender))
    except redis.RedisError as exc:  # the watches still end: their lease runs out
        log.warning("could not tell the watch tasks that the worker stops: %s", exc)


@contextmanager
def _stop_when(
    lost: threading.Event, client: redis.Redis, hostname: str | None
) -> Iterator[threading.Event]:
    """An Event set when the lease is lost or this worker shuts down."""
    stop = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            if lost.is_set() or _SHUTTING_DOWN.is_set():
                break
            try:
                if hostname and dispatch.is_stopping(client, hostname):
                    break
            except redis.RedisError:
                continue  # the lease's own renewal decides when Redis is gone for too long
        stop.set()

    thread = threading.Thread(target=watch, name="watch-stop", daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        done.set()
        thread.join()


@shared_task(
    bind=True,
    name="clusters.tasks.watch_cluster",
    ignore_result=True,
    # Above the watch's own bound, so Celery never interrupts a watch that is ending by itself
    # (the global limits are a poll's and would kill it after 300 s).
    soft_time_limit=settings.TIDEWATCH_WATCH_MAX_SECONDS + 60,
    time_limit=settings.TIDEWATCH_WATCH_MAX_SECONDS + 120,
)
def watch_cluster_task(self, cluster_name: str) -> str:  # noqa: ANN001 - celery's bound self
    """Watch one cluster under its lease until the lease is lost, the worker shuts down or
    TIDEWATCH_WATCH_MAX_SECONDS pass (then beat queues it again, maybe on another worker)."""
    client = _redis()
    dispatch.started(client, cluster_name)
    cluster = Cluster.objects.filter(name=cluster_name, enabled=True).first()
    if cluster is None:
        return "gone"
    lease = Lease(client, cluster_name, ttl=settings.TIDEWATCH_WATCH_LEASE_SECONDS)
    with held(lease) as lost:
        if lost is None:
            return WATCHED_ELSEWHERE
        with _stop_when(lost, client, self.request.hostname) as stop:
            outcome = watch_cluster(
                cluster, stop=stop, max_seconds=settings.TIDEWATCH_WATCH_MAX_SECONDS
            )
    if outcome.ended == FELL_BACK:
        # Polled through poll_cluster_task from now on; watch is tried again after the resync.
        dispatch.poll_for(client, cluster_name, settings.TIDEWATCH_RESYNC_SECONDS)
        return f"fell back to polling: {outcome.message}"
    if outcome.ended == FAILED:
        dispatch.hold_off(client, cluster_name, cluster.poll_interval)
        return f"failed: {outcome.reason}"
    if lost.is_set():
        return "lease lost"
    return outcome.ended


@shared_task(
    bind=True,
    name="clusters.tasks.poll_cluster",
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def poll_cluster_task(self, cluster_name: str) -> str:  # noqa: ANN001 - celery's bound self
    client = redis.Redis.from_url(settings.REDIS_URL)
    with cluster_lock(client, cluster_name, timeout=lock_timeout()) as mine:
        if not mine:
            return "locked"
        cluster = Cluster.objects.filter(name=cluster_name, enabled=True).first()
        if cluster is None:
            return "gone"
        run = poll_cluster(cluster)
    if cluster.argocd:
        # Its own task: argocd-server's answers never hold up the next Kubernetes poll.
        refresh_argocd_task.delay(cluster_name)
    reason = run.error.split(":", 1)[0] if run.error else ""
    if reason in TRANSIENT and self.request.retries < self.max_retries:
        raise self.retry(countdown=min(5 * 2**self.request.retries, cluster.poll_interval))
    return "ok" if run.ok else (reason or "partial")


ARGOCD_QUEUED = "tidewatch:argocd:queued:{}"


def queue_argocd_refreshes(client: redis.Redis) -> list[str]:
    """One refresh_argocd_task per cluster with an argocd-server, at most once per its
    poll_interval (a Redis key that expires marks it queued)."""
    names = []
    for cluster in Cluster.objects.filter(enabled=True).order_by("name"):
        if not cluster.argocd:
            continue
        key = ARGOCD_QUEUED.format(cluster.name)
        if client.set(key, "1", nx=True, ex=max(1, cluster.poll_interval)):
            refresh_argocd_task.delay(cluster.name)
            names.append(cluster.name)
    return names


@shared_task(name="clusters.tasks.refresh_argocd", ignore_result=True)
def refresh_argocd_task(cluster_name: str) -> str:
    """Read argocd-server for one cluster's changed Applications (clusters/argocd_server)."""
    client = _redis()
    lock_seconds = settings.TIDEWATCH_ARGOCD_RUN_SECONDS + 60
    with cluster_lock(client, f"argocd:{cluster_name}", timeout=lock_seconds) as mine:
        if not mine:
            return "locked"
        cluster = Cluster.objects.filter(name=cluster_name, enabled=True).first()
        if cluster is None:
            return "gone"
        outcome = refresh_argo_details(cluster)
    if not outcome.configured:
        return "not configured"
    return outcome.reason or f"{outcome.read} read, {outcome.failed} failed, {outcome.left} left"
