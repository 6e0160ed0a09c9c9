"""Store the small supporting lists: controller workloads and Prometheus monitors.

They are a few dozen rows per cluster, so a changed list is replaced whole; an unchanged one
(same names and resourceVersions) is not written at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import models, transaction

from clusters.collect.snapshot import ERROR, KindResult
from clusters.models import Cluster, Event, KindState, Monitor, Workload
from clusters.store.objects import mark_kind_failed, parse_time, set_kind_ok
from clusters.store.version import bump


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
            bump()
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
    # Cut to the columns (Workload and Monitor share them): PostgreSQL refuses a longer value,
    # and with it the cluster's whole poll.
    return {
        "namespace": str(metadata.get("namespace") or "")[:253],
        "name": str(metadata.get("name") or "")[:253],
        "resource_version": str(metadata.get("resourceVersion") or "")[:64],
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


# An object page shows the recent story, not an archive; Kubernetes itself expires Events (1 h).
EVENTS_PER_OBJECT = 20


def store_events(
    cluster: Cluster,
    result: KindResult | None,
    now: datetime,
    keep_kinds: Collection[str] = (),
) -> None:
    """Replace the cluster's Events with those listed, except the Events about ``keep_kinds``:
    kinds whose own list failed this poll were not asked about, and their stale objects keep
    the Events they had."""
    if result is None:
        return
    if result.state == ERROR:
        mark_kind_failed(cluster, result, now)
        return
    rows = [_event_fields(item) for item in result.items]
    rows = [
        r for r in rows if r["uid"] and r["involved_name"] and r["involved_kind"] not in keep_kinds
    ]
    rows = _bounded(rows)
    wanted = {(r["uid"], r["resource_version"]) for r in rows}
    replaced = Event.objects.filter(cluster=cluster).exclude(involved_kind__in=keep_kinds)
    current = set(replaced.values_list("uid", "resource_version"))
    if wanted != current:
        # Only the Events that went or changed are rewritten: in watch mode a busy cluster's
        # Events change every second or so, and most of the stored ones stay as they are.
        gone = {uid for uid, version in current - wanted}
        new = [
            r for r in rows if (r["uid"], r["resource_version"]) not in current or r["uid"] in gone
        ]
        with transaction.atomic():
            for chunk in _chunks(sorted(gone)):
                replaced.filter(uid__in=chunk).delete()
            Event.objects.bulk_create(
                (Event(cluster=cluster, **row) for row in new), batch_size=500
            )
            bump()
    set_kind_ok(cluster, result, now, len(rows))


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    # SQLite caps the parameters of one statement; 500 uids is far below every cap.
    return [values[i : i + size] for i in range(0, len(values), size)]


def _bounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    epoch = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda r: r["last_seen"] or epoch, reverse=True)
    kept: dict[tuple[str, str, str], int] = {}
    result = []
    for row in rows:
        key = (row["involved_kind"], row["involved_namespace"], row["involved_name"])
        if kept.get(key, 0) < EVENTS_PER_OBJECT:
            kept[key] = kept.get(key, 0) + 1
            result.append(row)
    return result


def _event_fields(item: dict[str, Any]) -> dict[str, Any]:
    metadata, involved = _metadata(item), _dict(item.get("involvedObject"))
    source = _dict(item.get("source")).get("component") or item.get("reportingComponent") or ""
    first = item.get("firstTimestamp") or item.get("eventTime") or metadata.get("creationTimestamp")
    last = item.get("lastTimestamp") or _dict(item.get("series")).get("lastObservedTime") or first
    return {
        "uid": str(metadata.get("uid") or "")[:64],
        "resource_version": str(metadata.get("resourceVersion") or "")[:64],
        "involved_group": str(involved.get("apiVersion") or "").rpartition("/")[0][:200],
        "involved_kind": str(involved.get("kind") or "")[:100],
        "involved_namespace": str(involved.get("namespace") or "")[:253],
        "involved_name": str(involved.get("name") or "")[:253],
        "type": str(item.get("type") or "")[:20],
        "reason": str(item.get("reason") or "")[:200],
        "message": str(item.get("message") or "")[:10_000],
        "count": _count(item.get("count")) or 1,
        "source": str(source)[:200],
        "first_seen": parse_time(first),
        "last_seen": parse_time(last),
    }
