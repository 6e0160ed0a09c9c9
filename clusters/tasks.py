"""Celery tasks: thin wrappers around clusters.poll. Retries live here, logic does not."""

from __future__ import annotations

import logging

import redis
from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from clusters.locks import cluster_lock
from clusters.models import Cluster
from clusters.poll import due_clusters, poll_cluster
from clusters.registry import ConfigFileError, sync_clusters

log = logging.getLogger(__name__)

# Failures worth trying again soon rather than waiting for the next interval.
TRANSIENT = {"Unreachable", "Timeout", "ConnectionDropped", "TooManyRequests", "ServerError"}


def lock_timeout() -> float:
    """Seconds before a poll's lock expires on its own (a killed worker never releases it):
    TIDEWATCH_LOCK_TIMEOUT, by default above the task's hard time limit so a live poll never
    loses its lock."""
    return float(settings.TIDEWATCH_LOCK_TIMEOUT)


@shared_task(name="clusters.tasks.schedule_polls", ignore_result=True)
def schedule_polls() -> list[str]:
    """Beat calls this; it fans out one poll task per due cluster."""
    try:
        sync_clusters()
    except ConfigFileError as exc:
        log.error("%s; polling the clusters already known", exc)
    names = []
    for cluster in due_clusters():
        poll_cluster_task.delay(cluster.name)
        names.append(cluster.name)
    return names


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
    reason = run.error.split(":", 1)[0] if run.error else ""
    if reason in TRANSIENT and self.request.retries < self.max_retries:
        raise self.retry(countdown=min(5 * 2**self.request.retries, cluster.poll_interval))
    return "ok" if run.ok else (reason or "partial")
