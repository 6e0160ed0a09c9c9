"""The Controllers view's badges and units: the project's palette (icon + text + colour)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from clusters.ownership import controller_health as health

register = template.Library()

TONE = {
    "ok": ("✓", "healthy"),
    "warn": ("⚠", "needs a look"),
    "bad": ("✕", "failing"),
}


@register.simple_tag
def tone_badge(tone: str, text: str = "") -> str:
    icon, label = TONE.get(tone, ("?", tone))
    return format_html(
        '<span class="badge badge--{}"><span aria-hidden="true">{}</span>&nbsp;{}</span>',
        tone,
        icon,
        text or label,
    )


@register.simple_tag
def ready_badge(ready: int, desired: int) -> str:
    """ "✓ 2/2 ready"; "✕ 0/1 ready"; scaled to zero is not ready (nothing reconciles)."""
    tone, icon = ("ok", "✓") if desired > 0 and ready == desired else ("bad", "✕")
    return format_html(
        '<span class="badge badge--{}" data-ready="{}/{}"><span aria-hidden="true">{}</span>'
        "&nbsp;{}/{} ready</span>",
        tone,
        ready,
        desired,
        icon,
        ready,
        desired,
    )


@register.filter
def mib(value: int | None) -> str:
    return "" if value is None else health.mebibytes(value)


@register.filter
def millicores(value: int | None) -> str:
    return "" if value is None else health.millicores(value)
