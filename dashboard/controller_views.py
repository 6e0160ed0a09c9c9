"""The Controllers view: Flux's and Argo CD's own workloads per cluster, their versions side by
side across clusters, and the same as JSON. Reads the store only (Workload rows, the cluster's
metrics and API facts); the judgement is clusters/ownership/controller_health.py's.

Fixed query counts: a page is the clusters with their kind states (two queries) and their
Workload rows (one), whatever the number of clusters and controllers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from clusters.models import Cluster, Workload
from clusters.ownership import controller_health as health
from clusters.store.controllers import assess_stored, metrics_reason, to_workload
from clusters.store.ownership import cluster_boundaries
from dashboard import changes, request_input, selectors
from dashboard.pagination import paginated
from dashboard.views import HtmxHttpRequest


@dataclass
class ClusterView:
    """One cluster's controllers as a page shows them."""

    health: selectors.ClusterHealth
    assessed: health.ClusterControllers
    boundaries_error: str

    @property
    def cluster(self) -> Cluster:
        return self.health.cluster

    @property
    def tone(self) -> str:
        return self.assessed.tone

    @property
    def unmeasured(self) -> bool:
        return any(c.usage is None for t in self.assessed.tools for c in t.controllers)

    @property
    def stale_usage(self) -> str:
        """Why some figures shown are from an earlier read ("" when none are)."""
        return next(
            (
                c.workload.usage_reason
                for t in self.assessed.tools
                for c in t.controllers
                if c.usage_stale
            ),
            "",
        )

    @property
    def metrics_reason(self) -> str:
        return metrics_reason(self.cluster)

    @property
    def flux_skew(self) -> str:
        return health.flux_skew(self.assessed.tool("flux").controllers)


def _collected(cluster: Cluster) -> bool:
    """Whether Deployments were ever listed (kind states prefetched: no query)."""
    return any(
        s.group == "apps" and s.kind == "Deployment" and s.last_success_at is not None
        for s in cluster.kind_states.all()
    )


def cluster_views(name: str | None = None) -> list[ClusterView]:
    """Three queries: clusters, their kind states, every Workload row of them."""
    found = selectors.clusters_with_health(name)
    rows: dict[int, list[Workload]] = {h.cluster.pk: [] for h in found}
    workloads = Workload.objects.filter(cluster_id__in=list(rows)).order_by(
        "cluster_id", "namespace", "name", "kind"
    )
    for row in workloads:
        rows[row.cluster_id].append(row)
    views = []
    for item in found:
        cluster = item.cluster
        boundaries, error = cluster_boundaries(cluster)
        listed = [to_workload(w) for w in rows[cluster.pk]] if _collected(cluster) else None
        views.append(ClusterView(item, assess_stored(cluster, boundaries, listed), error))
    return views


def fingerprint(name: str | None) -> object:
    """What the pages show: the clusters' cards and metrics/API facts, and every column of the
    Workload rows the view reads (two queries)."""
    clusters = Cluster.objects.filter(name=name) if name else Cluster.objects.all()
    extra = ("metrics_state", "metrics_reason", "deprecated_apis", "boundaries")
    workloads = Workload.objects.filter(cluster__in=clusters).order_by("id")
    return [
        changes.clusters_term(clusters, *extra, "boundaries_file_error"),
        list(
            workloads.values_list(
                *("id", "resource_version", "labels", "ready", "desired", "images"),
                *("pods", "restarts", "usage", "usage_reason"),
            )
        ),
    ]


def _live(request: HtmxHttpRequest, name: str | None, render_page: Any) -> HttpResponse:
    live = changes.check(request, lambda: fingerprint(name))
    if live.response:
        return live.response
    return changes.rendered(request, live.token, lambda: render_page(live))


@require_safe
def controllers_page(request: HtmxHttpRequest, cluster: str) -> HttpResponse:
    if idle := changes.idle(request):
        return idle

    def page(live: changes.Check) -> HttpResponse:
        views = cluster_views(cluster)
        if not views:
            raise Http404(f"There is no cluster {cluster}: check the name, or clusters.yaml.")
        context = {
            "view": views[0],
            "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
            "token": live.token,
            "self_url": reverse("controllers", args=[cluster]),
        }
        template = "dashboard/controllers.html"
        if request.htmx:
            template += "#controllers-body"
        return render(request, template, context)

    return _live(request, cluster, page)


@dataclass(frozen=True)
class Skew:
    tool: str
    component: str
    sentence: str


def skews(rows: list[health.VersionRow], names: list[str]) -> list[Skew]:
    """One sentence per component at different versions across clusters."""
    found = []
    for row in rows:
        if not row.skew:
            continue
        parts = [
            f"{', '.join(v or 'not reported' for v in versions)} on {cluster}"
            for cluster, versions in zip(names, row.cells(names), strict=True)
            if versions
        ]
        label = health.TOOL_NAMES[row.tool]
        found.append(Skew(row.tool, row.component, f"{label} {row.component}: {'; '.join(parts)}."))
    return found


@require_safe
def versions_page(request: HtmxHttpRequest) -> HttpResponse:
    if idle := changes.idle(request):
        return idle

    def page(live: changes.Check) -> HttpResponse:
        views = cluster_views()
        names = [v.cluster.name for v in views]
        rows = health.version_matrix({v.cluster.name: v.assessed for v in views})
        context = {
            "views": views,
            "rows": [{"row": r, "cells": r.cells(names)} for r in rows],
            "skews": skews(rows, names),
            "flux_skews": [(v.cluster.name, v.flux_skew) for v in views if v.flux_skew],
            "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
            "token": live.token,
            "self_url": reverse("controller-versions"),
        }
        template = "dashboard/controller_versions.html"
        if request.htmx:
            template += "#versions-body"
        return render(request, template, context)

    return _live(request, None, page)


# -- JSON ---------------------------------------------------------------------------------------


def controller_json(c: health.Controller) -> dict[str, Any]:
    return {
        "tool": c.tool,
        "kind": c.kind,
        "namespace": c.namespace,
        "name": c.name,
        "component": c.component,
        "required": c.required,
        "version": c.version or None,
        "versionSource": c.version_source or None,
        "images": c.images,
        "ready": c.ready,
        "desired": c.desired,
        "restarts": c.restarts,
        # null with a reason: not measured, never a guess.
        "usage": (
            {"cpuMillicores": c.cpu_millicores, "memoryBytes": c.memory_bytes}
            if c.usage is not None
            else None
        ),
        # With usage: why the figures are from an earlier read (usageStale), else null.
        "usageReason": c.workload.usage_reason or None,
        "usageStale": c.usage_stale,
    }


def cluster_controllers_json(view: ClusterView) -> dict[str, Any]:
    assessed = view.assessed
    return {
        "cluster": view.cluster.name,
        "collected": assessed.collected,
        "state": view.tone,
        "metrics": {
            "state": view.cluster.metrics_state or None,
            "reason": view.metrics_reason if view.cluster.metrics_state != "ok" else None,
        },
        "deprecatedApis": view.cluster.deprecated_apis or [],
        "findings": [f.to_dict() for f in assessed.findings],
        "tools": [
            {
                "tool": t.tool,
                "installNamespace": t.install_namespace,
                "missing": t.missing,
                "memory": t.memory.to_dict(),
                "controllers": [controller_json(c) for c in t.controllers],
            }
            for t in assessed.tools
        ],
    }


@require_safe
def controllers_api(request: HttpRequest) -> JsonResponse:
    """/api/v1/controllers[?cluster=]: per cluster, its controllers and findings."""
    cluster = request_input.read(request, request_input.filter_rules("cluster"))["cluster"]
    return paginated(request, cluster_views(cluster), "clusters", cluster_controllers_json)
