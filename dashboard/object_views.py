"""The object page: from "something is red" to the cause. Thin: a selector call and a template.

Other pages link here through dashboard/links.py (``object_url``).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.encoding import escape_uri_path
from django.views.decorators.http import require_safe

from dashboard import action_views, changes, object_selectors
from dashboard.bounds import page_numbers
from dashboard.links import object_url as object_url  # re-exported: how tests link here
from dashboard.object_ownership import object_ownership
from dashboard.views import HtmxHttpRequest

TEMPLATE = "dashboard/object.html"


@require_safe
def object_page(
    request: HtmxHttpRequest, cluster: str, kind: str, namespace: str, name: str
) -> HttpResponse:
    live = changes.check(
        request, lambda: changes.object_fingerprint(cluster, kind, namespace, name)
    )
    if live.response:
        return live.response
    return changes.rendered(
        request, live.token, lambda: _object_page(request, cluster, kind, namespace, name, live)
    )


def _object_page(
    request: HtmxHttpRequest,
    cluster: str,
    kind: str,
    namespace: str,
    name: str,
    live: changes.Check,
) -> HttpResponse:
    pages = page_numbers(request.GET, object_selectors.PAGE_PARAMS)
    page = object_selectors.object_page(
        cluster, kind, namespace, name, pages, with_raw=not request.htmx
    )
    # The refresh keeps the sections on the pages they show (the token is added by hx-include).
    query = request.GET.copy()
    query.pop("since", None)
    context = {
        "token": live.token,
        "ownership": object_ownership(page.obj) if page else None,
        "page": page,
        "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
        # Re-encoded: request.path is decoded, and a "%" or "/" in a name must stay escaped.
        "self_url": escape_uri_path(request.path) + ("?" + query.urlencode() if query else ""),
        "limits": {
            "message": object_selectors.MESSAGE_LIMIT,
            "cell": object_selectors.CELL_LIMIT,
        },
    }
    if page is not None and not request.htmx:
        # Per reader (role, CSRF) and so never in the shared live-refreshed part; None (no
        # panel, the page as without actions) while TIDEWATCH_ACTIONS is off.
        context["actions"] = action_views.panel_context(request, page.obj)
    status = 200
    if page is None:
        context["missing"] = object_selectors.missing_object(cluster, kind, namespace, name)
        # A refresh of an open page gets the explanation in place (htmx swaps 2xx only).
        status = 200 if request.htmx else 404
    template = TEMPLATE + "#object-body" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)
