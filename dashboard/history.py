"""Status over time, from stored transitions: segments, and a server-rendered SVG strip.

Pure functions, no database: the object page's selector hands in the transitions it read.

A *segment* is a stretch of time with one status. Before Tidewatch first saw the object there is
no data; after a deletion the object is gone until it appears again. Only ``status`` and
``presence`` transitions shape the strip (sync and revision changes are in the timeline).

The strip is an ``<svg role="img">`` whose ``<title>``/``<desc>`` give the text alternative
(share of each status); every segment carries its own ``<title>`` tooltip, and its colour comes
from the one status palette (``badge--<tone>`` tones, as CSS classes ``strip__seg--<tone>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dashboard.templatetags.tidewatch import STATUS_STYLE

# The values clusters/store/objects.py writes for presence transitions.
PRESENT = "Present"
DELETED = "Deleted"
STATUS_FIELD = "status"
PRESENCE_FIELD = "presence"

NO_DATA = ""  # before the object was first seen
GONE = DELETED  # removed from the cluster

# viewBox units; the strip is stretched to the width of its container.
WIDTH = 1000
HEIGHT = 24
# A short failure in a 7-day strip would be thinner than a pixel: draw it at least this wide.
MIN_VISIBLE_WIDTH = 3.0
# Worst first, as everywhere; then the two states without a status.
LEGEND_ORDER = ("Degraded", "Missing", "Unknown", "Progressing", "Suspended", "Healthy")


@dataclass(frozen=True)
class Change:
    """One stored transition, as far as the strip cares."""

    at: datetime
    field: str
    to_value: str


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    status: str  # a status value, NO_DATA or GONE

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class Share:
    """One line of the legend: a status, its icon and tone, and how long it lasted."""

    status: str
    label: str
    icon: str
    tone: str
    duration: timedelta
    percent: float

    @property
    def duration_text(self) -> str:
        return human_duration(self.duration)

    @property
    def percent_text(self) -> str:
        return percent_text(self.percent)


@dataclass(frozen=True)
class Strip:
    key: str  # "24h" / "7d", also the element id prefix
    title: str
    start: datetime
    end: datetime
    segments: tuple[Segment, ...]
    shares: tuple[Share, ...]
    svg: SafeString
    ticks: tuple[str, ...]

    @property
    def summary(self) -> str:
        return summary_text(self.shares)


WINDOWS: tuple[tuple[str, str, timedelta, tuple[str, ...]], ...] = (
    ("24h", "Last 24 hours", timedelta(hours=24), ("24 h ago", "18 h", "12 h", "6 h", "now")),
    (
        "7d",
        "Last 7 days",
        timedelta(days=7),
        ("7 d ago", "6 d", "5 d", "4 d", "3 d", "2 d", "1 d", "now"),
    ),
)
LONGEST_WINDOW = max(window for _, _, window, _ in WINDOWS)


def status_segments(changes: Iterable[Change], start: datetime, end: datetime) -> list[Segment]:
    """The statuses between ``start`` and ``end``, in order, adjacent equal statuses merged.

    ``changes`` may hold anything stored; transitions at or before ``start`` set the status the
    window opens with, those after ``end`` are ignored. Equal timestamps keep their given order
    (the store writes presence before status), so the last one wins.
    """
    if end <= start:
        return []
    state = NO_DATA
    cursor = start
    segments: list[Segment] = []
    for change in sorted(changes, key=lambda c: c.at):
        new = _apply(state, change)
        if new is None:
            continue
        if change.at <= start:
            state = new
            continue
        if change.at >= end:
            break
        if new != state:
            segments.append(Segment(cursor, change.at, state))
            cursor, state = change.at, new
    segments.append(Segment(cursor, end, state))
    return _merged(segments)


def _apply(state: str, change: Change) -> str | None:
    """The status after ``change``, None when the change does not concern the strip."""
    if change.field == STATUS_FIELD:
        return change.to_value or NO_DATA
    if change.field == PRESENCE_FIELD:
        # An appearance is followed by its status transition; until then nothing is known.
        return GONE if change.to_value == DELETED else (state if state != GONE else NO_DATA)
    return None


def _merged(segments: Sequence[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if segment.end <= segment.start:
            continue
        if merged and merged[-1].status == segment.status:
            merged[-1] = Segment(merged[-1].start, segment.end, segment.status)
        else:
            merged.append(segment)
    return merged


def status_label(status: str) -> str:
    if status == NO_DATA:
        return "No data"
    if status == GONE:
        return "Deleted"
    return status


def status_icon_tone(status: str) -> tuple[str, str]:
    """The palette's icon and tone; "none" for the stretches without a status."""
    if status == NO_DATA:
        return "·", "none"
    if status == GONE:
        return "∅", "none"
    return STATUS_STYLE.get(status, ("?", "warn"))


def shares(segments: Sequence[Segment], start: datetime, end: datetime) -> list[Share]:
    """Total time per status, worst first, then deleted and no data."""
    total = (end - start).total_seconds()
    if total <= 0:
        return []
    durations: dict[str, timedelta] = {}
    for segment in segments:
        durations[segment.status] = durations.get(segment.status, timedelta()) + segment.duration
    result = []
    for status, duration in durations.items():
        icon, tone = status_icon_tone(status)
        result.append(
            Share(
                status=status,
                label=status_label(status),
                icon=icon,
                tone=tone,
                duration=duration,
                percent=100 * duration.total_seconds() / total,
            )
        )
    return sorted(result, key=lambda share: _SHARE_RANK.get(share.status, len(LEGEND_ORDER)))


# Unknown values (a status this version does not know) sort after the known ones, before the
# stretches without a status.
_SHARE_RANK = {
    **{status: i for i, status in enumerate(LEGEND_ORDER)},
    GONE: len(LEGEND_ORDER) + 1,
    NO_DATA: len(LEGEND_ORDER) + 2,
}


def summary_text(items: Iterable[Share]) -> str:
    """e.g. "Degraded 4% (58 min), Healthy 96% (23 h 2 min)"."""
    return ", ".join(f"{s.label} {s.percent_text} ({s.duration_text})" for s in items)


def percent_text(value: float) -> str:
    if 0 < value < 1:
        return "<1%"
    if 99 < value < 100:
        return ">99%"
    return f"{round(value)}%"


def human_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _clock(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%d %b %H:%M")


def segment_title(segment: Segment) -> str:
    return (
        f"{status_label(segment.status)}: {_clock(segment.start)} – {_clock(segment.end)} UTC "
        f"({human_duration(segment.duration)})"
    )


def strip_svg(
    segments: Sequence[Segment], start: datetime, end: datetime, *, key: str, title: str
) -> SafeString:
    """The strip as inline SVG. Healthy and empty stretches are drawn first, so a short failure
    widened to MIN_VISIBLE_WIDTH lies on top of its neighbours rather than under them."""
    span = (end - start).total_seconds()
    rects = []
    for segment in segments:
        x = (segment.start - start).total_seconds() / span * WIDTH
        width = segment.duration.total_seconds() / span * WIDTH
        calm = segment.status in ("Healthy", NO_DATA, GONE)
        if not calm and width < MIN_VISIBLE_WIDTH:
            x = min(max(0.0, x - (MIN_VISIBLE_WIDTH - width) / 2), WIDTH - MIN_VISIBLE_WIDTH)
            width = MIN_VISIBLE_WIDTH
        _, tone = status_icon_tone(segment.status)
        rects.append((0 if calm else 1, x, width, tone, segment))
    rects.sort(key=lambda r: r[0])  # stable: time order within each layer
    body = format_html_join(
        "",
        '<rect class="strip__seg strip__seg--{}" data-status="{}" x="{}" y="0" width="{}" '
        'height="{}"><title>{}</title></rect>',
        (
            (tone, segment.status or "none", _num(x), _num(width), HEIGHT, segment_title(segment))
            for _, x, width, tone, segment in rects
        ),
    )
    description = summary_text(shares(segments, start, end)) or "No data"
    return format_html(
        '<svg class="strip" id="strip-{key}" viewBox="0 0 {w} {h}" preserveAspectRatio="none" '
        'role="img" aria-labelledby="strip-{key}-title strip-{key}-desc" focusable="false">'
        '<title id="strip-{key}-title">{title}</title>'
        '<desc id="strip-{key}-desc">{desc}</desc>{body}</svg>',
        key=key,
        w=WIDTH,
        h=HEIGHT,
        title=f"Status, {title.lower()}",
        desc=description,
        body=body,
    )


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def build_strip(
    changes: Sequence[Change],
    now: datetime,
    *,
    key: str,
    title: str,
    window: timedelta,
    ticks: tuple[str, ...] = (),
) -> Strip:
    start = now - window
    segments = status_segments(changes, start, now)
    return Strip(
        key=key,
        title=title,
        start=start,
        end=now,
        segments=tuple(segments),
        shares=tuple(shares(segments, start, now)),
        svg=strip_svg(segments, start, now, key=key, title=title),
        ticks=ticks,
    )


def build_strips(changes: Sequence[Change], now: datetime) -> list[Strip]:
    """The 24 h and 7 d strips from the same transitions (those of the last 7 days, plus the
    newest one before that, which says how the window opens)."""
    return [
        build_strip(changes, now, key=key, title=title, window=window, ticks=ticks)
        for key, title, window, ticks in WINDOWS
    ]
