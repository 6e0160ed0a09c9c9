"""One breadcrumb trail for every page: Overview › cluster › namespace › this page.

The separator is drawn by the stylesheet (.crumbs li + li::before), so no page can use another.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from dashboard.links import namespace_url

register = template.Library()


def trail(cluster: str = "", namespace: str = "", current: str = "") -> list[dict[str, Any]]:
    """The crumbs, outermost first; the last one is the page itself (no link)."""
    overview = reverse("overview")
    crumbs: list[dict[str, Any]] = [{"label": "Overview", "url": overview}]
    if cluster:
        crumbs.append({"label": cluster, "url": f"{overview}?{urlencode({'cluster': cluster})}"})
    if cluster and namespace:
        # A name no link can carry is shown, not linked.
        crumbs.append({"label": namespace, "url": namespace_url(cluster, namespace) or ""})
    if current:
        crumbs.append({"label": current, "url": ""})
    crumbs[-1]["url"] = ""
    return crumbs


@register.inclusion_tag("dashboard/breadcrumbs.html")
def breadcrumbs(
    cluster: str = "", namespace: str = "", current: str = "", kind: str = ""
) -> dict[str, Any]:
    """``kind`` prefixes ``current`` ("HelmRelease gitlab") on object pages."""
    current = f"{kind} {current}" if kind and current else current
    return {"crumbs": trail(cluster or "", namespace or "", current or "")}
