"""Model → JSON-ready dicts for /api/v1. Plain functions: the API is small and read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clusters.models import GitOpsObject, KindState, NamespaceRollup
from dashboard.selectors import ClusterHealth


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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
        "url": f"/api/v1/objects/{obj.cluster.name}/{obj.kind}/{obj.namespace}/{obj.name}",
    }


def object_detail_json(obj: GitOpsObject, stale_reason: str = "") -> dict[str, Any]:
    data = object_summary_json(obj)
    data.update(
        {
            "uid": obj.uid,
            "resourceVersion": obj.resource_version,
            "revisions": obj.revisions,
            "source": obj.source,
            "lastReconcileTime": _time(obj.last_reconcile_time),
            "conditions": obj.conditions,
            "dependencies": obj.dependencies,
            "details": obj.details,
            "stale": bool(stale_reason),
            "staleReason": stale_reason,
            "managedResources": [
                {
                    "group": m.group,
                    "version": m.version,
                    "kind": m.kind,
                    "namespace": m.namespace,
                    "name": m.name,
                    "sync": m.sync or None,
                    # None: the tool does not report it (Argo CD >= 3.0), not "healthy".
                    "health": m.health or None,
                }
                for m in obj.managed.all()
            ],
        }
    )
    return data
