"""Read-only JSON API, /api/v1. Same selectors as the pages; never calls a cluster."""

from __future__ import annotations

from django.core.paginator import EmptyPage, Paginator
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from clusters.models import KindState
from dashboard import request_input, selectors
from dashboard.serializers import (
    cluster_json,
    namespace_json,
    object_detail_json,
    object_summary_json,
)

MAX_PAGE_SIZE = 500


@require_GET
def clusters(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"clusters": [cluster_json(h) for h in selectors.clusters_with_health()]})


@require_GET
def namespaces(request: HttpRequest) -> JsonResponse:
    cluster = request_input.read(request, request_input.filter_rules("cluster"))["cluster"]
    rows = selectors.namespace_rows(cluster)
    return JsonResponse({"namespaces": [namespace_json(r) for r in rows]})


@require_GET
def objects(request: HttpRequest) -> JsonResponse:
    filters = request_input.filter_rules("cluster", "namespace", "tool", "kind", "status", "sync")
    query = selectors.objects_filtered(**request_input.read(request, filters))
    try:
        size = min(int(request.GET.get("page_size", 100)), MAX_PAGE_SIZE)
        number = int(request.GET.get("page", 1))
        if size < 1 or number < 1:
            raise ValueError
    except ValueError:
        return JsonResponse({"error": "page and page_size must be positive integers"}, status=400)
    paginator = Paginator(query, size)
    try:
        page = paginator.page(number)
    except EmptyPage:
        return JsonResponse({"error": f"page {number} is past the last page"}, status=404)
    return JsonResponse(
        {
            "count": paginator.count,
            "page": number,
            "pages": paginator.num_pages,
            "objects": [object_summary_json(o) for o in page.object_list],
        }
    )


@require_GET
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
    return JsonResponse(object_detail_json(obj, stale))
