"""HTML pages. Thin: a selector call and a template; HTMX requests get the named partial."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails

from dashboard import selectors
from dashboard.changes import overview_token


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@require_GET
def overview(request: HtmxHttpRequest) -> HttpResponse:
    cluster = request.GET.get("cluster") or None
    token = overview_token(cluster)
    if request.htmx and request.GET.get("since") == token:
        return HttpResponse(status=204)  # htmx leaves the page as it is
    rows = list(selectors.namespace_rows(cluster))
    context = {
        "clusters": selectors.clusters_with_health(),
        "rows": rows,
        # Rows are worst first: the first with a headline is what to say before the table.
        "attention": [row for row in rows if row.headline],
        "selected_cluster": cluster,
        "refresh_seconds": settings.TIDEWATCH_REFRESH_SECONDS,
        "token": token,
    }
    template = "dashboard/overview.html"
    if request.htmx:
        template += "#overview-body"
    return render(request, template, context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
