"""From "something is red" to the cause, in real Chromium: three clicks, then a dependency."""

from __future__ import annotations

import pytest

from clusters.poll import poll_cluster

pytestmark = pytest.mark.browser


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db):
    poll_cluster(demo_cluster)
    return demo_cluster


def test_overview_to_namespace_to_object_to_its_source(page, live_server, polled):
    page.goto(live_server.url + "/")
    page.locator('tr[data-namespace="gitlab"] a.ns').click()  # 1
    page.wait_for_url("**/n/demo/gitlab")
    assert "is Degraded" in page.locator(".summary").inner_text()

    page.locator('tr[data-object="HelmRelease/bigbang/gitlab"] a').click()  # 2
    page.wait_for_url("**/o/demo/HelmRelease/bigbang/gitlab")
    assert "UpgradeFailed" in page.locator("body").inner_text()

    upstream = page.locator('a[href="/o/demo/GitRepository/bigbang/gitlab"]').first  # 3
    upstream.click()
    page.wait_for_url("**/o/demo/GitRepository/bigbang/gitlab")
    assert "gitlab" in page.locator("h1").inner_text()
    assert page.js_errors == []


def test_search_filters_live_and_keeps_them_in_the_url(page, live_server, polled):
    page.goto(live_server.url + "/")
    page.keyboard.press("/")
    page.wait_for_url("**/search")

    page.fill("input[name=q]", "gitlab")
    page.wait_for_url("**/search?*q=gitlab*")
    page.wait_for_function(
        "document.querySelector('tr[data-object=\"HelmRelease/bigbang/gitlab\"]') !== null"
    )
    page.select_option("select[name=status]", "Degraded")
    page.wait_for_url("**status=Degraded*")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#results tr[data-status]'))"
        ".every(r => r.dataset.status === 'Degraded')"
    )
    rows = page.locator("#results tr[data-object]").evaluate_all(
        "rs => rs.map(r => r.dataset.object)"
    )
    assert rows == ["HelmRelease/bigbang/gitlab"]

    # the URL is shareable: opening it again gives the same filtered page
    page.goto(page.url)
    assert page.locator("select[name=status]").input_value() == "Degraded"
    assert page.locator("#results tr[data-object]").count() == 1
