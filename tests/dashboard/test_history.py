"""Status strips from transitions: segments, shares and the SVG (pure functions, no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from clusters.store import objects as store
from dashboard.history import (
    DELETED,
    GONE,
    MIN_VISIBLE_WIDTH,
    NO_DATA,
    PRESENT,
    WIDTH,
    Change,
    Segment,
    build_strips,
    human_duration,
    percent_text,
    shares,
    status_segments,
    strip_svg,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # window start
END = T0 + timedelta(hours=24)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def status(at: float, value: str) -> Change:
    return Change(h(at), "status", value)


def presence(at: float, value: str) -> Change:
    return Change(h(at), "presence", value)


def appear(at: float, value: str) -> list[Change]:
    """What the store writes when an object shows up: presence, status, sync at one instant."""
    return [presence(at, PRESENT), status(at, value), Change(h(at), "sync", "Synced")]


def test_presence_values_match_the_store():
    assert (PRESENT, DELETED) == (store.PRESENT, store.DELETED)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param([], [(0, 24, NO_DATA)], id="nothing stored: no data"),
        pytest.param(
            [status(-30, "Healthy")], [(0, 24, "Healthy")], id="a status before the window"
        ),
        pytest.param(
            appear(6, "Healthy"), [(0, 6, NO_DATA), (6, 24, "Healthy")], id="first seen inside"
        ),
        pytest.param(
            [*appear(-5, "Healthy"), status(10, "Degraded"), status(12, "Healthy")],
            [(0, 10, "Healthy"), (10, 12, "Degraded"), (12, 24, "Healthy")],
            id="a failure that healed",
        ),
        pytest.param(
            [status(-3, "Healthy"), status(-1, "Degraded"), status(4, "Healthy")],
            [(0, 4, "Degraded"), (4, 24, "Healthy")],
            id="the newest change before the window decides how it opens",
        ),
        pytest.param(
            [status(4, "Healthy"), status(-1, "Degraded")],
            [(0, 4, "Degraded"), (4, 24, "Healthy")],
            id="input order does not matter",
        ),
        pytest.param(
            [status(-1, "Healthy"), status(5, "Progressing"), status(5, "Degraded")],
            [(0, 5, "Healthy"), (5, 24, "Degraded")],
            id="equal timestamps: the last one wins",
        ),
        pytest.param(
            [status(-1, "Healthy"), status(5, "Healthy"), Change(h(6), "sync", "OutOfSync")],
            [(0, 24, "Healthy")],
            id="sync, revision and repeated statuses do not split the strip",
        ),
        pytest.param(
            [status(-1, "Healthy"), presence(8, DELETED), *appear(20, "Progressing")],
            [(0, 8, "Healthy"), (8, 20, GONE), (20, 24, "Progressing")],
            id="deleted, then back",
        ),
        pytest.param(
            [status(-1, "Healthy"), presence(-0.5, DELETED)],
            [(0, 24, GONE)],
            id="deleted before the window",
        ),
        pytest.param(
            [status(-1, "Healthy"), status(24, "Degraded"), status(30, "Missing")],
            [(0, 24, "Healthy")],
            id="changes at or after the end are ignored",
        ),
        pytest.param(
            [status(0, "Degraded")], [(0, 24, "Degraded")], id="a change exactly at the start"
        ),
        pytest.param(
            [status(-1, "Healthy"), status(3, "Sideways")],
            [(0, 3, "Healthy"), (3, 24, "Sideways")],
            id="an unknown value is kept as written",
        ),
    ],
)
def test_status_segments(changes, expected):
    segments = status_segments(changes, T0, END)
    assert [(s.start, s.end, s.status) for s in segments] == [
        (h(a), h(b), value) for a, b, value in expected
    ]
    # segments tile the window exactly
    assert segments[0].start == T0 and segments[-1].end == END
    assert all(a.end == b.start for a, b in zip(segments, segments[1:], strict=False))


def test_an_empty_window_has_no_segments():
    assert status_segments([status(1, "Healthy")], END, T0) == []


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param(
            [(0, 12, "Healthy"), (12, 18, "Degraded"), (18, 24, "Healthy")],
            [("Degraded", 25.0, "6 h"), ("Healthy", 75.0, "18 h")],
            id="worst first, durations summed",
        ),
        pytest.param(
            [(0, 2, NO_DATA), (2, 10, GONE), (10, 24, "Suspended")],
            [("Suspended", 14 / 24 * 100, "14 h"), ("Deleted", 8 / 24 * 100, "8 h")]
            + [("No data", 2 / 24 * 100, "2 h")],
            id="deleted and no data come last",
        ),
    ],
)
def test_shares(segments, expected):
    result = shares([Segment(h(a), h(b), s) for a, b, s in segments], T0, END)
    assert [(s.label, pytest.approx(s.percent), s.duration_text) for s in result] == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (3660, "1 h 1 min"),
        (86400, "24 h"),
        (2 * 86400, "2 d"),
        (6 * 86400 + 20 * 3600, "6 d 20 h"),
    ],
)
def test_human_duration(seconds, text):
    assert human_duration(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0%"), (0.2, "<1%"), (12.4, "12%"), (99.6, ">99%"), (100, "100%")]
)
def test_percent_text(value, text):
    assert percent_text(value) == text


def rects(svg: str) -> list[dict[str, str]]:
    found = re.findall(r"<rect ([^>]*)><title>([^<]*)</title></rect>", svg)
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', attrs), title=title) for attrs, title in found]


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        pytest.param(
            [(0, 6, NO_DATA), (6, 18, "Healthy"), (18, 24, "Degraded")],
            [("none", "0", "250"), ("ok", "250", "500"), ("bad", "750", "250")],
            id="palette tones, proportional widths",
        ),
        pytest.param(
            [(0, 12, "Progressing"), (12, 24, "Suspended")],
            [("progress", "0", "500"), ("muted", "500", "500")],
            id="progress and muted",
        ),
        pytest.param(
            [(0, 8, "Unknown"), (8, 16, "Missing"), (16, 24, GONE)],
            [("warn", "0", "333.33"), ("bad", "333.33", "333.33"), ("none", "666.67", "333.33")],
            id="warn, bad and deleted",
        ),
    ],
)
def test_strip_svg_segments(segments, expected):
    svg = strip_svg(
        [Segment(h(a), h(b), s) for a, b, s in segments], T0, END, key="24h", title="Last 24 hours"
    )
    found = rects(svg)
    assert sorted((r["class"].split("--")[1], r["x"], r["width"]) for r in found) == sorted(
        expected
    )
    assert sum(float(r["width"]) for r in found) == pytest.approx(WIDTH, abs=0.05)


def test_strip_svg_has_a_text_alternative_and_tooltips():
    segments = [Segment(h(0), h(22), "Healthy"), Segment(h(22), h(24), "Degraded")]
    svg = strip_svg(segments, T0, END, key="24h", title="Last 24 hours")
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="strip-24h-title strip-24h-desc"' in svg
    assert '<title id="strip-24h-title">Status, last 24 hours</title>' in svg
    assert '<desc id="strip-24h-desc">Degraded 8% (2 h), Healthy 92% (22 h)</desc>' in svg
    titles = [r["title"] for r in rects(svg)]
    assert titles == [
        "Healthy: 20 Nov 12:00 – 21 Nov 10:00 UTC (22 h)",
        "Degraded: 21 Nov 10:00 – 21 Nov 12:00 UTC (2 h)",
    ]


def test_a_short_failure_stays_visible_and_is_drawn_on_top():
    week_end = T0 + timedelta(days=7)
    segments = [
        Segment(T0, h(50), "Healthy"),
        Segment(h(50), h(50) + timedelta(seconds=30), "Degraded"),
        Segment(h(50) + timedelta(seconds=30), week_end, "Healthy"),
    ]
    found = rects(strip_svg(segments, T0, week_end, key="7d", title="Last 7 days"))
    assert found[-1]["data-status"] == "Degraded"  # last drawn = on top
    assert float(found[-1]["width"]) == MIN_VISIBLE_WIDTH
    assert "(30 s)" in found[-1]["title"]  # the tooltip keeps the real duration


def test_strip_text_is_escaped():
    svg = strip_svg(
        [Segment(T0, END, "<b>odd</b>")], T0, END, key="24h", title="Last <i>24</i> hours"
    )
    assert "<b>" not in svg and "<i>" not in svg and "&lt;b&gt;odd&lt;/b&gt;" in svg


def test_build_strips_gives_24_hours_and_7_days():
    now = T0 + timedelta(days=8)
    changes = [
        *appear(0, "Healthy"),  # 8 days ago
        Change(now - timedelta(days=3), "status", "Degraded"),
        Change(now - timedelta(hours=6), "status", "Healthy"),
    ]
    day, week = build_strips(changes, now)
    assert (day.key, week.key) == ("24h", "7d")
    assert [(s.status, s.duration) for s in day.segments] == [
        ("Degraded", timedelta(hours=18)),
        ("Healthy", timedelta(hours=6)),
    ]
    assert [s.status for s in week.segments] == ["Healthy", "Degraded", "Healthy"]
    assert week.summary == "Degraded 39% (2 d 18 h), Healthy 61% (4 d 6 h)"
    assert day.ticks[0] == "24 h ago" and week.ticks[-1] == "now"
