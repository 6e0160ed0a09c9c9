"""Status palette: one place decides the icon, text and colour of every status and sync."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from dashboard.humanize import age

register = template.Library()

# icon, css modifier. Colour is never the only signal: every badge carries icon + text.
STATUS_STYLE = {
    "Healthy": ("✓", "ok"),
    "Progressing": ("◔", "progress"),
    "Suspended": ("⏸", "muted"),
    "Unknown": ("?", "warn"),
    "Missing": ("∅", "bad"),
    "Degraded": ("✕", "bad"),
}
SYNC_STYLE = {
    "Synced": ("✓", "ok"),
    "OutOfSync": ("≠", "warn"),
    "Unknown": ("?", "warn"),
    "NotApplicable": ("–", "muted"),
}
TOOL_LABEL = {"flux": "Flux", "argocd": "Argo CD"}


@register.simple_tag
def status_badge(status: str) -> str:
    if not status:
        return mark_safe('<span class="badge badge--muted">–&nbsp;none</span>')
    icon, tone = STATUS_STYLE.get(status, ("?", "warn"))
    return format_html(
        '<span class="badge badge--{}"><span aria-hidden="true">{}</span>&nbsp;{}</span>',
        tone,
        icon,
        status,
    )


@register.simple_tag
def sync_badge(sync: str) -> str:
    if not sync:
        return mark_safe('<span class="badge badge--muted">–</span>')
    icon, tone = SYNC_STYLE.get(sync, ("?", "warn"))
    label = "n/a" if sync == "NotApplicable" else sync
    return format_html(
        '<span class="badge badge--{} badge--sync">'
        '<span aria-hidden="true">{}</span>&nbsp;{}</span>',
        tone,
        icon,
        label,
    )


@register.filter
def tool_label(tool: str) -> str:
    return TOOL_LABEL.get(tool, tool)


@register.filter
def status_tone(status: str) -> str:
    return STATUS_STYLE.get(status, ("", "muted"))[1]


@register.filter
def ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    delta = timezone.now() - value
    return "just now" if delta.total_seconds() < 5 else f"{age(delta)} ago"


@register.simple_tag
def object_link(cluster: str, key: str) -> str:
    """A link to an object page from an ownership key ``Kind/namespace/name``."""
    kind, _, rest = key.partition("/")
    namespace, _, name = rest.partition("/")
    if not (kind and namespace and name):
        return format_html("<span>{}</span>", key)
    url = reverse("object", args=[cluster, kind, namespace, name])
    return format_html(
        '<a href="{}"><span class="kind">{}</span> {}/{}</a>', url, kind, namespace, name
    )


SEVERITY_TONE = {"critical": "bad", "high": "bad", "medium": "warn", "low": "muted"}
SCORE_STYLE = {
    "pass": ("✓", "ok", "pass"),
    "fail": ("✕", "bad", "fail"),
    "unknown": ("?", "warn", "cannot tell"),
}


@register.simple_tag
def severity_badge(severity: str) -> str:
    return format_html(
        '<span class="badge badge--{}">{}</span>', SEVERITY_TONE.get(severity, "muted"), severity
    )


@register.simple_tag
def score_badge(state: str) -> str:
    icon, tone, label = SCORE_STYLE.get(state, ("?", "warn", state))
    return format_html(
        '<span class="badge badge--{}"><span aria-hidden="true">{}</span>&nbsp;{}</span>',
        tone,
        icon,
        label,
    )


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, param: str, number: int) -> str:
    """The current query string with one section's page changed (and the htmx refresh
    token dropped), so paging one section keeps the others where they are."""
    query = context["request"].GET.copy()
    query.pop("since", None)
    query[param] = str(number)
    return "?" + query.urlencode()
