"""The ownership page and the scorecard in real headless Chromium with the demo data."""

from __future__ import annotations

import pytest

from clusters.poll import poll_cluster

pytestmark = pytest.mark.browser


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db):
    poll_cluster(demo_cluster)
    return demo_cluster


def test_ownership_page_renders_violations_and_filters_live(page, live_server, polled):
    page.goto(live_server.url + "/ownership")

    summary = page.locator(".summary")
    assert "4 ownership violations" in summary.inner_text()
    codes = page.locator("li[data-code]").evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes[0] == "TW002", "critical first"
    assert set(codes) == {"TW001", "TW002", "TW003", "TW006"}

    page.locator("li[data-code=TW002] summary").click()
    assert page.locator("li[data-code=TW002] .links a").first.is_visible()

    page.select_option("select[name=code]", "TW006")
    page.wait_for_url("**/ownership?*code=TW006*")
    page.wait_for_function("document.querySelectorAll('li[data-code]').length === 1")
    assert page.locator("li[data-code]").get_attribute("data-namespace") == "sandbox"
    assert page.js_errors == []


def test_a_tool_filter_keeps_the_conflict_and_never_shows_a_false_all_clear(
    page, live_server, polled
):
    page.goto(live_server.url + "/ownership")
    page.select_option("select[name=tool]", "flux")
    page.wait_for_url("**/ownership?*tool=flux*")
    page.wait_for_function("document.querySelector('li[data-code=TW002]') !== null")
    page.select_option("select[name=code]", "TW003")  # Argo CD's: nothing for Flux
    page.wait_for_url("**/ownership?*code=TW003*")
    page.wait_for_function("document.querySelector('.summary--filtered') !== null")
    summary = page.locator(".summary").inner_text()
    assert "No violations match tool=flux, code=TW003" in summary
    assert "4 violations in total" in summary and "No ownership violations" not in summary
    page.locator(".summary a", has_text="Clear the filters").click()
    page.wait_for_url(live_server.url + "/ownership")
    assert page.locator("li[data-code]").count() == 4
    assert page.js_errors == []


def test_a_violation_links_to_the_object_that_causes_it(page, live_server, polled):
    page.goto(live_server.url + "/ownership?code=TW001")
    page.locator("li[data-code=TW001] summary").click()
    page.locator("li[data-code=TW001] .links a").first.click()
    page.wait_for_url("**/o/demo/Application/argocd/portfolio")
    assert "portfolio" in page.locator("h1").inner_text()


def test_scorecard_shows_pass_and_fail(page, live_server, polled):
    page.goto(live_server.url + "/scorecard")
    states = page.locator("tr[data-state]").evaluate_all("els => els.map(e => e.dataset.state)")
    assert "pass" in states and "fail" in states
