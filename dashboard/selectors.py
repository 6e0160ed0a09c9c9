"""Reads for pages and the API. Every query a page makes lives here, with a fixed count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from clusters.models import Cluster, GitOpsObject, KindState, NamespaceRollup

# A cluster whose last good poll is older than this many intervals is shown stale.
STALE_AFTER_INTERVALS = 3


@dataclass
class ClusterHealth:
    cluster: Cluster
    stale: bool
    stale_reason: str
    failing_kinds: list[KindState]
    not_installed: list[KindState]

    @property
    def last_success_at(self) -> datetime | None:
        return self.cluster.last_success_at


def cluster_health(cluster: Cluster, now: datetime | None = None) -> ClusterHealth:
    """Needs ``kind_states`` prefetched (see clusters_with_health) to stay query-free."""
    now = now or timezone.now()
    states = list(cluster.kind_states.all())
    failing = [s for s in states if s.state == KindState.ERROR]
    reason = ""
    if cluster.config_error:
        reason = f"Configuration: {cluster.config_error}"
    elif cluster.last_error_reason and cluster.last_error_reason != "PartialFailure":
        reason = f"{cluster.last_error_reason}: {cluster.last_error}"
    elif cluster.last_success_at is None:
        reason = "Not polled yet"
    elif now - cluster.last_success_at > timedelta(
        seconds=cluster.poll_interval * STALE_AFTER_INTERVALS
    ):
        reason = f"No successful poll for {_ago(now - cluster.last_success_at)}"
    return ClusterHealth(
        cluster=cluster,
        stale=bool(reason),
        stale_reason=reason,
        failing_kinds=failing,
        not_installed=[s for s in states if s.state == KindState.NOT_INSTALLED],
    )


def clusters_with_health(name: str | None = None) -> list[ClusterHealth]:
    """Two queries: clusters, and their kind states."""
    clusters = Cluster.objects.prefetch_related(
        Prefetch("kind_states", queryset=KindState.objects.order_by("group", "kind"))
    )
    if name:
        clusters = clusters.filter(name=name)
    now = timezone.now()
    return [cluster_health(c, now) for c in clusters]


def namespace_rows(cluster: str | None = None) -> QuerySet[NamespaceRollup]:
    rows = NamespaceRollup.objects.select_related("cluster").order_by(
        "cluster__name", "status_rank", "namespace"
    )
    if cluster:
        rows = rows.filter(cluster__name=cluster)
    return rows


def objects_filtered(
    *,
    cluster: str | None = None,
    namespace: str | None = None,
    tool: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    sync: str | None = None,
) -> QuerySet[GitOpsObject]:
    objects = GitOpsObject.objects.select_related("cluster").defer("raw", "details")
    filters = {
        "cluster__name": cluster,
        "namespace": namespace,
        "tool": tool,
        "kind__iexact": kind,
        "status__iexact": status,
        "sync__iexact": sync,
    }
    return objects.filter(**{k: v for k, v in filters.items() if v}).order_by(
        "status_rank", "cluster__name", "kind", "namespace", "name"
    )


def object_detail(cluster: str, kind: str, namespace: str, name: str) -> GitOpsObject | None:
    return (
        GitOpsObject.objects.select_related("cluster")
        .prefetch_related("managed")
        .filter(cluster__name=cluster, kind__iexact=kind, namespace=namespace, name=name)
        .first()
    )


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
