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
    "/o/demo/HelmRelease/bigbang/gitlab",
    "/o/demo/Application/argocd/portfolio",
    "/login",
    "/admin/login/",
]


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_REFRESH_SECONDS = 1
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
        # Let the 1 s refresh run at least once under the policy.
        watched.wait_for_timeout(1300)
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
        timeout=10_000,
    )
    assert watched.evaluate("window.__marker") == "same page"
    assert csp_errors(watched) == []
    assert [line for line in watched.console if line.startswith("error")] == []


def test_polling_pauses_while_the_tab_is_hidden(watched, live_server, polled):
    polls: list[str] = []
    watched.on(
        "request",
        lambda request: (
            polls.append(request.url) if request.headers.get("hx-request") == "true" else None
        ),
    )
    watched.goto(live_server.url + "/n/demo/gitlab")
    watched.wait_for_timeout(2500)
    assert polls, "visible: polls every second"

    watched.evaluate(
        """() => {
          Object.defineProperty(
            document, "visibilityState", {value: "hidden", configurable: true}
          );
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    watched.wait_for_timeout(300)
    polls.clear()
    watched.wait_for_timeout(2500)
    assert polls == [], "hidden: no requests"

    watched.evaluate(
        """() => {
          Object.defineProperty(
            document, "visibilityState", {value: "visible", configurable: true}
          );
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    watched.wait_for_timeout(2500)
    assert polls, "visible again: polling resumes"
    assert csp_errors(watched) == []


def test_the_admin_works_under_the_policy(watched, live_server, polled, django_user_model):
    django_user_model.objects.create_superuser("admin", "admin@example.com", "correct-horse-9")
    watched.goto(live_server.url + "/admin/login/")
    watched.fill("input[name=username]", "admin")
    watched.fill("input[name=password]", "correct-horse-9")
    watched.click("input[type=submit]")
    watched.wait_for_url("**/admin/")
    for path in [
        "/admin/",
        "/admin/clusters/cluster/",
        f"/admin/clusters/cluster/{polled.pk}/change/",
        "/admin/dashboard/apitoken/",
        "/admin/clusters/gitopsobject/",
    ]:
        response = watched.goto(live_server.url + path)
        assert response.status == 200, path
        watched.wait_for_load_state("networkidle")
        assert csp_errors(watched) == [], path
    assert watched.js_errors == []
