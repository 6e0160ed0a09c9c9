"""Status palette: one place decides the icon, text and colour of every status and sync.

Links to objects and namespaces: ``{% objectlink %}`` / ``{% namespacelink %}`` (URLs from
dashboard/links.py; a name that cannot be linked is shown as text with a note)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from django import template
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from clusters import attention
from dashboard import links
from dashboard.bounds import Window
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
def violation_tone(code: str) -> str:
    """Palette tone of an ownership violation code, by its severity (critical/high red)."""
    return attention.violation_tone(code)


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


class LinkNode(template.Node):
    def __init__(
        self,
        url: Callable[..., str | None],
        args: list[template.base.FilterExpression],
        css: template.base.FilterExpression | None,
        nodelist: template.NodeList,
    ) -> None:
        self.url, self.args, self.css, self.nodelist = url, args, css, nodelist

    def render(self, context: template.Context) -> str:
        values = [arg.resolve(context) for arg in self.args]
        label = self.nodelist.render(context)  # already escaped by the template engine
        return link_html(
            self.url(*values), label, self.css.resolve(context) if self.css else "", values
        )


def link_html(url: str | None, label: str, css: str, parts: list[object]) -> str:
    if url:
        if css:
            return format_html('<a class="{}" href="{}">{}</a>', css, url, mark_safe(label))
        return format_html('<a href="{}">{}</a>', url, mark_safe(label))
    return unlinked_html(label, css, links.unlinkable_reason(*parts))


def unlinked_html(label: str, css: str, reason: str) -> str:
    """A name shown as text, with a small note saying why it has no link."""
    return format_html(
        '<span class="{}">{} <span class="tag" title="{}" data-unlinked>no link</span></span>',
        f"unlinked {css}".strip(),
        mark_safe(label),
        reason,
    )


def _link_tag(url: Callable[..., str | None], count: int) -> Callable[..., LinkNode]:
    def compile_tag(parser: template.base.Parser, token: template.base.Token) -> LinkNode:
        bits = token.split_contents()
        tag, args = bits[0], bits[1:]
        css = None
        if args and args[-1].startswith("class="):
            css = parser.compile_filter(args.pop()[len("class=") :])
        if len(args) != count:
            raise template.TemplateSyntaxError(f"{tag} takes {count} arguments (and class=)")
        nodelist = parser.parse((f"end{tag}",))
        parser.delete_first_token()
        return LinkNode(url, [parser.compile_filter(a) for a in args], css, nodelist)

    return compile_tag


# {% objectlink cluster kind namespace name class="..." %}label{% endobjectlink %}
register.tag("objectlink", _link_tag(links.object_url, 4))
# {% namespacelink cluster namespace class="..." %}label{% endnamespacelink %}
register.tag("namespacelink", _link_tag(links.namespace_url, 2))


@register.simple_tag(takes_context=True)
def object_link(context: template.Context, cluster: str, key: str) -> str:
    """A link to an object page from an ownership key ``Kind/namespace/name``.

    With a "/" in the namespace or name the key is ambiguous: the view passes ``object_refs``,
    the stored objects with a "/" in either, keyed by (cluster, key)."""
    kind, _, rest = key.partition("/")
    namespace, _, name = rest.partition("/")
    label = format_html('<span class="kind">{}</span> {}', kind, rest)
    if rest.count("/") > 1:
        refs = context.get("object_refs") or {}
        if (cluster, key) not in refs:
            reason = "no link: not stored, and a / in the name makes the key ambiguous"
            return unlinked_html(label, "", reason)
        kind, namespace, name = refs[(cluster, key)]
    parts = [cluster, kind, namespace, name]
    return link_html(links.object_url(*parts), label, "", parts)


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


def page_query(request: HttpRequest, param: str, number: int) -> str:
    """The current query string with one section's page changed (and the htmx refresh
    token dropped), so paging one section keeps the others where they are."""
    query = request.GET.copy()
    query.pop("since", None)
    query[param] = str(number)
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def rows_note(
    context: template.Context, window: Window, noun: str, anchor: str, order: str = ""
) -> str:
    """Under a capped list: "Showing 1–200 of 100,000 resources (…). Next 200", with links
    to the neighbouring pages. Nothing when the whole list is shown."""
    if not window.capped:
        return ""
    request = context["request"]
    links = []
    if window.previous:
        url = page_query(request, window.param, window.previous) + "#" + anchor
        links.append(format_html('<a href="{}" rel="prev">Previous {}</a>', url, window.size))
    if window.next:
        url = page_query(request, window.param, window.next) + "#" + anchor
        count = min(window.size, window.after)
        links.append(format_html('<a href="{}" rel="next">Next {}</a>', url, count))
    return format_html(
        '<p class="obj-more-note" data-rows="{}" data-total="{}">Showing {}–{} of {} {}{}. {}</p>',
        window.param,
        window.total,
        f"{window.first_shown:,}",
        f"{window.last_shown:,}",
        f"{window.total:,}",
        noun,
        f" ({order})" if order else "",
        format_html_join(" · ", "{}", ((link,) for link in links)),
    )


# managedFields times as the last-writer check writes them into its sentence.
_WRITTEN_AT = re.compile(r" at \d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?")


@register.filter
def last_writer_sentence(explanation: str) -> str:
    """The stored sentence without its raw ISO time: the page shows that time as "3 h ago",
    with the absolute time as its title, like every other time."""
    return _WRITTEN_AT.sub("", explanation, count=1)
