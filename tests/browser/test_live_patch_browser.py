"""Live parts are patched, not replaced (issue 11; static/js/tidewatch.js ``patchLivePart``): a
change swaps only the rows it touched, every other node of the page stays the very same DOM
node, and a page whose scope did not change is not touched at all."""

from __future__ import annotations

import pytest

from clusters.poll import poll_cluster

pytestmark = pytest.mark.browser

# page → (the changed element, an element of the same page the change does not touch)
PAGES = {
    "/": ('tr[data-namespace="sandbox"]', 'tr[data-namespace="gitlab"]'),
    "/n/demo/argocd": (
        '[data-object="Application/argocd/sandbox-experiments"]',
        '[data-object="Application/argocd/portfolio"]',
    ),
    "/search?q=argocd&kind=Application": (
        '#results [data-object="Application/argocd/sandbox-experiments"]',
        '#results [data-object="Application/argocd/portfolio"]',
    ),
    "/o/demo/Application/argocd/sandbox-experiments": (".obj-head", "#history"),
}
UNCHANGED = ["/n/demo/gitlab", "/o/demo/HelmRelease/bigbang/gitlab"]

MARK = """(selector) => {
  const element = document.querySelector(selector);
  element.__kept = true;
  return element.dataset.status || 'present';
}"""
KEPT = "(selector) => document.querySelector(selector)?.__kept === true"
MARK_ALL = "() => document.querySelectorAll('main *').forEach((e) => { e.__kept = true; })"
ALL_KEPT = "() => Array.from(document.querySelectorAll('main *')).every((e) => e.__kept)"
TOKEN = "() => document.querySelector('[data-live-since]').value"


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 300
    poll_cluster(demo_cluster)
    return demo_cluster


def test_a_change_patches_the_changed_rows_and_keeps_every_other_node(
    page, live_server, polled, demo
):
    pages = {}
    for path, (changed, unchanged) in PAGES.items():
        tab = page if not pages else page.context.new_page()
        tab.goto(live_server.url + path)
        assert tab.evaluate(MARK, changed) != "Degraded", path
        tab.evaluate(MARK, unchanged)
        pages[path] = tab
    for path in UNCHANGED:
        tab = page.context.new_page()
        tab.goto(live_server.url + path)
        tab.evaluate(MARK_ALL)
        pages[path] = tab
    tokens = {path: pages[path].evaluate(TOKEN) for path in UNCHANGED}

    demo.patch(
        "argoproj.io",
        "applications",
        "argocd",
        "sandbox-experiments",
        {"status": {"health": {"status": "Degraded", "message": "CrashLoopBackOff"}}},
    )
    poll_cluster(polled)

    for path, (changed, unchanged) in PAGES.items():
        tab = pages[path]
        tab.wait_for_function(
            f"() => document.querySelector({changed!r})?.dataset.status === 'Degraded'",
            timeout=30_000,
        )
        # The row that did not change is the node it was (a swap of the part would have made
        # a new one), and so is the changed row itself: patched in place, even when it moved.
        assert tab.evaluate(KEPT, unchanged), f"{path}: {unchanged} was rebuilt"
        assert tab.evaluate(KEPT, changed), f"{path}: {changed} was rebuilt, not patched"
        assert tab.evaluate("() => Number(document.body.dataset.livePatched || '0')") >= 1, path
    for path in UNCHANGED:
        tab = pages[path]
        tab.wait_for_function(f"() => ({TOKEN})() !== {tokens[path]!r}", timeout=30_000)
        # No minute boundary can rebuild a node either: a redrawn "2 min ago" is a text patch.
        assert tab.evaluate(ALL_KEPT), f"{path}: a node was replaced without a change"
        assert tab.evaluate("() => document.body.dataset.liveInserted || '0'") == "0", path
    assert page.js_errors == []


# The patcher itself, table-driven, on a blank page that loads the same static script: before
# (the page's part), after (the server's new part), and what must hold after patching.
CASES = [
    # a text change in one row: both rows kept, one text node patched
    (
        '<tr data-live-key="a"><td>ok</td></tr><tr data-live-key="b"><td>ok</td></tr>',
        '<tr data-live-key="a"><td>ok</td></tr><tr data-live-key="b"><td>bad</td></tr>',
        {"kept": ["a", "b"], "inserted": 0, "removed": 0, "moved": 0, "texts": 1},
    ),
    # worst first: b moves to the top, as a moved node
    (
        '<tr data-live-key="a"><td>a</td></tr><tr data-live-key="b"><td>b</td></tr>',
        '<tr data-live-key="b" class="bad"><td>b</td></tr><tr data-live-key="a"><td>a</td></tr>',
        {"kept": ["a", "b"], "inserted": 0, "removed": 0, "moved": 1, "texts": 0},
    ),
    # a row enters, a row leaves
    (
        '<tr data-live-key="a"><td>a</td></tr><tr data-live-key="b"><td>b</td></tr>',
        '<tr data-live-key="a"><td>a</td></tr><tr data-live-key="c"><td>c</td></tr>',
        {"kept": ["a"], "inserted": 1, "removed": 1, "moved": 0, "texts": 0},
    ),
    # nothing changed: nothing touched
    (
        '<tr data-live-key="a"><td>a</td></tr>',
        '<tr data-live-key="a"><td>a</td></tr>',
        {"kept": ["a"], "inserted": 0, "removed": 0, "moved": 0, "texts": 0},
    ),
    # a key whose element changed tag is rebuilt, not patched
    (
        '<tr data-live-key="a"><td>a</td></tr>',
        '<tr data-live-key="a"><th>a</th></tr>',
        {"kept": ["a"], "inserted": 1, "removed": 1, "moved": 0, "texts": 0},
    ),
]
PATCH = """([before, after]) => {
  const table = document.createElement('table');
  table.innerHTML = '<tbody id="scratch">' + before + '</tbody>';
  document.body.append(table);
  const part = document.getElementById('scratch');
  const byKey = {};
  part.querySelectorAll('[data-live-key]').forEach((e) => { byKey[e.dataset.liveKey] = e; });
  const count = patchLivePart(part, after, false);
  const kept = Object.keys(byKey).filter((k) => part.querySelector(
    `[data-live-key="${k}"]`) === byKey[k]).sort();
  return {count, kept, html: part.innerHTML};
}"""


@pytest.mark.parametrize(("before", "after", "expected"), CASES)
def test_the_patcher_keeps_what_did_not_change(
    page, live_server, transactional_db, before, after, expected
):
    page.goto(live_server.url + "/search")  # any page: it loads static/js/tidewatch.js
    result = page.evaluate(PATCH, [before, after])
    assert result["html"] == after  # the part now reads exactly as the server's
    assert result["kept"] == expected.pop("kept")
    assert result["count"] == expected


def test_a_tab_shown_again_asks_at_once_instead_of_at_its_next_tick(
    page, live_server, demo_cluster, transactional_db, settings, demo
):
    # A poll a minute apart, as Chromium throttles a tab hidden for five minutes: the page can
    # only show the change in time through the poll it makes when it becomes visible again.
    settings.TIDEWATCH_LIVE_POLL_MS = 600_000
    poll_cluster(demo_cluster)
    changed, _ = PAGES["/"]
    page.goto(live_server.url + "/")
    assert page.evaluate(MARK, changed) != "Degraded"
    demo.patch(
        "argoproj.io",
        "applications",
        "argocd",
        "sandbox-experiments",
        {"status": {"health": {"status": "Degraded", "message": "CrashLoopBackOff"}}},
    )
    poll_cluster(demo_cluster)
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")  # shown again
    page.wait_for_function(
        f"() => document.querySelector({changed!r})?.dataset.status === 'Degraded'",
        timeout=30_000,
    )
    assert page.evaluate(KEPT, changed)
    assert page.js_errors == []
