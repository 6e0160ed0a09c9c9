"""refresh_argo_details: the worker's argocd-server step for one cluster, after the Kubernetes
objects are stored (a poll) or while they are watched; never part of the Kubernetes collection.

Only Applications whose state changed are read: the stored Application's resourceVersion is not
the one its detail was read for (or it has no detail yet). At most
TIDEWATCH_ARGOCD_MAX_APPS_PER_RUN per run (never read ones first, then the longest unread),
each request bounded by TIDEWATCH_ARGOCD_TIMEOUT and the run by TIDEWATCH_ARGOCD_RUN_SECONDS;
the rest waits for the next run. A failed read keeps the last good resources and tree and says
why in ``error``; a failure of the server as a whole (unreachable, TLS, token) is recorded on
the Applications due without asking again for each one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.argocd_server.client import ArgoClient, ArgoError
from clusters.argocd_server.parse import app_resources, build_detail
from clusters.argocd_server.settings import server_of
from clusters.models import ArgoAppDetail, Cluster, GitOpsObject
from clusters.store.version import writing

log = logging.getLogger(__name__)

APPLICATION = ("argoproj.io", "Application")
INTERNAL_ERROR = "InternalError"


@dataclass
class RefreshOutcome:
    cluster: str
    configured: bool = False
    due: int = 0  # Applications whose state changed since their detail was read
    read: int = 0  # details stored from a good read
    failed: int = 0  # Applications whose read failed this run (error recorded)
    left: int = 0  # due but left for the next run (the per-run cap or deadline)
    requests: int = 0  # made to argocd-server
    deleted: int = 0  # details removed (no server configured any more, Application gone)
    reason: str = ""  # a server-wide failure, if one stopped the run
    shown: int = 0  # details whose resources, tree or error changed (what the page shows)


def refresh_argo_details(
    cluster: Cluster,
    *,
    max_apps: int | None = None,
    now: datetime | None = None,
) -> RefreshOutcome:
    """Read argocd-server for the cluster's changed Applications and store what it says."""
    outcome = RefreshOutcome(cluster.name)
    fresh = Cluster.objects.filter(pk=cluster.pk).values_list("argocd", flat=True).first()
    server = server_of(fresh)
    if server is None:
        # Nothing configured (or no longer): no request, and nothing shown from an old server.
        outcome.deleted = _delete(ArgoAppDetail.objects.filter(cluster=cluster))
        return outcome
    outcome.configured = True
    outcome.deleted = _delete(
        ArgoAppDetail.objects.filter(cluster=cluster).exclude(
            obj__group=APPLICATION[0], obj__kind=APPLICATION[1]
        )
    )
    due = _due(cluster)
    outcome.due = len(due)
    cap = max_apps if max_apps is not None else settings.TIDEWATCH_ARGOCD_MAX_APPS_PER_RUN
    batch = due[:cap]
    outcome.left = len(due) - len(batch)
    if not batch:
        return outcome
    now = now or timezone.now()
    deadline = time.monotonic() + settings.TIDEWATCH_ARGOCD_RUN_SECONDS
    try:
        client = ArgoClient(
            server,
            timeout=settings.TIDEWATCH_ARGOCD_TIMEOUT,
            max_bytes=settings.TIDEWATCH_ARGOCD_MAX_RESPONSE_BYTES,
        )
    except ArgoError as exc:
        _server_failed(cluster, outcome, batch, exc, now)
        _announce(outcome)
        return outcome
    try:
        for index, app in enumerate(batch):
            if time.monotonic() > deadline:
                outcome.left += len(batch) - index
                log.warning(
                    "cluster %s: argocd-server: TIDEWATCH_ARGOCD_RUN_SECONDS reached, %d "
                    "Applications wait for the next run",
                    cluster.name,
                    len(batch) - index,
                )
                break
            try:
                _read_one(cluster, client, app, now, outcome)
            except ArgoError as exc:
                if exc.server_wide:
                    _server_failed(cluster, outcome, batch[index:], exc, now)
                    break
                outcome.failed += 1
                _record_failure(cluster, outcome, app, str(exc), now)
                log.warning(
                    "cluster %s: argocd-server: Application %s/%s: %s",
                    cluster.name,
                    app["namespace"],
                    app["name"],
                    exc,
                )
    finally:
        outcome.requests = client.requests
        client.close()
        _announce(outcome)
    log.info(
        "cluster %s: argocd-server: %d Applications read, %d failed, %d left for the next run "
        "(%d requests)",
        cluster.name,
        outcome.read,
        outcome.failed,
        outcome.left,
        outcome.requests,
    )
    return outcome


def _announce(outcome: RefreshOutcome) -> None:
    # One store-version move for the whole run, and none when every detail read is what the
    # page already shows: each move costs every open page a fingerprint.
    if outcome.shown:
        with writing():
            pass


def _delete(queryset: Any) -> int:
    if not queryset.exists():
        return 0
    with writing():
        deleted, _ = queryset.delete()
    return deleted


def _due(cluster: Cluster) -> list[dict[str, Any]]:
    """Applications whose detail is missing or was read for another resourceVersion, never
    read ones first, then the longest since they were last tried."""
    rows = GitOpsObject.objects.filter(
        cluster=cluster, group=APPLICATION[0], kind=APPLICATION[1]
    ).values(
        "id",
        "namespace",
        "name",
        "resource_version",
        "argo_detail__app_resource_version",
        "argo_detail__attempted_at",
        "argo_detail__fetched_at",
        "argo_detail__id",
    )
    due = [
        row
        for row in rows
        if row["argo_detail__fetched_at"] is None  # never read well (or no detail at all)
        or row["argo_detail__app_resource_version"] != row["resource_version"]
    ]
    due.sort(
        key=lambda row: (
            row["argo_detail__attempted_at"] is not None,
            row["argo_detail__attempted_at"] or timezone.now(),
            row["namespace"],
            row["name"],
        )
    )
    return due


def _read_one(
    cluster: Cluster, client: ArgoClient, app: dict[str, Any], now: datetime, outcome: Any
) -> None:
    name, namespace = app["name"], app["namespace"]
    tree = client.application_get(name, namespace, "resource-tree")
    managed = client.application_get(name, namespace, "managed-resources")
    raw = GitOpsObject.objects.filter(pk=app["id"]).values_list("raw", flat=True).first()
    try:
        detail = build_detail(
            app_resources(raw),
            tree,
            managed,
            max_nodes=settings.TIDEWATCH_ARGOCD_MAX_TREE_NODES,
            max_fields=settings.TIDEWATCH_ARGOCD_MAX_DIFF_FIELDS,
        )
    except Exception as exc:  # a shape no parser foresaw must not end the run
        log.exception(
            "cluster %s: argocd-server: cannot parse %s/%s", cluster.name, namespace, name
        )
        raise ArgoError(INTERNAL_ERROR, f"its answer could not be parsed: {exc}"[:300]) from None
    if detail.tree_truncated:
        log.warning(
            "cluster %s: argocd-server: Application %s/%s: live tree cut at %d nodes "
            "(TIDEWATCH_ARGOCD_MAX_TREE_NODES)",
            cluster.name,
            namespace,
            name,
            settings.TIDEWATCH_ARGOCD_MAX_TREE_NODES,
        )
    written = _write(
        cluster,
        outcome,
        app["id"],
        {
            "app_resource_version": app["resource_version"],
            "fetched_at": now,
            "attempted_at": now,
            "error": "",
            "resources": detail.resources,
            "tree": detail.tree,
            "secrets_dropped": detail.secrets_dropped,
        },
    )
    if written:
        outcome.read += 1


# What the object page shows of a detail; a run that changed none of it (only the times read
# and tried) does not move the store version.
_SHOWN = ("resources", "tree", "error", "secrets_dropped")


def _write(cluster: Cluster, outcome: RefreshOutcome, obj_id: int, values: dict[str, Any]) -> bool:
    """Create or update one detail in its own short transaction (no request to argocd-server
    inside it); False if the Application was deleted meanwhile (its detail goes with it). The
    run moves the store version once at its end, when ``outcome.shown``."""
    try:
        with transaction.atomic():
            old = (
                ArgoAppDetail.objects.filter(obj_id=obj_id)
                .values(*(field for field in _SHOWN if field in values))
                .first()
            )
            if old is not None:
                ArgoAppDetail.objects.filter(obj_id=obj_id).update(**values)
            else:
                if not GitOpsObject.objects.filter(pk=obj_id).exists():
                    return False
                ArgoAppDetail.objects.create(cluster=cluster, obj_id=obj_id, **values)
    except IntegrityError:
        return False
    if old is None or any(old[field] != values[field] for field in old):
        outcome.shown += 1
    return True


def _record_failure(
    cluster: Cluster, outcome: RefreshOutcome, app: dict[str, Any], error: str, now: datetime
) -> None:
    # The last good resources, tree and app_resource_version stay: the Application stays due,
    # and the next run asks again.
    _write(cluster, outcome, app["id"], {"attempted_at": now, "error": error[:2000]})


def _server_failed(
    cluster: Cluster,
    outcome: RefreshOutcome,
    apps: list[dict[str, Any]],
    exc: ArgoError,
    now: datetime,
) -> None:
    outcome.reason = exc.reason
    outcome.failed += len(apps)
    log.error(
        "cluster %s: argocd-server: %s (%d Applications not read)", cluster.name, exc, len(apps)
    )
    for app in apps:
        _record_failure(cluster, outcome, app, str(exc), now)


def refresh_quietly(cluster: Cluster) -> RefreshOutcome | None:
    """refresh_argo_details for a loop that must not die of it (the in-process poller and
    watcher): anything unexpected is logged and the loop goes on."""
    try:
        return refresh_argo_details(cluster)
    except Exception:
        log.exception("cluster %s: argocd-server refresh failed unexpectedly", cluster.name)
        return None
