"""The Controllers view's assessment (clusters/ownership/controller_health.py) of what the store
holds: one place turns Workload rows and the cluster's metrics and API facts into it, so the
scorecard (at poll time) and the Controllers page (at request time) judge alike."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from clusters import ownership as own
from clusters.models import Cluster, Workload
from clusters.ownership import controller_health


def to_workload(row: Workload) -> own.Workload:
    return own.Workload(
        row.kind,
        row.namespace,
        row.name,
        row.labels,
        row.annotations,
        row.ready,
        row.desired,
        images=list(row.images or []),
        pods=row.pods,
        restarts=row.restarts,
        usage=row.usage if isinstance(row.usage, dict) else None,
        usage_reason=row.usage_reason,
    )


def metrics_reason(cluster: Cluster) -> str:
    """Why usage is missing when a row does not say: the cluster's metrics API state."""
    if cluster.metrics_state == "unavailable":
        return cluster.metrics_reason or "the metrics.k8s.io API did not answer"
    if not cluster.metrics_state:
        return "the metrics.k8s.io API has not been queried yet"
    return cluster.metrics_reason or "metrics.k8s.io reported no usage for the pods"


def assess_stored(
    cluster: Cluster,
    boundaries: own.Boundaries,
    workloads: Iterable[own.Workload] | None,
) -> controller_health.ClusterControllers:
    return controller_health.assess(
        boundaries,
        None if workloads is None else list(workloads),
        cluster.deprecated_apis if isinstance(cluster.deprecated_apis, list) else [],
        memory_budget_mb=settings.TIDEWATCH_ARGOCD_MEMORY_BUDGET_MB,
        restarts_warn=settings.TIDEWATCH_CONTROLLER_RESTARTS_WARN,
        metrics_reason=metrics_reason(cluster),
    )
