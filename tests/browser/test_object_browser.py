"""The object page in real headless Chromium: the reason first, links along the dependency chain,
and a live refresh that keeps what the reader opened."""

from __future__ import annotations

import pytest

from clusters.poll import poll_cluster
from dashboard.object_views import object_url

pytestmark = pytest.mark.browser


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 1000
    poll_cluster(demo_cluster)
    return demo_cluster


def test_from_the_reason_to_the_source_by_clicking(page, live_server, polled):
    page.goto(live_server.url + object_url("demo", "HelmRelease", "bigbang", "gitlab"))

    headline = page.locator("[data-headline]")
    assert headline.is_visible()
    text = headline.inner_text()
    assert "HelmRelease bigbang/gitlab is Degraded: UpgradeFailed — Helm upgrade failed" in text
    assert "remediation: Helm rollback" in text
    # the sentence comes before any table on the screen
    first_table = page.locator("table").first.bounding_box()
    assert headline.bounding_box()["y"] < first_table["y"]

    source = page.locator('ul[data-direction="upstream"] li[data-kind="GitRepository"]')
    assert "source" in source.inner_text() and "Healthy" in source.inner_text()
    source.locator("a").click()
    page.wait_for_url("**" + object_url("demo", "GitRepository", "bigbang", "gitlab"))
    assert "GitRepository" in page.locator(".obj-head__kind").inner_text()
    assert page.locator("h1").inner_text() == "bigbang/gitlab"
    # and back down the chain: the HelmRelease that uses it
    downstream = page.locator('ul[data-direction="downstream"] li[data-kind="HelmRelease"]')
    assert "bigbang/gitlab" in downstream.first.inner_text()
    assert page.js_errors == []


def test_the_page_refreshes_in_place_and_keeps_open_details(page, live_server, polled, demo):
    page.goto(live_server.url + object_url("demo", "HelmRelease", "bigbang", "gitlab"))
    page.evaluate("window.__marker = 'same page'")
    details = page.locator('details[data-key="cond-Released"]')
    details.locator("summary").click()
    assert details.get_attribute("open") is not None

    conditions = demo.get("helm.toolkit.fluxcd.io", "helmreleases", "bigbang", "gitlab")["status"][
        "conditions"
    ]
    released = next(c for c in conditions if c["type"] == "Released")
    ready = {**released, "type": "Ready", "status": "True", "reason": "InstallSucceeded"}
    ready["message"] = "Helm install succeeded for release gitlab/gitlab.v10"
    demo.patch_status(
        "helm.toolkit.fluxcd.io",
        "helmreleases",
        "bigbang",
        "gitlab",
        {"conditions": [ready, released]},
    )
    poll_cluster(polled)

    page.wait_for_function(
        "() => document.querySelector('[data-object]')?.dataset.status === 'Healthy'",
        timeout=60_000,
    )
    assert page.evaluate("window.__marker") == "same page", "updated in place, no reload"
    assert page.locator('details[data-key="cond-Released"]').get_attribute("open") is not None
    assert "is OutOfSync" in page.locator("[data-headline]").inner_text()
    assert page.js_errors == []
