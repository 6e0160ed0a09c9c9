"""Prometheus metrics at /metrics, read from the store at scrape time (six queries, whatever the
number of clusters and objects).

Per-object info gauges have the labels of the tools' own, plus ``cluster``, so existing
dashboards and alerts carry over by changing the metric name:

- ``tidewatch_flux_resource_info``: the labels of the Flux Operator's ``flux_resource_info``
  (kind, name, exported_namespace, ready, reason, suspended, revision, url, ref, source_name,
  path, uid). Two deliberate gaps: a Receiver's ``url`` (its webhook path opens a reconcile to
  anyone who knows it) and a Provider's address are never exported, as they are never stored.
- ``tidewatch_argocd_app_info``: the labels of Argo CD's ``argocd_app_info`` (namespace, name,
  project, autosync_enabled, repo, dest_server, dest_namespace, sync_status, health_status,
  operation).

They are prefixed so they never collide with the same series scraped from the tools themselves.

Tidewatch's own: ``tidewatch_object_status`` (one per object, Tidewatch's status vocabulary),
``tidewatch_objects``, ``tidewatch_ownership_violations``, ``tidewatch_poll_duration_seconds``,
``tidewatch_poll_errors``, ``tidewatch_last_poll_timestamp_seconds``,
``tidewatch_last_successful_poll_timestamp_seconds``, ``tidewatch_poll_interval_seconds``,
``tidewatch_cluster_enabled``.

Controllers (the Controllers view, docs/controllers.md): ``tidewatch_controller_info`` (one per
Flux or Argo CD controller: cluster, tool, namespace, name, component, version; 1), and
``tidewatch_controller_ready_replicas``, ``tidewatch_controller_desired_replicas``,
``tidewatch_controller_restarts`` (cluster, tool, namespace, name).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.db.models.fields.json import KT
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from clusters.models import Cluster, GitOpsObject, PollRun, Violation, Workload
from clusters.ownership import CODES, controllers
from clusters.ownership.boundaries import TOOLS
from clusters.ownership.controller_health import controller_version
from clusters.store.controllers import to_workload
from clusters.store.ownership import cluster_boundaries

FLUX_INFO_LABELS = [
    "cluster",
    "uid",
    "kind",
    "name",
    "exported_namespace",
    "ready",
    "reason",
    "suspended",
    "revision",
    "url",
    "ref",
    "source_name",
    "path",
]
ARGO_INFO_LABELS = [
    "cluster",
    "namespace",
    "name",
    "project",
    "autosync_enabled",
    "repo",
    "dest_server",
    "dest_namespace",
    "sync_status",
    "health_status",
    "operation",
]
# Kinds the Flux Operator reports Ready=True for whatever their conditions (they have none).
ALWAYS_READY = {"Alert", "Provider"}

METRIC_NAMES = (
    "tidewatch_flux_resource_info",
    "tidewatch_argocd_app_info",
    "tidewatch_object_status",
    "tidewatch_objects",
    "tidewatch_ownership_violations",
    "tidewatch_poll_duration_seconds",
    "tidewatch_poll_errors",
    "tidewatch_last_poll_timestamp_seconds",
    "tidewatch_last_successful_poll_timestamp_seconds",
    "tidewatch_poll_interval_seconds",
    "tidewatch_cluster_enabled",
    "tidewatch_controller_info",
    "tidewatch_controller_ready_replicas",
    "tidewatch_controller_desired_replicas",
    "tidewatch_controller_restarts",
)
CONTROLLER_INFO_LABELS = ["cluster", "tool", "namespace", "name", "component", "version"]
CONTROLLER_LABELS = ["cluster", "tool", "namespace", "name"]


class StoreCollector:
    """A prometheus_client collector over the Tidewatch store."""

    def describe(self) -> Iterator[Metric]:
        for name in METRIC_NAMES:
            yield GaugeMetricFamily(name, "")

    def collect(self) -> Iterator[Metric]:
        clusters = _clusters()  # query 1
        names = {row["id"]: row["name"] for row in clusters}
        yield from _cluster_metrics(clusters)  # query 2: the latest finished poll of each
        yield from _object_metrics(names)  # queries 3 and 4: all objects, Application extras
        yield _violations(clusters, names)  # query 5
        yield from _controller_metrics(clusters)  # query 6: the controller workloads


def _clusters() -> list[dict[str, Any]]:
    latest = (
        PollRun.objects.filter(cluster=OuterRef("pk"), finished_at__isnull=False)
        .order_by("-started_at", "-id")
        .values("id")[:1]
    )
    return list(
        Cluster.objects.annotate(last_run_id=Subquery(latest)).values(
            "id",
            "name",
            "enabled",
            "poll_interval",
            "last_poll_finished_at",
            "last_success_at",
            "last_run_id",
            # For the controllers' discovery (install namespaces): no query of their own.
            "boundaries",
            "boundaries_file",
            "boundaries_file_error",
        )
    )


def _cluster_metrics(clusters: list[dict[str, Any]]) -> Iterator[Metric]:
    enabled = GaugeMetricFamily(
        "tidewatch_cluster_enabled",
        "1 while the cluster is in clusters.yaml and polled, 0 once removed (data kept).",
        labels=["cluster"],
    )
    interval = GaugeMetricFamily(
        "tidewatch_poll_interval_seconds",
        "Configured seconds between polls of the cluster.",
        labels=["cluster"],
    )
    last_poll = GaugeMetricFamily(
        "tidewatch_last_poll_timestamp_seconds",
        "When the last poll of the cluster finished, successful or not (Unix time).",
        labels=["cluster"],
    )
    last_success = GaugeMetricFamily(
        "tidewatch_last_successful_poll_timestamp_seconds",
        "When the cluster was last polled successfully, even if some kinds failed (Unix time).",
        labels=["cluster"],
    )
    duration = GaugeMetricFamily(
        "tidewatch_poll_duration_seconds",
        "How long the last finished poll of the cluster took.",
        labels=["cluster"],
    )
    errors = GaugeMetricFamily(
        "tidewatch_poll_errors",
        "Errors of the last finished poll by reason: a cluster-wide failure (Unreachable, "
        "Unauthorized, TLSError ...) counts 1, otherwise each kind whose list failed counts 1.",
        labels=["cluster", "reason"],
    )
    runs = {
        run["id"]: run
        for run in PollRun.objects.filter(
            id__in=[c["last_run_id"] for c in clusters if c["last_run_id"]]
        ).values("id", "started_at", "finished_at", "error", "errors")
    }
    for cluster in clusters:
        name = cluster["name"]
        enabled.add_metric([name], 1 if cluster["enabled"] else 0)
        if cluster["enabled"]:
            interval.add_metric([name], cluster["poll_interval"])
        if cluster["last_poll_finished_at"]:
            last_poll.add_metric([name], cluster["last_poll_finished_at"].timestamp())
        if cluster["last_success_at"]:
            last_success.add_metric([name], cluster["last_success_at"].timestamp())
        run = runs.get(cluster["last_run_id"])
        if run is None:
            continue
        duration.add_metric([name], (run["finished_at"] - run["started_at"]).total_seconds())
        for reason, count in sorted(_error_reasons(run).items()):
            errors.add_metric([name, reason], count)
    yield from (enabled, interval, last_poll, last_success, duration, errors)


def _error_reasons(run: dict[str, Any]) -> Counter[str]:
    if run["error"]:
        return Counter({run["error"].split(":", 1)[0] or "Error": 1})
    return Counter(
        str((item or {}).get("reason") or "Error") for item in (run["errors"] or {}).values()
    )


def _object_metrics(names: dict[int, str]) -> Iterator[Metric]:
    flux = GaugeMetricFamily(
        "tidewatch_flux_resource_info",
        "A Flux object, with the labels of the Flux Operator's flux_resource_info plus cluster.",
        labels=FLUX_INFO_LABELS,
    )
    argo = GaugeMetricFamily(
        "tidewatch_argocd_app_info",
        "An Argo CD Application, with the labels of Argo CD's argocd_app_info plus cluster.",
        labels=ARGO_INFO_LABELS,
    )
    status = GaugeMetricFamily(
        "tidewatch_object_status",
        "A Flux or Argo CD object with its Tidewatch status (Degraded, Missing, Unknown, "
        "Progressing, Suspended, Healthy) and sync.",
        labels=["cluster", "tool", "kind", "exported_namespace", "name", "status", "sync"],
    )
    counts = GaugeMetricFamily(
        "tidewatch_objects",
        "Objects stored, by cluster, tool, kind and status.",
        labels=["cluster", "tool", "kind", "status"],
    )
    tally: Counter[tuple[str, str, str, str]] = Counter()
    rows = GitOpsObject.objects.order_by().values_list(
        "cluster_id",
        "tool",
        "kind",
        "namespace",
        "name",
        "uid",
        "status",
        "sync",
        "suspended",
        "applied_revision",
        "attempted_revision",
        "source",
        "conditions",
    )
    for (
        cluster_id,
        tool,
        kind,
        namespace,
        name,
        uid,
        state,
        sync,
        suspended,
        applied,
        attempted,
        source,
        conditions,
    ) in rows.iterator(chunk_size=2000):
        cluster = names.get(cluster_id, "")
        tally[(cluster, tool, kind, state)] += 1
        status.add_metric([cluster, tool, kind, namespace, name, state, sync], 1)
        if tool == "flux":
            flux.add_metric(
                _flux_labels(
                    cluster,
                    kind,
                    namespace,
                    name,
                    uid,
                    suspended,
                    applied,
                    attempted,
                    source or {},
                    conditions or [],
                ),
                1,
            )
    for key, value in sorted(tally.items()):
        counts.add_metric(list(key), value)
    for row in _applications():
        argo.add_metric([names.get(row["cluster_id"], ""), *_argo_labels(row)], 1)
    yield from (flux, argo, status, counts)


def _flux_labels(
    cluster: str,
    kind: str,
    namespace: str,
    name: str,
    uid: str,
    suspended: bool,
    applied: str,
    attempted: str,
    source: dict[str, Any],
    conditions: list[dict[str, Any]],
) -> list[str]:
    """As the Flux Operator computes them (ready/reason from the Ready condition, revision the
    last attempted one or else the artifact's, url/ref/source_name/path from the spec)."""
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    ready_status = str(ready.get("status") or "Unknown") if ready else "Unknown"
    reason = str(ready.get("reason") or "") if ready else ""
    if kind in ALWAYS_READY or (kind == "HelmRepository" and source.get("type") == "oci"):
        ready_status = "True"
    url = str(source.get("url") or source.get("image") or "") if kind != "Receiver" else ""
    return [
        cluster,
        uid,
        kind,
        name,
        namespace,
        ready_status,
        reason,
        "True" if suspended else "False",
        attempted or applied,
        url,
        _flux_ref(kind, source),
        str(source.get("name") or "") if kind != "Alert" else "",
        str(source.get("path") or "") if kind == "Kustomization" else "",
    ]


def _flux_ref(kind: str, source: dict[str, Any]) -> str:
    if kind == "Bucket":
        return str(source.get("bucketName") or "")
    ref = source.get("ref")
    if not isinstance(ref, dict):
        return ""
    # The Flux Operator's precedence: the last one set of branch, tag, semver, name wins.
    order = ("branch", "tag", "semver", "name") if kind == "GitRepository" else ("tag", "semver")
    value = ""
    for key in order:
        if ref.get(key):
            value = str(ref[key])
    return value


def _applications() -> Iterator[dict[str, Any]]:
    yield from (
        GitOpsObject.objects.filter(tool="argocd", kind="Application")
        .order_by()
        .annotate(
            automated=KT("raw__spec__syncPolicy__automated"),
            sync_operation=KT("raw__operation__sync"),
            deleting=KT("raw__metadata__deletionTimestamp"),
        )
        .values(
            "cluster_id",
            "namespace",
            "name",
            "source",
            "details",
            "automated",
            "sync_operation",
            "deleting",
        )
        .iterator(chunk_size=2000)
    )


def _argo_labels(row: dict[str, Any]) -> list[str]:
    details = row["details"] or {}
    destination = details.get("destination") or {}
    source = row["source"] or {}
    operation = "delete" if row["deleting"] else ("sync" if row["sync_operation"] else "")
    return [
        row["namespace"],
        row["name"],
        str(details.get("project") or ""),
        "true" if _automated(row["automated"]) else "false",
        str(source.get("repoURL") or ""),
        str(destination.get("server") or ""),
        str(destination.get("namespace") or ""),
        str(details.get("syncStatus") or ""),
        str(details.get("healthStatus") or ""),
        operation,
    ]


def _automated(text: str | None) -> bool:
    """Argo CD's IsAutomatedSyncEnabled: ``automated`` is set and not ``enabled: false``."""
    if text is None:
        return False
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return True
    if value is None:
        return False
    return not (isinstance(value, dict) and value.get("enabled") is False)


def _violations(clusters: list[dict[str, Any]], names: dict[int, str]) -> Metric:
    family = GaugeMetricFamily(
        "tidewatch_ownership_violations",
        "Open ownership violations (ADR-003) by code and severity; 0 for codes with none.",
        labels=["cluster", "code", "severity"],
    )
    found = {
        (row["cluster_id"], row["code"], row["severity"]): row["n"]
        for row in Violation.objects.order_by()
        .values("cluster_id", "code", "severity")
        .annotate(n=Count("id"))
    }
    for cluster in clusters:
        if not cluster["enabled"]:
            continue
        for code, (severity, _title) in sorted(CODES.items()):
            family.add_metric(
                [cluster["name"], code, severity], found.pop((cluster["id"], code, severity), 0)
            )
    # Codes not in CODES (or clusters removed from the file) still count.
    for (cluster_id, code, severity), count in sorted(found.items()):
        family.add_metric([names.get(cluster_id, ""), code, severity], count)
    return family


def _controller_metrics(clusters: list[dict[str, Any]]) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        "tidewatch_controller_info",
        "A Flux or Argo CD controller workload with its component and version (the "
        "app.kubernetes.io/version label, else the image tag; empty when neither).",
        labels=CONTROLLER_INFO_LABELS,
    )
    ready = GaugeMetricFamily(
        "tidewatch_controller_ready_replicas",
        "Ready replicas of a Flux or Argo CD controller.",
        labels=CONTROLLER_LABELS,
    )
    desired = GaugeMetricFamily(
        "tidewatch_controller_desired_replicas",
        "Desired replicas (spec.replicas) of a Flux or Argo CD controller.",
        labels=CONTROLLER_LABELS,
    )
    restarts = GaugeMetricFamily(
        "tidewatch_controller_restarts",
        "Container restarts of a controller's pods, summed (since the pods started).",
        labels=CONTROLLER_LABELS,
    )
    by_cluster: dict[int, list[Any]] = {}
    for row in Workload.objects.order_by("cluster_id", "namespace", "name"):
        by_cluster.setdefault(row.cluster_id, []).append(to_workload(row))
    for cluster in clusters:
        workloads = by_cluster.get(cluster["id"])
        if not workloads:
            continue
        boundaries, _ = cluster_boundaries(_BoundaryFields(cluster))  # type: ignore[arg-type]
        for tool in TOOLS:
            for w in controllers.find_controllers(boundaries, tool, workloads):
                version, _ = controller_version(w.labels, w.images)
                where = [cluster["name"], tool, w.namespace, w.name]
                info.add_metric([*where, controllers.component(w, tool), version], 1)
                ready.add_metric(where, w.ready)
                desired.add_metric(where, w.desired)
                restarts.add_metric(where, w.restarts)
    yield from (info, ready, desired, restarts)


class _BoundaryFields:
    """The Cluster columns cluster_boundaries reads, from the scrape's cluster row."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.boundaries = row["boundaries"]
        self.boundaries_file = row["boundaries_file"]
        self.boundaries_file_error = row["boundaries_file_error"]


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(StoreCollector())


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
