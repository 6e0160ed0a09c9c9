"""Live updates in real headless Chromium: a change stored (by a poll here; a watch writes the
same store) reaches the open overview, namespace, object and search pages without reload, and a
page whose scope did not change is not re-rendered."""

from __future__ import annotations

import time

import pytest

from clusters.poll import poll_cluster

pytestmark = pytest.mark.browser

# Each page, and the selector + check that says it shows the degraded sandbox-experiments.
CHANGED = {
    "/": """() => document.querySelector('tr[data-namespace="sandbox"]')
                   ?.dataset.status === 'Degraded'""",
    "/n/demo/sandbox": """() => document.querySelector(
                   '[data-object="Application/argocd/sandbox-experiments"]')
                   ?.dataset.status === 'Degraded'""",
    "/o/demo/Application/argocd/sandbox-experiments": """() => document.querySelector(
                   '.obj-head')?.dataset.status === 'Degraded'""",
    "/search?q=sandbox": """() => document.querySelector(
                   '#results [data-object="Application/argocd/sandbox-experiments"]')
                   ?.dataset.status === 'Degraded'""",
}
# Pages that show nothing of it.
UNCHANGED = ["/n/demo/gitlab", "/o/demo/HelmRelease/bigbang/gitlab", "/search?q=gitlab&tool=flux"]

TOKEN = "() => document.querySelector('[data-live-since]').value"
SWAPS = "() => Number(document.body.dataset.liveSwaps || '0')"


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 300
    poll_cluster(demo_cluster)
    return demo_cluster


def test_a_stored_change_reaches_open_pages_and_leaves_the_others_alone(
    page, live_server, polled, demo
):
    context = page.context
    # Taken before any page renders: a page rendered in the next minute already carries it, and
    # counting from a later reading would miss a boundary crossed while the tabs load.
    minute = int(time.time() // 60)
    pages = {}
    for path in [*CHANGED, *UNCHANGED]:
        tab = page if not pages else context.new_page()
        tab.goto(live_server.url + path)
        tab.evaluate("window.__marker = 'same page'")
        pages[path] = tab
    assert all(tab.evaluate("document.visibilityState") == "visible" for tab in pages.values())
    tokens = {path: pages[path].evaluate(TOKEN) for path in UNCHANGED}

    demo.patch(
        "argoproj.io",
        "applications",
        "argocd",
        "sandbox-experiments",
        {"status": {"health": {"status": "Degraded", "message": "CrashLoopBackOff"}}},
    )
    poll_cluster(polled)

    for path, shows_it in CHANGED.items():
        pages[path].wait_for_function(shows_it, timeout=30_000)
        assert pages[path].evaluate("window.__marker") == "same page", f"{path}: reloaded"
        assert pages[path].evaluate(SWAPS) >= 1  # swapped in place: the counter counts
    for path in UNCHANGED:
        # The page has asked since the change (its token moved: the 204 carried the new one) ...
        pages[path].wait_for_function(f"() => ({TOKEN})() !== {tokens[path]!r}", timeout=30_000)
    crossed = int(time.time() // 60) - minute
    for path in UNCHANGED:
        # ... and was not re-rendered, except once per minute boundary crossed (relative times)
        assert pages[path].evaluate(SWAPS) <= crossed, path
    for tab in pages.values():
        assert tab.evaluate("window.__marker") == "same page"
    assert page.js_errors == []
