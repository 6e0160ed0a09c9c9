"""Store the small supporting lists: controller workloads and Prometheus monitors.

They are a few dozen rows per cluster, so a changed list is replaced whole; an unchanged one
(same names and resourceVersions) is not written at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.db import models, transaction

from clusters.collect.snapshot import ERROR, KindResult
from clusters.models import Cluster, KindState, Monitor, Workload
from clusters.store import mark_kind_failed, set_kind_ok


def store_workloads(cluster: Cluster, results: Sequence[KindResult], now: datetime) -> None:
    for result in results:
        _replace(cluster, result, now, Workload, _workload_fields)


def store_monitors(cluster: Cluster, results: Sequence[KindResult], now: datetime) -> None:
    for result in results:
        _replace(cluster, result, now, Monitor, _monitor_fields)


def _replace(
    cluster: Cluster,
    result: KindResult,
    now: datetime,
    model: type[models.Model],
    fields: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    kind = result.spec.kind
    if result.state == ERROR:
        mark_kind_failed(cluster, result, now)  # keep the last good rows
        return
    rows = [fields(item) for item in result.items]
    rows = [row for row in rows if row["name"]]
    wanted = {(r["namespace"], r["name"], r["resource_version"]) for r in rows}
    current = set(
        model.objects.filter(cluster=cluster, kind=kind).values_list(
            "namespace", "name", "resource_version"
        )
    )
    if wanted != current:
        with transaction.atomic():
            model.objects.filter(cluster=cluster, kind=kind).delete()
            model.objects.bulk_create(model(cluster=cluster, kind=kind, **row) for row in rows)
    if result.state == "ok":
        set_kind_ok(cluster, result, now, len(rows))
    else:
        set_kind_ok(cluster, result, now, 0, state=KindState.NOT_INSTALLED)


def _metadata(item: dict[str, Any]) -> dict[str, Any]:
    metadata = item.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _identity(item: dict[str, Any]) -> dict[str, Any]:
    metadata = _metadata(item)
    return {
        "namespace": str(metadata.get("namespace") or ""),
        "name": str(metadata.get("name") or ""),
        "resource_version": str(metadata.get("resourceVersion") or ""),
    }


def _workload_fields(item: dict[str, Any]) -> dict[str, Any]:
    metadata, spec, status = _metadata(item), _dict(item.get("spec")), _dict(item.get("status"))
    replicas = spec.get("replicas")
    return {
        **_identity(item),
        "labels": _dict(metadata.get("labels")),
        "annotations": _dict(metadata.get("annotations")),
        # An unset spec.replicas means 1, as the API server defaults it.
        "desired": 1 if replicas is None else _count(replicas),
        "ready": _count(status.get("readyReplicas")),
    }


def _monitor_fields(item: dict[str, Any]) -> dict[str, Any]:
    spec = _dict(item.get("spec"))
    return {
        **_identity(item),
        "namespace_selector": _dict(spec.get("namespaceSelector")),
        "selector": _dict(spec.get("selector")),
    }
