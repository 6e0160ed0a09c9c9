"""Who last wrote each resource that both tools claim (violation TW002).

Runs inside the poll with the poll's API client, rate-limited per resource, and only for
contested resources: reading live objects is the one thing Tidewatch does beyond listing the
GitOps kinds, so it stays small and never happens in a page request.
"""

from __future__ import annotations

import logging
from datetime import timedelta

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
    contested = set(
        Violation.objects.filter(cluster=cluster, code="TW002").values_list("resource", flat=True)
    )
    LastWriter.objects.filter(cluster=cluster).exclude(resource__in=contested).delete()
    fresh = set(
        LastWriter.objects.filter(
            cluster=cluster, resource__in=contested, checked_at__gte=now - min_interval
        ).values_list("resource", flat=True)
    )
    due = sorted(contested - fresh)[:max_per_poll]
    plurals: dict[tuple[str, str], tuple[str, str, bool] | None] = {}
    for resource in due:
        try:
            values = _read(api, resource, plurals, limits)
        except KubeError:
            break  # the poll's deadline: what is stored stays, the rest waits for the next poll
        LastWriter.objects.update_or_create(
            cluster=cluster, resource=resource, defaults={**values, "checked_at": now}
        )
    return len(due)


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
