"""Model → JSON-ready dicts for /api/v1. Plain functions: the API is small and read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clusters.models import (
    Event,
    GitOpsObject,
    KindState,
    ManagedResource,
    NamespaceRollup,
    StatusTransition,
)
from dashboard.argocd_server import ResourceDetail, ServerView
from dashboard.links import api_object_url
from dashboard.selectors import ClusterHealth


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record (a dataclass written with asdict: snake_case) with the API's camelCase
    field names. One level only: values may be maps whose keys are data, not field names."""
    return {_camel(key): value for key, value in record.items()}


def kind_state_json(state: KindState) -> dict[str, Any]:
    return {
        "tool": state.tool,
        "group": state.group,
        "kind": state.kind,
        "version": state.version,
        "state": state.state,
        "reason": state.reason,
        "error": state.error,
        "objectCount": state.object_count,
        "lastSuccessAt": _time(state.last_success_at),
        "skippedCount": state.skipped_count,
        "skipped": state.skipped,
    }


def cluster_json(health: ClusterHealth) -> dict[str, Any]:
    cluster = health.cluster
    return {
        "name": cluster.name,
        "server": cluster.server,
        "enabled": cluster.enabled,
        "pollInterval": cluster.poll_interval,
        # "watch" or "poll" (README, "Watch and poll"); null before the first sync.
        "syncMode": cluster.sync_mode or None,
        "syncModeReason": cluster.sync_mode_reason,
        "lastPollStartedAt": _time(cluster.last_poll_started_at),
        "lastSuccessAt": _time(cluster.last_success_at),
        "stale": health.stale,
        "staleReason": health.stale_reason,
        "error": cluster.last_error,
        "errorReason": cluster.last_error_reason,
        "configError": cluster.config_error,
        "kinds": [kind_state_json(s) for s in cluster.kind_states.all()],
    }


def namespace_json(row: NamespaceRollup) -> dict[str, Any]:
    return {
        "cluster": row.cluster.name,
        "namespace": row.namespace,
        "exists": row.exists,
        "deployedBy": row.deployed_by,
        "status": row.status or None,
        "sync": row.sync or None,
        "statusCounts": row.status_counts,
        "syncCounts": row.sync_counts,
        "objectCount": row.object_count,
        "headline": row.headline,
        # Objects and ownership violations together: what the overview colours and counts.
        "needsAttention": bool(row.attention),
        "attention": row.attention or None,
        "violationCodes": row.violation_codes,
        "staleReasons": row.stale_reasons,
        "lastSuccessAt": _time(row.cluster.last_success_at),
    }


def object_summary_json(obj: GitOpsObject) -> dict[str, Any]:
    return {
        "cluster": obj.cluster.name,
        "tool": obj.tool,
        "apiVersion": f"{obj.group}/{obj.version}",
        "kind": obj.kind,
        "namespace": obj.namespace,
        "name": obj.name,
        "status": obj.status,
        "sync": obj.sync,
        "reason": obj.reason,
        "message": obj.message,
        "suspended": obj.suspended,
        "appliedRevision": obj.applied_revision,
        "attemptedRevision": obj.attempted_revision,
        "targetNamespaces": obj.target_namespaces,
        "lastTransitionTime": _time(obj.last_transition_time),
        # None when the name cannot be linked (empty): dashboard/links.py.
        "url": api_object_url(obj.cluster.name, obj.kind, obj.namespace, obj.name),
    }


def object_detail_json(
    obj: GitOpsObject, stale_reason: str = "", argocd: ServerView | None = None
) -> dict[str, Any]:
    """``argocd``: what argocd-server said of an Application (None for any other object)."""
    data = object_summary_json(obj)
    data.update(
        {
            "uid": obj.uid,
            "resourceVersion": obj.resource_version,
            "revisions": obj.revisions,
            "source": obj.source,
            "lastReconcileTime": _time(obj.last_reconcile_time),
            "conditions": [camel_keys(c) for c in obj.conditions],
            "dependencies": [camel_keys(d) for d in obj.dependencies],
            "details": obj.details,
            "stale": bool(stale_reason),
            "staleReason": stale_reason,
            "managedResources": [
                managed_json(
                    m, argocd.get(m.group, m.kind, m.namespace, m.name) if argocd else None
                )
                for m in obj.managed.all()
            ],
            "argocdServer": argocd_server_json(argocd) if argocd else None,
        }
    )
    return data


def managed_json(m: ManagedResource, detail: ResourceDetail | None) -> dict[str, Any]:
    """A managed resource; ``health`` from argocd-server's tree when it named the resource,
    else as the tool wrote it; None: not reported (Argo CD >= 3.0 without a server), never
    guessed. ``diff``: the fields argocd-server found drifted, None when in sync or unread."""
    if detail and detail.health:
        health = {
            "status": detail.health.status,
            "message": detail.health.message,
            "source": "argocd-server",
        }
    elif m.health:
        health = {"status": m.health, "message": "", "source": "application"}
    else:
        health = None
    return {
        "group": m.group,
        "version": m.version,
        "kind": m.kind,
        "namespace": m.namespace,
        "name": m.name,
        "sync": m.sync or None,
        "health": health,
        "diff": (
            [
                {"path": d.path, "change": d.change, "live": d.live, "target": d.target}
                for d in detail.diff
            ]
            if detail and detail.diff is not None
            else None
        ),
        "diffTruncated": bool(detail and detail.diff_truncated),
    }


def argocd_server_json(view: ServerView) -> dict[str, Any]:
    """Why per-resource health and diffs are there or not (docs/argocd-server.md)."""
    return {
        # "ok", "error" (the data is from fetchedAt: stale), "not-configured" or "pending".
        "state": view.state,
        "reason": view.reason,
        "fetchedAt": _time(view.fetched_at),
        "attemptedAt": _time(view.attempted_at),
        "secretsDropped": view.secrets_dropped,
    }


def transition_json(row: StatusTransition) -> dict[str, Any]:
    return {
        "at": _time(row.at),
        "field": row.field,
        "from": row.from_value,
        "to": row.to_value,
        "message": row.message,
    }


def event_json(row: Event) -> dict[str, Any]:
    return {
        "type": row.type,
        "reason": row.reason,
        "message": row.message,
        "count": row.count,
        "source": row.source,
        "firstSeenAt": _time(row.first_seen),
        "lastSeenAt": _time(row.last_seen),
    }
