"""poll_cluster: the one function behind the Celery task, `manage.py poll` and the demo poller.

    cluster API → collect (raw dicts) → normalize → store (upsert, transitions) → roll-ups

Network I/O happens first and entirely outside database transactions.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.utils import timezone
from kubernetes.client import ApiClient

from clusters.collect.snapshot import Snapshot, collect_cluster
from clusters.kube import KubeError, Timeouts, build_api_client
from clusters.lastwriter_check import check_last_writers
from clusters.models import Cluster, PollRun
from clusters.ownership_store import refresh_ownership
from clusters.registry import spec_of
from clusters.rollups import rebuild_rollups
from clusters.store import mark_cluster_unreachable, store_kind, store_namespaces
from clusters.store_extras import store_events, store_monitors, store_workloads

log = logging.getLogger(__name__)


def poll_cluster(cluster: Cluster) -> PollRun:
    """Poll one cluster end to end and return the PollRun that records what happened.

    Never raises for a cluster-side problem: it is recorded on the run and the cluster, and the
    stored objects stay as they were (stale).
    """
    started = timezone.now()
    clock = time.monotonic()
    run = PollRun.objects.create(cluster=cluster, started_at=started)
    Cluster.objects.filter(pk=cluster.pk).update(last_poll_started_at=started)

    if cluster.config_error:
        return _fail(cluster, run, "ConfigInvalid", cluster.config_error)

    try:
        api = build_api_client(spec_of(cluster))
    except KubeError as exc:
        return _fail(cluster, run, exc.reason, exc.message)
    try:
        snapshot = collect_cluster(
            api,
            page_size=settings.TIDEWATCH_LIST_PAGE_SIZE,
            timeouts=Timeouts(settings.TIDEWATCH_CONNECT_TIMEOUT, settings.TIDEWATCH_READ_TIMEOUT),
        )
    except KubeError as exc:
        api.close()
        return _fail(cluster, run, exc.reason, exc.message)
    try:
        return _store(cluster, run, snapshot, api, clock)
    finally:
        api.close()


def _store(
    cluster: Cluster, run: PollRun, snapshot: Snapshot, api: ApiClient, clock: float
) -> PollRun:
    """Write what was collected, then derive ownership and roll-ups from the store."""
    now = timezone.now()
    store_namespaces(cluster, snapshot.namespaces, now)
    for result in snapshot.kinds:
        counts = store_kind(cluster, result, now)
        run.counts[result.spec.key] = counts.as_dict()
        run.objects_written += counts.written
        run.objects_deleted += counts.deleted
    store_workloads(cluster, snapshot.workloads, now)
    store_monitors(cluster, snapshot.monitors, now)
    store_events(cluster, snapshot.events, now)
    extras = [snapshot.namespaces, *snapshot.workloads, *snapshot.monitors, snapshot.events]
    for result in [*snapshot.kinds, *extras]:
        if result is not None and result.error is not None:
            run.errors[result.spec.key] = {
                "reason": result.error.reason,
                "message": result.error.message,
            }
            log.warning("cluster %s: %s: %s", cluster.name, result.spec.key, result.error.message)
    refresh_ownership(cluster)
    check_last_writers(cluster, api)
    rebuild_rollups(cluster)

    finished = timezone.now()
    run.finished_at, run.ok = finished, not run.errors
    run.save()
    Cluster.objects.filter(pk=cluster.pk).update(
        server=snapshot.server[:500],
        last_poll_finished_at=finished,
        last_success_at=finished,
        last_error="; ".join(f"{k}: {v['reason']}" for k, v in sorted(run.errors.items()))[:2000],
        last_error_reason="PartialFailure" if run.errors else "",
    )
    log.info(
        "cluster %s polled in %.2fs: %d written, %d deleted, %d kinds failed",
        cluster.name,
        time.monotonic() - clock,
        run.objects_written,
        run.objects_deleted,
        len(run.errors),
    )
    return run


def _fail(cluster: Cluster, run: PollRun, reason: str, message: str) -> PollRun:
    log.error("cluster %s: poll failed: %s: %s", cluster.name, reason, message)
    mark_cluster_unreachable(cluster, reason, message)
    rebuild_rollups(cluster)
    finished = timezone.now()
    run.finished_at, run.ok, run.error = finished, False, f"{reason}: {message}"
    run.save()
    Cluster.objects.filter(pk=cluster.pk).update(
        last_poll_finished_at=finished, last_error=message[:2000], last_error_reason=reason
    )
    return run


def due_clusters(now: timezone.datetime | None = None) -> list[Cluster]:
    """Enabled clusters whose last poll started at least one interval ago."""
    now = now or timezone.now()
    due = []
    for cluster in Cluster.objects.filter(enabled=True):
        last = cluster.last_poll_started_at
        if last is None or (now - last).total_seconds() >= cluster.poll_interval:
            due.append(cluster)
    return due
