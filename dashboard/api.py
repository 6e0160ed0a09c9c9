"""Read-only JSON API, /api/v1. Same selectors as the pages; never calls a cluster."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from clusters.models import KindState
from dashboard import argocd_server, helm_drift, object_timeline, request_input, selectors
from dashboard.pagination import paginated
from dashboard.serializers import (
    cluster_json,
    event_json,
    namespace_json,
    object_detail_json,
    object_summary_json,
    transition_json,
)


@require_safe
def clusters(request: HttpRequest) -> JsonResponse:
    return paginated(request, selectors.clusters_with_health(), "clusters", cluster_json)


@require_safe
def namespaces(request: HttpRequest) -> JsonResponse:
    cluster = request_input.read(request, request_input.filter_rules("cluster"))["cluster"]
    rows = selectors.namespace_rows(cluster)
    return paginated(request, rows, "namespaces", namespace_json)


@require_safe
def objects(request: HttpRequest) -> JsonResponse:
    filters = request_input.filter_rules("cluster", "namespace", "tool", "kind", "status", "sync")
    query = selectors.objects_filtered(**request_input.read(request, filters))
    return paginated(request, query, "objects", object_summary_json)


@require_safe
def object_detail(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str
) -> JsonResponse:
    obj = selectors.object_detail(cluster, kind, namespace, name)
    if obj is None:
        return JsonResponse(
            {"error": f"no {kind} {namespace}/{name} stored for cluster {cluster}"}, status=404
        )
    state = KindState.objects.filter(
        cluster=obj.cluster, group=obj.group, kind=obj.kind, state=KindState.ERROR
    ).first()
    stale = f"{state.reason}: {state.error}" if state else ""
    argocd = argocd_server.server_view(obj, argocd_server.read_detail(obj))
    body = object_detail_json(obj, stale, argocd)
    # A HelmRelease's drift with its Events (one query); details.drift is the object's own word.
    if (drift := helm_drift.drift_view(obj)) is not None:
        body["drift"] = drift.finding.as_json()
    return JsonResponse(body)


def _not_stored(kind: str, namespace: str, name: str, cluster: str) -> JsonResponse:
    return JsonResponse(
        {"error": f"no {kind} {namespace}/{name} stored for cluster {cluster}"}, status=404
    )


@require_safe
def object_history(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str
) -> JsonResponse:
    """Status, sync, revision and presence transitions, newest first; kept after a delete."""
    rows = object_timeline.transitions(object_timeline.Identity(cluster, kind, namespace, name))
    if rows is None:
        return _not_stored(kind, namespace, name, cluster)
    return paginated(request, rows, "transitions", transition_json)


@require_safe
def object_events(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str
) -> JsonResponse:
    """The Kubernetes Events stored about the object, newest first."""
    rows = object_timeline.events(object_timeline.Identity(cluster, kind, namespace, name))
    if rows is None:
        return _not_stored(kind, namespace, name, cluster)
    return paginated(request, rows, "events", event_json)
