"""Reads for pages and the API. Every query a page makes lives here, with a fixed count."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from clusters.attention import FINE_RANK
from clusters.models import Cluster, GitOpsObject, KindState, NamespaceRollup
from dashboard.humanize import age

# A cluster whose last good poll is older than this many intervals is shown stale.
STALE_AFTER_INTERVALS = 3


@dataclass
class ClusterHealth:
    cluster: Cluster
    stale: bool
    stale_reason: str
    failing_kinds: list[KindState]
    not_installed: list[KindState]
    # Kinds whose last list had objects the store could not keep (KindState.skipped).
    skipping_kinds: list[KindState]

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
        reason = f"No successful poll for {age(now - cluster.last_success_at)}"
    return ClusterHealth(
        cluster=cluster,
        stale=bool(reason),
        stale_reason=reason,
        failing_kinds=failing,
        not_installed=[s for s in states if s.state == KindState.NOT_INSTALLED],
        skipping_kinds=[s for s in states if s.skipped_count],
    )


def skipped_in(health: ClusterHealth, namespace: str) -> list[str]:
    """One sentence per skipped object of ``namespace`` (from the kinds' stored examples)."""
    return [
        f"{state.kind} {namespace}/{example.get('name')} was not stored: {example.get('reason')}"
        for state in health.skipping_kinds
        for example in state.skipped
        if isinstance(example, dict) and example.get("namespace") == namespace
    ]


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
    # Worst first on one scale (clusters/attention.py): a critical ownership violation before a
    # Degraded object, then by object status.
    rows = NamespaceRollup.objects.select_related("cluster").order_by(
        "attention_rank", "status_rank", "cluster__name", "namespace"
    )
    if cluster:
        rows = rows.filter(cluster__name=cluster)
    return rows


def namespace_counts(cluster: str | None = None) -> dict[str, int]:
    """How many namespace rows, and how many of them have something to say (one query)."""
    rows = NamespaceRollup.objects.all()
    if cluster:
        rows = rows.filter(cluster__name=cluster)
    return rows.aggregate(
        total=Count("id"), attention=Count("id", filter=Q(attention_rank__lt=FINE_RANK))
    )


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


def namespace_rollup(cluster: str, namespace: str) -> NamespaceRollup | None:
    return (
        NamespaceRollup.objects.select_related("cluster")
        .filter(cluster__name=cluster, namespace=namespace)
        .first()
    )


NAMESPACE_LIMIT = 300


def namespace_objects(cluster: str, namespace: str) -> tuple[list[GitOpsObject], int]:
    """Objects living in the namespace or deploying into it, worst first: at most
    NAMESPACE_LIMIT of them (Argo CD's home holds every Application) and the total (2 queries).

    Each object gets ``lives_here`` and ``deploys_here`` flags for the page."""
    matching = (
        GitOpsObject.objects.filter(cluster__name=cluster)
        .filter(Q(namespace=namespace) | Q(targets__namespace=namespace))
        .distinct()
    )
    objects = list(
        matching.select_related("cluster")
        .defer("raw", "details", "conditions")
        .order_by("status_rank", "kind", "namespace", "name")[:NAMESPACE_LIMIT]
    )
    total = len(objects) if len(objects) < NAMESPACE_LIMIT else matching.count()
    for obj in objects:
        obj.lives_here = obj.namespace == namespace
        obj.deploys_here = namespace in obj.target_namespaces
    return objects, total


SEARCH_LIMIT = 200


def search_matches(*, text: str = "", **filters: str | None) -> QuerySet[GitOpsObject]:
    """Objects matching the filters and a free text (name, namespace, kind, message, revision),
    worst first."""
    objects = objects_filtered(**filters)
    for word in text.split()[:5]:
        objects = objects.filter(
            Q(name__icontains=word)
            | Q(namespace__icontains=word)
            | Q(kind__icontains=word)
            | Q(message__icontains=word)
            | Q(applied_revision__icontains=word)
        )
    return objects


def search_objects(*, text: str = "", **filters: str | None) -> tuple[list[GitOpsObject], int]:
    """``search_matches``: at most SEARCH_LIMIT rows plus the total count."""
    objects = search_matches(text=text, **filters)
    rows = list(objects[: SEARCH_LIMIT + 1])
    total = len(rows) if len(rows) <= SEARCH_LIMIT else objects.count()
    return rows[:SEARCH_LIMIT], total


def filter_choices() -> dict[str, list[str]]:
    """Values for the search form's selects (three small DISTINCT queries)."""
    return {
        "clusters": list(Cluster.objects.order_by("name").values_list("name", flat=True)),
        "kinds": list(
            GitOpsObject.objects.order_by("kind").values_list("kind", flat=True).distinct()
        ),
        "namespaces": list(
            NamespaceRollup.objects.order_by("namespace")
            .values_list("namespace", flat=True)
            .distinct()
        ),
    }
