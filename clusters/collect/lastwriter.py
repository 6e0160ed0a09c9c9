"""Who last wrote each resource that both tools claim (violation TW002).

Runs inside the poll with the poll's API client (in watch mode: read by a thread of the watch,
stored by its applier), rate-limited per resource, and only for contested resources: reading
live objects is the one thing Tidewatch does beyond listing the GitOps kinds, so it stays small
and never happens in a page request.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone
from kubernetes import client as k8s

from clusters.kube import DEFAULT_LIMITS, KubeError, Limits, get_json
from clusters.models import Cluster, LastWriter, Violation
from clusters.ownership import last_writers
from clusters.store.objects import parse_time

log = logging.getLogger(__name__)

MIN_INTERVAL = timedelta(minutes=5)
MAX_PER_POLL = 20


def check_last_writers(
    cluster: Cluster,
    api: k8s.ApiClient,
    *,
    min_interval: timedelta = MIN_INTERVAL,
    max_per_poll: int = MAX_PER_POLL,
    limits: Limits = DEFAULT_LIMITS,
) -> int:
    """Refresh the LastWriter of contested resources not checked within ``min_interval``;
    returns how many were read."""
    now = timezone.now()
    due = due_last_writers(cluster, now, min_interval=min_interval, max_per_poll=max_per_poll)
    store_last_writers(cluster, read_last_writers(api, due, limits), now)
    return len(due)


def due_last_writers(
    cluster: Cluster,
    now: datetime,
    *,
    min_interval: timedelta = MIN_INTERVAL,
    max_per_poll: int = MAX_PER_POLL,
) -> list[str]:
    """The contested resources (TW002) whose last writer was not read within ``min_interval``:
    at most ``max_per_poll`` of them. Reads the store only."""
    contested = set(
        Violation.objects.filter(cluster=cluster, code="TW002").values_list("resource", flat=True)
    )
    fresh = set(
        LastWriter.objects.filter(
            cluster=cluster, resource__in=contested, checked_at__gte=now - min_interval
        ).values_list("resource", flat=True)
    )
    return sorted(contested - fresh)[:max_per_poll]


def read_last_writers(
    api: k8s.ApiClient, resources: list[str], limits: Limits = DEFAULT_LIMITS
) -> dict[str, dict[str, object]]:
    """Read each resource from the API server (no database): resource → LastWriter fields.
    Stops at the deadline of ``limits``; the rest waits for the next round."""
    plurals: dict[tuple[str, str], tuple[str, str, bool] | None] = {}
    found: dict[str, dict[str, object]] = {}
    for resource in resources:
        try:
            found[resource] = _read(api, resource, plurals, limits)
        except KubeError:
            break  # the poll's deadline: what is stored stays, the rest waits for the next poll
    return found


def store_last_writers(
    cluster: Cluster, values: dict[str, dict[str, object]], now: datetime
) -> None:
    """Store what ``read_last_writers`` found; forget resources no longer contested."""
    contested = set(
        Violation.objects.filter(cluster=cluster, code="TW002").values_list("resource", flat=True)
    )
    LastWriter.objects.filter(cluster=cluster).exclude(resource__in=contested).delete()
    for resource, fields in values.items():
        LastWriter.objects.update_or_create(
            cluster=cluster, resource=resource, defaults={**fields, "checked_at": now}
        )


def _read(
    api: k8s.ApiClient,
    resource: str,
    plurals: dict[tuple[str, str], tuple[str, str, bool] | None],
    limits: Limits,
) -> dict[str, object]:
    group_kind, _, namespace_name = resource.partition(":")
    group, _, kind = group_kind.rpartition("/")
    namespace, _, name = namespace_name.partition("/")
    blank = {"writer": "", "tool": "", "manager": "", "written_at": None, "signals": []}
    try:
        if (group, kind) not in plurals:
            plurals[(group, kind)] = _plural(api, group, kind, limits)
        found = plurals[(group, kind)]
        if found is None:
            return {**blank, "explanation": "", "error": f"{kind} is not served by the API"}
        version, plural, namespaced = found
        root = f"/apis/{group}/{version}" if group else f"/api/{version}"
        path = (
            f"{root}/namespaces/{namespace}/{plural}/{name}"
            if namespaced
            else f"{root}/{plural}/{name}"
        )
        live = get_json(api, path, limits=limits)
    except KubeError as exc:
        if exc.reason == "Deadline":
            raise
        log.info("last writer of %s: %s", resource, exc.message)
        return {**blank, "explanation": "", "error": f"{exc.reason}: {exc.message}"[:2000]}
    result = last_writers(live.get("metadata") or {}, group=group, kind=kind)
    return {
        "writer": (result.writer or "")[:100],
        "tool": (result.tool or "")[:10],
        "manager": (result.manager or "")[:200],
        "written_at": parse_time(result.at),
        "explanation": result.explanation,
        "signals": [s.to_dict() for s in result.signals],
        "error": "",
    }


def _plural(
    api: k8s.ApiClient, group: str, kind: str, limits: Limits
) -> tuple[str, str, bool] | None:
    if group:
        document = get_json(api, f"/apis/{group}", limits=limits)
        version = (document.get("preferredVersion") or {}).get("version") or "v1"
        path = f"/apis/{group}/{version}"
    else:
        version, path = "v1", "/api/v1"
    for item in get_json(api, path, limits=limits).get("resources") or []:
        if item.get("kind") == kind and "/" not in str(item.get("name", "")):
            return version, str(item["name"]), bool(item.get("namespaced"))
    return None
