"""The object page: from "something is red" to the cause. Thin: a selector call and a template.

``object_url`` is how other pages link here.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from dashboard import object_selectors
from dashboard.bounds import BadPage, page_numbers
from dashboard.changes import change_token, unchanged
from dashboard.object_ownership import object_ownership
from dashboard.views import HtmxHttpRequest

TEMPLATE = "dashboard/object.html"


def object_url(cluster_name: str, kind: str, namespace: str, name: str) -> str:
    """The object page of a stored Flux or Argo CD object (all of them are namespaced)."""
    return reverse("object", args=[cluster_name, kind, namespace, name])


@require_GET
def object_page(
    request: HtmxHttpRequest, cluster: str, kind: str, namespace: str, name: str
) -> HttpResponse:
    token = change_token()
    if unchanged(request, token):
        return HttpResponse(status=204)
    try:
        pages = page_numbers(request.GET, object_selectors.PAGE_PARAMS)
    except BadPage as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    page = object_selectors.object_page(
        cluster, kind, namespace, name, pages, with_raw=not request.htmx
    )
    # The refresh keeps the sections on the pages they show (the token is added by hx-include).
    query = request.GET.copy()
    query.pop("since", None)
    context = {
        "token": token,
        "ownership": object_ownership(page.obj) if page else None,
        "page": page,
        "refresh_seconds": settings.TIDEWATCH_REFRESH_SECONDS,
        "self_url": request.path + ("?" + query.urlencode() if query else ""),
        "limits": {
            "message": object_selectors.MESSAGE_LIMIT,
            "cell": object_selectors.CELL_LIMIT,
        },
    }
    status = 200
    if page is None:
        context["missing"] = object_selectors.missing_object(cluster, kind, namespace, name)
        # A refresh of an open page gets the explanation in place (htmx swaps 2xx only).
        status = 200 if request.htmx else 404
    template = TEMPLATE + "#object-body" if request.htmx else TEMPLATE
    return render(request, template, context, status=status)
