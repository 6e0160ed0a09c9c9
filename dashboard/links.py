"""Links to object and namespace pages: the one place that turns stored names into URLs.

Names and namespaces come from the cluster, and several of them are free text as far as the API
server is concerned (an Argo CD destination namespace, a Flux targetNamespace, the resources in
an Application's status; names from a non-conforming server). So every URL segment goes through
``NameConverter``: ``to_url`` escapes the three things a path segment cannot carry as they are
("/", "%" and the dot segments "." and "..", which browsers resolve away), Django then
percent-encodes the rest (newlines, "?", "#", spaces ...), and ``to_python`` undoes the first
step after the server has undone the second. Any non-empty string round-trips.

What cannot be linked is said, not crashed on: the helpers return None for an empty or
non-string value and for a URL longer than TIDEWATCH_MAX_LINK_LENGTH (gunicorn refuses request
lines over 4094 bytes), and the templates show such a name as text with a note
(``{% objectlink %}`` / ``{% namespacelink %}`` in dashboard/templatetags/tidewatch.py).
"""

from __future__ import annotations

from urllib.parse import unquote

from django.conf import settings
from django.urls import NoReverseMatch, reverse

DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}


class NameConverter:
    """A path segment holding any non-empty string (registered as ``<name:...>``)."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        name = unquote(value)
        if "\x00" in name:  # never a stored name (PostgreSQL refuses NUL): no such page
            raise ValueError("NUL in a name")
        return name

    def to_url(self, value: object) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError("only a non-empty string can be a path segment")
        if value in DOT_SEGMENTS:
            return DOT_SEGMENTS[value]
        return value.replace("%", "%25").replace("/", "%2F")


def _reverse(route: str, args: list[object]) -> str | None:
    try:
        url = reverse(route, args=args)
    except NoReverseMatch:  # an empty or non-string name: NameConverter.to_url refused it
        return None
    return url if len(url) <= settings.TIDEWATCH_MAX_LINK_LENGTH else None


def object_url(cluster: object, kind: object, namespace: object, name: object) -> str | None:
    """The object page of a stored Flux or Argo CD object, or None when it cannot be linked."""
    return _reverse("object", [cluster, kind, namespace, name])


def namespace_url(cluster: object, namespace: object) -> str | None:
    """The namespace page, or None when it cannot be linked."""
    return _reverse("namespace", [cluster, namespace])


def api_object_url(cluster: object, kind: object, namespace: object, name: object) -> str | None:
    """The object's /api/v1 detail, or None when it cannot be linked."""
    return _reverse("api-object", [cluster, kind, namespace, name])


def unlinkable_reason(*parts: object) -> str:
    """Why a link is missing, for the note next to the unlinked name."""
    if any(not isinstance(p, str) or not p for p in parts):
        return "no link: the cluster stored an empty name"
    return "no link: the name is too long for a URL"
