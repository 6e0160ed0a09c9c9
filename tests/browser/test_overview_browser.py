"""The overview in real headless Chromium: rows, the reason sentence, and live refresh."""

from __future__ import annotations

import pytest

from clusters.poll import poll_cluster
from tests.builders import ADR_NAMESPACES

pytestmark = pytest.mark.browser


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 1000
    poll_cluster(demo_cluster)
    return demo_cluster


def test_overview_shows_namespaces_owners_and_why_red(page, live_server, polled):
    page.goto(live_server.url + "/")

    rows = page.locator("tr[data-namespace]")
    namespaces = set(rows.evaluate_all("rows => rows.map(r => r.dataset.namespace)"))
    assert namespaces >= ADR_NAMESPACES
    gitlab = page.locator('tr[data-namespace="gitlab"]')
    assert "Flux" in gitlab.inner_text() and "Degraded" in gitlab.inner_text()
    assert "Argo CD" in page.locator('tr[data-namespace="portfolio"]').inner_text()
    summary = page.locator(".summary")
    assert summary.is_visible() and "UpgradeFailed" not in summary.inner_text()
    # The critical ownership conflict (monitoring's objects are all Healthy) is named first,
    # and its row is red like gitlab's Degraded one.
    assert "monitoring" in summary.inner_text() and "TW002 (critical)" in summary.inner_text()
    for namespace in ("monitoring", "gitlab"):
        row = page.locator(f'tr[data-namespace="{namespace}"]')
        assert row.get_attribute("data-attention") == "bad"
        stripe = row.locator("td").first.evaluate("td => getComputedStyle(td).boxShadow")
        assert "inset" in stripe
    # htmx came from the bundled static file, not a CDN
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.js_errors == []


def test_a_change_in_the_cluster_appears_without_reload(page, live_server, polled, demo):
    page.goto(live_server.url + "/")
    page.evaluate("window.__marker = 'same page'")
    portfolio = page.locator('tr[data-namespace="portfolio"]')
    assert "Healthy" in portfolio.inner_text()

    demo.patch(
        "argoproj.io",
        "applications",
        "argocd",
        "portfolio",
        {"status": {"health": {"status": "Degraded", "message": "Deployment web: 0/3 ready"}}},
    )
    poll_cluster(polled)

    page.wait_for_function(
        """() => document.querySelector('tr[data-namespace="portfolio"]')
                 ?.dataset.status === 'Degraded'""",
        timeout=60_000,
    )
    assert page.evaluate("window.__marker") == "same page", "updated in place, no reload"
    assert (
        "Deployment web: 0/3 ready" in page.locator('tr[data-namespace="portfolio"]').inner_text()
    )
