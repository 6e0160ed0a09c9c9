"""poll_cluster: the one function behind the Celery task, `manage.py poll` and the demo poller.

    cluster API → collect (raw dicts) → normalize → store (upsert, transitions) → roll-ups

Each GitOps kind is stored as its pages arrive, in short transactions: no database transaction
is ever open across a network request.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone
from kubernetes.client import ApiClient

from clusters.collect.lastwriter import check_last_writers
from clusters.collect.snapshot import NOT_INSTALLED, OK, KindResult, Snapshot, collect_cluster
from clusters.kube import KubeError, Limits, build_api_client
from clusters.logcontext import bind_poll, poll_logging
from clusters.memory import release_free_memory
from clusters.models import (
    Cluster,
    GitOpsObject,
    KindState,
    Monitor,
    Namespace,
    OwnershipReport,
    PollRun,
    Workload,
)
from clusters.registry import spec_of
from clusters.store.objects import mark_cluster_unreachable, store_kind, store_namespaces
from clusters.store.ownership import refresh_ownership
from clusters.store.rollups import rebuild_rollups
from clusters.store.supporting import (
    store_controller_pods,
    store_deprecated_apis,
    store_events,
    store_monitors,
    store_workloads,
)
from clusters.store.version import writing

log = logging.getLogger(__name__)


@poll_logging
def poll_cluster(cluster: Cluster) -> PollRun:
    """Poll one cluster end to end and return the PollRun that records what happened.

    Never raises for a cluster-side problem: it is recorded on the run and the cluster, and the
    stored objects stay as they were (stale).
    """
    started = timezone.now()
    clock = time.monotonic()
    run = PollRun.objects.create(cluster=cluster, started_at=started)
    bind_poll(run.pk)
    Cluster.objects.filter(pk=cluster.pk).update(last_poll_started_at=started)
    try:
        return _poll(cluster, run, clock)
    except Exception as exc:
        _abandon(run, exc)
        raise


INTERNAL_ERROR = "InternalError"


def _abandon(run: PollRun, exc: Exception) -> None:
    """An unexpected error (a locked database, a bug) ends the poll: the run must not look as if
    it were still running, nor the cluster as if it were live. Best effort: the database may be
    what failed."""
    message = f"the poll stopped on an unexpected error: {type(exc).__name__}: {exc}"[:2000]
    log.error("cluster %s: %s", run.cluster.name, message, exc_info=exc)
    try:
        finished = timezone.now()
        PollRun.objects.filter(pk=run.pk).update(
            finished_at=finished, ok=False, error=f"{INTERNAL_ERROR}: {message}"
        )
        with writing():
            Cluster.objects.filter(pk=run.cluster_id).update(
                last_poll_finished_at=finished,
                last_error=message,
                last_error_reason=INTERNAL_ERROR,
            )
    except Exception:
        log.exception("poll run %s: could not record its failure", run.pk)


def _poll(cluster: Cluster, run: PollRun, clock: float) -> PollRun:
    if cluster.config_error:
        return _fail(cluster, run, "ConfigInvalid", cluster.config_error)

    try:
        api = build_api_client(spec_of(cluster), exec_timeout=settings.TIDEWATCH_EXEC_TIMEOUT)
    except KubeError as exc:
        return _fail(cluster, run, exc.reason, exc.message)
    before = derived_inputs(cluster)
    was_dirty = _mark_derived_dirty(cluster)
    now = timezone.now()

    def store_now(result: KindResult) -> None:
        # Each kind is written as soon as its list is complete (its own short transactions,
        # never across network I/O) and its raw objects are released before the next list.
        try:
            counts = store_kind(cluster, result, now)
        finally:
            if result.pages is not None and hasattr(result.pages, "close"):
                result.pages.close()  # a page read ahead is not fetched for nothing
        run.counts[result.spec.key] = counts.as_dict()
        run.objects_written += counts.written
        run.objects_deleted += counts.deleted
        result.count, result.items, result.pages = counts.listed, [], None
        release_free_memory()  # the kind's pages are gone: the next stage starts from less

    limits = poll_limits(clock)
    with _gc_paused():
        try:
            snapshot = collect_cluster(
                api,
                page_size=settings.TIDEWATCH_LIST_PAGE_SIZE,
                limits=limits,
                on_kind=store_now,
                max_events=settings.TIDEWATCH_MAX_EVENTS,
            )
        except KubeError as exc:
            api.close()
            return _fail(cluster, run, exc.reason, exc.message)
        try:
            return _store(cluster, run, snapshot, api, clock, before, now, limits, was_dirty)
        finally:
            api.close()


def poll_limits(clock: float) -> Limits:
    """The bounds of a poll that started at ``clock`` (time.monotonic()), from the settings."""
    return Limits(
        connect=settings.TIDEWATCH_CONNECT_TIMEOUT,
        read=settings.TIDEWATCH_READ_TIMEOUT,
        request=settings.TIDEWATCH_REQUEST_DEADLINE,
        deadline=clock + settings.TIDEWATCH_POLL_DEADLINE,
        poll_seconds=settings.TIDEWATCH_POLL_DEADLINE,
        response_bytes=settings.TIDEWATCH_MAX_RESPONSE_BYTES,
        pages=settings.TIDEWATCH_MAX_LIST_PAGES,
        objects=settings.TIDEWATCH_MAX_OBJECTS_PER_KIND,
    )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsed JSON is acyclic; the cyclic collector only re-walks an ever larger heap while
    lists arrive (a third of the collect time at 20,000 objects). Reference counting still
    frees everything; the collector runs again when the poll is over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _store(
    cluster: Cluster,
    run: PollRun,
    snapshot: Snapshot,
    api: ApiClient,
    clock: float,
    before: tuple[object, ...],
    now: datetime,
    limits: Limits,
    was_dirty: bool,
) -> PollRun:
    """Write the rest of what was collected (the GitOps kinds are already stored), then derive
    ownership and roll-ups from the store."""
    store_namespaces(cluster, snapshot.namespaces, now)
    store_workloads(cluster, snapshot.workloads, now)
    store_controller_pods(cluster, snapshot.pods, snapshot.metrics, now)
    store_deprecated_apis(cluster, snapshot.served, snapshot.discovery_errors)
    store_monitors(cluster, snapshot.monitors, now)
    # Events are listed only for kinds that were listed: a failed kind keeps its objects' Events.
    unlisted = {result.spec.kind for result in snapshot.kinds if result.state != OK}
    store_events(cluster, snapshot.events, now, keep_kinds=unlisted)
    # The metrics API is not among them: a cluster without metrics-server is not partial (the
    # cluster's metrics_state says why usage is not available).
    extras = [
        snapshot.namespaces,
        *snapshot.workloads,
        snapshot.pods,
        *snapshot.monitors,
        snapshot.events,
    ]
    for result in [*snapshot.kinds, *extras]:
        if result is not None and result.error is not None:
            run.errors[result.spec.key] = {
                "reason": result.error.reason,
                "message": result.error.message,
            }
            log.warning("cluster %s: %s: %s", cluster.name, result.spec.key, result.error.message)
    # A kind no longer served while objects of it are stored is stale too (reason NotServed).
    not_served = KindState.objects.filter(
        cluster=cluster,
        state=KindState.ERROR,
        kind__in=[r.spec.kind for r in snapshot.kinds if r.state == NOT_INSTALLED],
    )
    for state in not_served:
        run.errors[f"{state.group}/{state.kind}"] = {"reason": state.reason, "message": state.error}
    # Ownership and roll-ups are derived from the store alone: when the poll changed none of
    # their inputs (the common, idle case) recomputing them would only burn the interval —
    # unless an earlier poll died between writing objects and deriving from them.
    if (
        was_dirty
        or before != derived_inputs(cluster)
        or not OwnershipReport.objects.filter(cluster=cluster).exists()
    ):
        refresh_ownership(cluster)
        rebuild_rollups(cluster)
    Cluster.objects.filter(pk=cluster.pk).update(derived_dirty=False)
    # Out of time: the stored last writers stay as they are rather than become "Deadline".
    if limits.deadline is None or time.monotonic() < limits.deadline:
        check_last_writers(cluster, api, limits=limits)

    finished = timezone.now()
    run.finished_at, run.ok = finished, not run.errors
    run.save()
    with writing():  # the cluster card (live, partial, stale) is on every page
        Cluster.objects.filter(pk=cluster.pk).update(
            server=snapshot.server[:500],
            last_poll_finished_at=finished,
            last_success_at=finished,
            last_error="; ".join(f"{k}: {v['reason']}" for k, v in sorted(run.errors.items()))[
                :2000
            ],
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


def _mark_derived_dirty(cluster: Cluster) -> bool:
    """Mark the cluster's derived data (ownership, roll-ups) as possibly behind the objects,
    before anything is written; return whether it already was (an earlier poll died between
    its writes and its rebuild). Committed on its own, so it survives a SIGKILL."""
    was = Cluster.objects.filter(pk=cluster.pk).values_list("derived_dirty", flat=True).first()
    Cluster.objects.filter(pk=cluster.pk).update(derived_dirty=True)
    return bool(was)


def derived_inputs(cluster: Cluster) -> tuple[object, ...]:
    """A cheap fingerprint of everything ownership analysis and roll-ups read (six small
    aggregates): objects written or deleted, namespaces, controller workloads and monitors,
    kind states (staleness), and the declared boundaries."""
    return (
        GitOpsObject.objects.filter(cluster=cluster).aggregate(n=Count("id"), at=Max("changed_at")),
        tuple(
            Namespace.objects.filter(cluster=cluster)
            .order_by("name")
            .values_list("name", flat=True)
        ),
        tuple(
            Workload.objects.filter(cluster=cluster)
            .order_by("id")
            .values_list("id", "resource_version")
        ),
        tuple(
            Monitor.objects.filter(cluster=cluster)
            .order_by("id")
            .values_list("id", "resource_version")
        ),
        tuple(
            KindState.objects.filter(cluster=cluster)
            .order_by("id")
            .values_list("id", "state", "reason", "error")
        ),
        tuple(
            Cluster.objects.filter(pk=cluster.pk).values_list("boundaries", "boundaries_file_error")
        ),
    )


def _fail(cluster: Cluster, run: PollRun, reason: str, message: str) -> PollRun:
    log.error("cluster %s: poll failed: %s: %s", cluster.name, reason, message)
    mark_cluster_unreachable(cluster, reason, message)
    rebuild_rollups(cluster)
    finished = timezone.now()
    run.finished_at, run.ok, run.error = finished, False, f"{reason}: {message}"
    run.save()
    with writing():
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
