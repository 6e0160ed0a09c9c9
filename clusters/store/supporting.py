"""Store the small supporting lists: controller workloads and Prometheus monitors.

They are a few dozen rows per cluster, so a changed list is replaced whole; an unchanged one
(same names and resourceVersions) is not written at all. A workload row's Pod figures (pods,
restarts, usage) come from other lists and are carried over when the row is replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import models, transaction

from clusters.collect.core import METRICS_NOT_SERVED
from clusters.collect.deprecated import deprecated_apis
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.collect.snapshot import ERROR, NOT_INSTALLED, OK, KindResult
from clusters.models import Cluster, Event, KindState, Monitor, Workload
from clusters.status.workload_pods import metrics_by_pod, pod_figures, workload_usage
from clusters.store.objects import mark_kind_failed, parse_time, set_kind_ok
from clusters.store.version import bump, writing

# Measured from the Pods and PodMetrics, not from the workload's own object.
POD_FIELDS = ("pods", "restarts", "usage", "usage_reason")


def store_workloads(cluster: Cluster, results: Sequence[KindResult], now: datetime) -> None:
    for result in results:
        kind = result.spec.kind
        measured = {
            (w["namespace"], w["name"]): {f: w[f] for f in POD_FIELDS}
            for w in Workload.objects.filter(cluster=cluster, kind=kind).values(
                "namespace", "name", *POD_FIELDS
            )
        }

        def fields(item: dict[str, Any], measured: dict[Any, dict[str, Any]] = measured) -> dict:
            row = _workload_fields(item)
            return {**row, **measured.get((row["namespace"], row["name"]), {})}

        _replace(cluster, result, now, Workload, fields, extra=("images",))


def store_controller_pods(
    cluster: Cluster, pods: KindResult | None, metrics: KindResult | None, now: datetime
) -> None:
    """Sum the listed Pods' restarts and PodMetrics' usage onto their workloads' rows.

    ``pods`` failing keeps every row's pods and restarts (and usage) as they were, marked
    with the reason; ``metrics`` not served or failing keeps the last usage, each row's
    ``usage_reason`` and the cluster's ``metrics_reason`` saying why. ``None``: not read."""
    if pods is None:
        return
    if pods.state == ERROR:
        mark_kind_failed(cluster, pods, now)
        error = pods.error
        reason = f"Pods could not be listed: {error.message}" if error else "Pods not listed"
        _update_rows(cluster, lambda row: {"usage_reason": reason[:2000]})
        return
    if pods.state == OK:
        set_kind_ok(cluster, pods, now, len(pods.items))
    else:
        set_kind_ok(cluster, pods, now, 0, state=KindState.NOT_INSTALLED)
    figures = pod_figures(pods.items if pods.state == OK else [])
    state, metrics_reason = _metrics_state(metrics)
    measured = metrics_by_pod(metrics.items) if state == "ok" and metrics is not None else {}

    def row_fields(row: dict[str, Any]) -> dict[str, Any]:
        found = figures.get((row["kind"], row["namespace"], row["name"]))
        names = found.pods if found else []
        values: dict[str, Any] = {
            "pods": len(names),
            "restarts": found.restarts if found else 0,
        }
        if state == "":
            return values  # metrics not read this time: usage as it was
        if state != "ok":
            return {**values, "usage_reason": metrics_reason[:2000]}
        usage = workload_usage(names, measured)
        if usage.usage is None:
            # Kept as it was: metrics-server reports a Pod after its first scrape.
            reason = f"metrics-server has not reported {usage.missing} of {len(names)} pods yet"
            return {**values, "usage_reason": reason}
        return {**values, "usage": usage.usage, "usage_reason": ""}

    _update_rows(cluster, row_fields)
    if state and (cluster.metrics_state, cluster.metrics_reason) != (state, metrics_reason):
        cluster.metrics_state, cluster.metrics_reason = state, metrics_reason
        with writing():
            Cluster.objects.filter(pk=cluster.pk).update(
                metrics_state=state, metrics_reason=metrics_reason[:2000]
            )


def _metrics_state(metrics: KindResult | None) -> tuple[str, str]:
    """("" not read | "ok" | "unavailable", why not)."""
    if metrics is None:
        return "", ""
    if metrics.state == OK:
        return "ok", ""
    if metrics.state == NOT_INSTALLED:
        return "unavailable", METRICS_NOT_SERVED
    error = metrics.error
    if error is None:
        return "unavailable", "metrics.k8s.io could not be read"
    return "unavailable", f"metrics.k8s.io could not be read: {error.reason}: {error.message}"


def _update_rows(cluster: Cluster, compute: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    rows = list(
        Workload.objects.filter(cluster=cluster).values(
            "id", "kind", "namespace", "name", *POD_FIELDS
        )
    )
    changed = []
    for row in rows:
        values = compute(row)
        if any(row[k] != v for k, v in values.items()):
            changed.append(Workload(id=row["id"], **{**{f: row[f] for f in POD_FIELDS}, **values}))
    if changed:
        with transaction.atomic():
            Workload.objects.bulk_update(changed, list(POD_FIELDS), batch_size=500)
            bump()


def store_monitors(cluster: Cluster, results: Sequence[KindResult], now: datetime) -> None:
    for result in results:
        _replace(cluster, result, now, Monitor, _monitor_fields)


def _replace(
    cluster: Cluster,
    result: KindResult,
    now: datetime,
    model: type[models.Model],
    fields: Callable[[dict[str, Any]], dict[str, Any]],
    extra: tuple[str, ...] = (),
) -> None:
    kind = result.spec.kind
    if result.state == ERROR:
        mark_kind_failed(cluster, result, now)  # keep the last good rows
        return
    rows = [fields(item) for item in result.items]
    rows = [row for row in rows if row["name"]]
    # ``extra`` columns are compared too: a row stored before they existed is filled in
    # although its resourceVersion did not change.
    identity = ("namespace", "name", "resource_version", *extra)
    wanted = {tuple(_hashable(r[f]) for f in identity) for r in rows}
    current = {
        tuple(_hashable(v) for v in values)
        for values in model.objects.filter(cluster=cluster, kind=kind).values_list(*identity)
    }
    if wanted != current:
        with transaction.atomic():
            model.objects.filter(cluster=cluster, kind=kind).delete()
            model.objects.bulk_create(model(cluster=cluster, kind=kind, **row) for row in rows)
            bump()
    if result.state == "ok":
        set_kind_ok(cluster, result, now, len(rows))
    else:
        set_kind_ok(cluster, result, now, 0, state=KindState.NOT_INSTALLED)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


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
        "images": _images(spec),
    }


def _images(spec: dict[str, Any]) -> list[str]:
    """The pod template's container images, then its init containers' (Dex's init container
    runs Argo CD's image: the main container's image says what the workload runs), once each."""
    pod_spec = _dict(_dict(spec.get("template")).get("spec"))
    images: list[str] = []
    for key in ("containers", "initContainers"):
        containers = pod_spec.get(key)
        for container in containers if isinstance(containers, list) else []:
            image = _dict(container).get("image")
            if isinstance(image, str) and image and image[:500] not in images:
                images.append(image[:500])
    return images[:20]


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


def store_deprecated_apis(
    cluster: Cluster, served: dict[KindSpec, ServedKind], errors: dict[KindSpec, Any]
) -> None:
    """Record the kinds served only at deprecated versions. A kind discovery could not ask
    about this time keeps its entry."""
    unasked = {(spec.group, spec.kind) for spec in errors}
    kept = [e for e in cluster.deprecated_apis or [] if (e.get("group"), e.get("kind")) in unasked]
    found = deprecated_apis(served)
    entries = sorted(
        [*found, *(e for e in kept if e not in found)], key=lambda e: (e["group"], e["kind"])
    )
    if entries != (cluster.deprecated_apis or []):
        cluster.deprecated_apis = entries
        with writing():
            Cluster.objects.filter(pk=cluster.pk).update(deprecated_apis=entries)
