"""The strict Content-Security-Policy in real Chromium: no violation on any page, live refresh
still works, and polling pauses while the tab is hidden (static/js/tidewatch.js)."""

from __future__ import annotations

import pytest

from clusters.poll import poll_cluster
from tests.browser.csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/?cluster=demo",
    "/n/demo/gitlab",
    "/n/demo/portfolio",
    "/search?q=gitlab",
    "/ownership",
    "/scorecard",
    "/controllers",
    "/clusters/demo/controllers",
    "/o/demo/HelmRelease/bigbang/gitlab",
    "/o/demo/Application/argocd/portfolio",
    "/login",
    "/admin/login/",
]


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 1000
    poll_cluster(demo_cluster)
    return demo_cluster


@pytest.fixture
def watched(page):
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.add_init_script(RECORD_VIOLATIONS)
    page.console = console
    return page


def csp_errors(page) -> list[str]:
    logged = [
        line
        for line in page.console
        if "Content Security Policy" in line or "Content-Security-Policy" in line
    ]
    return logged + page.evaluate("window.__csp")


def test_no_page_violates_the_policy(watched, live_server, polled):
    for path in PAGES:
        response = watched.goto(live_server.url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        watched.wait_for_load_state("networkidle")
        # Where the page refreshes itself, see a refresh complete under the policy (counted in
        # the page: a fixed wait would pass without one on a loaded machine).
        if watched.locator("[hx-trigger^='every']").count():
            count_requests(watched)
            watched.wait_for_function("() => window.__twDone >= 1", timeout=REFRESHED)
        assert csp_errors(watched) == [], path
        if not path.startswith("/admin/"):
            assert watched.evaluate("typeof window.htmx") == "object", path
            assert watched.evaluate("htmx.config.allowEval") is False
    assert watched.js_errors == []


def test_the_overview_refreshes_under_the_policy(watched, live_server, polled, demo):
    watched.goto(live_server.url + "/")
    watched.evaluate("window.__marker = 'same page'")
    demo.patch(
        "argoproj.io",
        "applications",
        "argocd",
        "portfolio",
        {"status": {"health": {"status": "Degraded", "message": "Deployment web: 0/3 ready"}}},
    )
    poll_cluster(polled)
    watched.wait_for_function(
        """() => document.querySelector('tr[data-namespace="portfolio"]')
                 ?.dataset.status === 'Degraded'""",
        timeout=60_000,
    )
    assert watched.evaluate("window.__marker") == "same page"
    assert csp_errors(watched) == []
    assert [line for line in watched.console if line.startswith("error")] == []


def test_polling_pauses_while_the_tab_is_hidden(watched, live_server, polled):
    watched.goto(live_server.url + "/n/demo/gitlab")
    count_requests(watched)
    watched.wait_for_function("() => window.__twSent >= 2", timeout=REFRESHED)

    watched.evaluate(
        """() => {
          Object.defineProperty(
            document, "visibilityState", {value: "hidden", configurable: true}
          );
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    sent = watched.evaluate("window.__twSent")  # counted in the page: no event-delivery lag
    # At least two refresh periods (each 1 s) pass while hidden, seen from the page's own
    # clock: htmx's cancelled attempts are counted too, so this is not a guess about speed.
    watched.wait_for_function("() => window.__twCancelled >= 2", timeout=REFRESHED)
    assert watched.evaluate("window.__twSent") == sent, "hidden: no requests"

    watched.evaluate(
        """() => {
          Object.defineProperty(
            document, "visibilityState", {value: "visible", configurable: true}
          );
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    watched.wait_for_function(f"() => window.__twSent > {sent}", timeout=REFRESHED)
    assert csp_errors(watched) == []


# A refresh is due every second; this only bounds how long a loaded machine may take.
REFRESHED = 60_000


def count_requests(page) -> None:
    """Count, in the page, htmx requests sent, cancelled (tab hidden) and completed."""
    page.evaluate(
        """() => {
          window.__twSent = 0; window.__twCancelled = 0; window.__twDone = 0;
          document.addEventListener("htmx:beforeSend", () => window.__twSent++);
          document.addEventListener("htmx:afterRequest", () => window.__twDone++);
          // Registered after tidewatch.js's handler, so it sees that handler's verdict.
          document.addEventListener("htmx:beforeRequest", (event) => {
            if (event.defaultPrevented) window.__twCancelled++;
          });
        }"""
    )
