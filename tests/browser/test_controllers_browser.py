"""The Controllers view in real headless Chromium: versions, the skew flag, a live change."""

from __future__ import annotations

import pytest

from clusters.models import Workload
from clusters.poll import poll_cluster
from clusters.store.version import bump
from tests.builders import argocd_install, flux_install, stored_cluster

pytestmark = pytest.mark.browser


@pytest.fixture
def fleet(demo_cluster, live_server, transactional_db):
    """The demo (Flux v2.9.4, polled) and a stored cluster one Flux release behind."""
    poll_cluster(demo_cluster)
    staging = stored_cluster("staging")
    flux_install(staging, "v2.8.1")
    argocd_install(staging)
    return staging


def test_versions_side_by_side_with_the_skew_flagged(page, live_server, fleet):
    page.goto(live_server.url + "/controllers")
    summary = page.locator("[data-skew]").first.inner_text()
    assert "Flux source-controller: v2.9.4 on demo; v2.8.1 on staging." in summary
    source = page.locator('tr[data-component="flux/source-controller"]')
    assert source.get_attribute("class") == "row--warn"
    assert source.locator("code").all_inner_texts() == ["v2.9.4", "v2.8.1"]
    assert "skew" in source.locator(".badge").inner_text()
    page.locator('th[data-cluster="demo"] a').click()
    page.wait_for_url("**/clusters/demo/controllers")
    versions = page.locator('tr[data-component="helm-controller"] code').all_inner_texts()
    assert versions == ["v2.9.4"]
    assert page.js_errors == []


def test_the_controllers_page_updates_live(page, live_server, fleet, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 300
    page.goto(live_server.url + "/clusters/staging/controllers")
    assert page.locator("[data-findings]").get_attribute("class") == "summary summary--ok"
    Workload.objects.filter(cluster=fleet, name="argocd-repo-server").update(ready=0)
    bump()
    page.wait_for_function(
        "() => document.querySelector('[data-finding=\"not-ready\"]') !== null", timeout=30_000
    )
    assert (
        "argocd/argocd-repo-server has 0 of 1 replicas ready."
        in page.locator("[data-finding=not-ready]").inner_text()
    )
    assert page.js_errors == []
