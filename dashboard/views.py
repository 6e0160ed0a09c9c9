"""HTML pages. Thin: a selector call and a template; HTMX requests get the named partial."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django_htmx.middleware import HtmxDetails

from clusters.attention import FINE_RANK
from dashboard import changes, health, helm_drift, request_input, selectors
from dashboard.access import bearer_token
from dashboard.models import ApiToken


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# Worst first, a page at a time: 2,000 namespaces in one table is neither readable nor fast.
OVERVIEW_PAGE_SIZE = 100


@require_safe
def overview(request: HtmxHttpRequest) -> HttpResponse:
    if idle := changes.idle(request):
        return idle
    params = request_input.read(request, request_input.filter_rules("cluster", "page"))
    cluster = params["cluster"]
    live = changes.check(request, lambda: changes.overview_fingerprint(cluster))
    if live.response:
        return live.response  # htmx leaves the page as it is
    page = params["page"] or 1
    return changes.rendered(request, live.token, lambda: _overview(request, cluster, page, live))


def _overview(
    request: HtmxHttpRequest, cluster: str | None, page: int, live: changes.Check
) -> HttpResponse:
    rows = selectors.namespace_rows(cluster)
    counts = selectors.namespace_counts(cluster)
    pages = max(1, -(-counts["total"] // OVERVIEW_PAGE_SIZE))
    if page > pages:
        raise Http404(f"Page {page} is past the last page of namespaces ({pages}).")
    start = (page - 1) * OVERVIEW_PAGE_SIZE
    context = {
        "clusters": selectors.clusters_with_health(),
        "rows": list(rows[start : start + OVERVIEW_PAGE_SIZE]),
        # The worst namespace with something to say, whatever page is shown: the sentence
        # before the table.
        "worst": rows.filter(attention_rank__lt=FINE_RANK).first() if counts["attention"] else None,
        "counts": counts,
        # HelmReleases helm-controller reports drifted: a count, whatever page is shown.
        "drifted": helm_drift.drifted_helmreleases(cluster),
        "page": page,
        "first": start + 1,
        "last": min(start + OVERVIEW_PAGE_SIZE, counts["total"]),
        "pages": pages,
        "selected_cluster": cluster,
        "self_url": _without_since(request),
        "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
        "token": live.token,
    }
    template = "dashboard/overview.html"
    if request.htmx:
        template += "#overview-body"
    return render(request, template, context)


def _without_since(request: HttpRequest) -> str:
    """The page's own URL for its poll, whose token comes from the swapped part."""
    query = request.GET.copy()
    query.pop("since", None)
    return request.path + ("?" + query.urlencode() if query else "")


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so a database outage does not get
    every pod restarted."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness (dashboard/health.py): 200 when every check passes, 503 naming the failed ones,
    and why to a signed-in user or API token only.
    ``?checks=database,broker`` runs only those (the web pods' probe: see deploy/kubernetes)."""
    only = None
    if request.GET.get("checks"):
        only = {name.strip() for name in request.GET["checks"].split(",") if name.strip()}
        unknown = sorted(only - set(health.CHECKS))
        if unknown:
            known = ", ".join(health.CHECKS)
            return JsonResponse(
                {"error": f"unknown checks {', '.join(unknown)}; known: {known}"}, status=400
            )
    ok, body = health.readiness(only, detailed=_may_see_details(request))
    return JsonResponse(body, status=200 if ok else 503)


def _may_see_details(request: HttpRequest) -> bool:
    """A session or a valid API token. A wrong token is not refused here, unlike /api/: a probe
    configured with a revoked token must still see the pod ready, just without the details."""
    try:
        if request.user.is_authenticated:
            return True
        token = bearer_token(request)
        return bool(token) and ApiToken.authenticate(token) is not None
    except DatabaseError:
        # Sessions and tokens live in the database: with it down, answer the probe without
        # details rather than with a 500.
        return False
