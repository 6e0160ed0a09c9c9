"""Namespace page and search: thin views over dashboard.selectors."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.encoding import escape_uri_path
from django.views.decorators.http import require_safe

from clusters.models import Cluster
from clusters.status.vocabulary import STATUS_ORDER, Sync
from dashboard import changes, request_input, selectors
from dashboard.views import HtmxHttpRequest

TOOLS = (("flux", "Flux CD"), ("argocd", "Argo CD"))
FILTERS = ("cluster", "tool", "kind", "namespace", "status", "sync")


@require_safe
def namespace_page(request: HtmxHttpRequest, cluster: str, namespace: str) -> HttpResponse:
    live = changes.check(request, lambda: changes.namespace_fingerprint(cluster, namespace))
    if live.response:
        return live.response
    return changes.rendered(
        request, live.token, lambda: _namespace_page(request, cluster, namespace, live)
    )


def _namespace_page(
    request: HtmxHttpRequest, cluster: str, namespace: str, live: changes.Check
) -> HttpResponse:
    rollup = selectors.namespace_rollup(cluster, namespace)
    if rollup is None:
        if not Cluster.objects.filter(name=cluster).exists():
            raise Http404(f"There is no cluster {cluster}: check the name, or clusters.yaml.")
        raise Http404(f"No namespace {namespace} stored for cluster {cluster}")
    objects, total = selectors.namespace_objects(cluster, namespace)
    groups = [
        {"tool": tool, "label": label, "objects": [o for o in objects if o.tool == tool]}
        for tool, label in TOOLS
    ]
    health = selectors.clusters_with_health(cluster)[0]
    context = {
        "rollup": rollup,
        "health": health,
        "skipped_here": selectors.skipped_in(health, namespace),
        "groups": [g for g in groups if g["objects"]],
        "shown": len(objects),
        "total": total,
        "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
        "token": live.token,
        # Re-encoded: request.path is decoded, and a "%" or "/" in a name must stay escaped.
        "self_url": escape_uri_path(request.path),
    }
    template = "dashboard/namespace.html"
    if request.htmx:
        template += "#namespace-body"
    return render(request, template, context)


@require_safe
def search(request: HtmxHttpRequest) -> HttpResponse:
    if idle := changes.idle(request):
        return idle  # before the filters are checked: a choice may cost a query
    filters = request_input.read(request, request_input.filter_rules(*FILTERS, "q"))
    text = filters.pop("q") or ""
    live = changes.check(
        request,
        lambda: changes.search_fingerprint(selectors.search_matches(text=text, **filters)),
    )
    if live.response:
        return live.response
    return changes.rendered(request, live.token, lambda: _search(request, text, filters, live))


def _search(
    request: HtmxHttpRequest, text: str, filters: dict[str, Any], live: changes.Check
) -> HttpResponse:
    objects, total = selectors.search_objects(text=text, **filters)
    query = request.GET.copy()
    query.pop("since", None)
    context = {
        "token": live.token,
        "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
        # The results poll asks for what they show: the same filters.
        "self_url": reverse("search") + ("?" + query.urlencode() if query else ""),
        "objects": objects,
        "total": total,
        "limit": selectors.SEARCH_LIMIT,
        "q": text,
        "filters": filters,
        "choices": {
            **selectors.filter_choices(),
            "tools": TOOLS,
            "statuses": [s.value for s in STATUS_ORDER],
            "syncs": [s.value for s in Sync],
        },
    }
    template = "dashboard/search.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)
