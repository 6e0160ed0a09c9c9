"""Hostile text from the cluster renders inert in real Chromium, on every page that shows it.

The demo cluster serves HTML and script in annotations, condition and Event messages, an Argo CD
repoURL of ``javascript:alert(1)``, destination namespaces and managed-resource names, and a
1 MB message (tests/reliability/hostile.py). The test fails if any dialog opens, if the silent
probe (``onerror="window.__pwned=1"``) ran, if the page reports a CSP violation (which is what
an injected inline handler or script would cause), if a ``javascript:`` link exists, or if a
page grows past 300 KB. HTMX swaps are covered too: a live overview refresh and a live search.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from clusters.poll import poll_cluster
from tests.browser.csp import RECORD_VIOLATIONS
from tests.reliability.hostile import ALERT_IMG, ALL, HUGE_APP, hostile_objects

pytestmark = pytest.mark.browser

MAX_PAGE_BYTES = 300_000
PAGES = [
    "/",
    "/n/demo/flux-system",
    "/n/demo/argocd",
    "/n/demo/demo-apps",
    f"/n/demo/{quote(ALERT_IMG, safe='')}",
    "/o/demo/Kustomization/flux-system/hostile",
    "/o/demo/GitRepository/flux-system/hostile-src",
    "/o/demo/Application/argocd/hostile-app",
    "/o/demo/Application/argocd/hostile-slash",
    f"/o/demo/Application/argocd/{HUGE_APP}",
    "/ownership",
    "/scorecard",
    f"/search?q={quote(ALERT_IMG)}",
    "/search?status=Degraded",
]


@pytest.fixture
def hostile(demo, demo_cluster, live_server, transactional_db, settings):
    settings.TIDEWATCH_LIVE_POLL_MS = 1000
    for obj in hostile_objects():
        demo.apply(obj)
    run = poll_cluster(demo_cluster)
    assert run.ok, (run.error, run.errors)
    return demo_cluster


@pytest.fixture
def watched(page):
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.add_init_script(RECORD_VIOLATIONS)
    page.dialogs = dialogs
    return page


def assert_inert(page, where: str) -> None:
    assert page.dialogs == [], f"{where}: a dialog opened: {page.dialogs}"
    assert page.evaluate("window.__pwned") is None, f"{where}: an injected handler ran"
    assert page.evaluate("window.__csp") == [], f"{where}: {page.evaluate('window.__csp')}"
    links = page.evaluate(
        """() => [...document.querySelectorAll('[href],[src],[action],[formaction]')]
               .map(e => e.getAttribute('href') || e.getAttribute('src')
                         || e.getAttribute('action') || e.getAttribute('formaction'))
               .filter(v => /^\\s*javascript:/i.test(v))"""
    )
    assert links == [], f"{where}: javascript: links {links}"
    assert page.js_errors == [], f"{where}: {page.js_errors}"


def test_every_page_renders_hostile_text_inert(watched, live_server, hostile):
    for path in PAGES:
        response = watched.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        body = response.body()
        assert len(body) < MAX_PAGE_BYTES, f"{path}: {len(body)} bytes"
        assert 'href="javascript:' not in body.decode().lower(), path
        assert watched.locator("main").first.is_visible(), f"{path} did not render"
        assert_inert(watched, path)

    # The payloads are shown as text, not dropped.
    watched.goto(live_server.url + "/o/demo/Application/argocd/hostile-app")
    assert ALERT_IMG in watched.locator("main").inner_text()
    assert "javascript:alert(1)" in watched.locator("main").inner_text()


def test_live_refresh_and_live_search_swap_in_hostile_text_inert(
    watched, live_server, hostile, demo
):
    watched.goto(live_server.url + "/")
    watched.evaluate("window.__marker = 'same page'")
    # New hostile text arrives through an HTMX swap of the overview (htmx runs <script> tags
    # in swapped content by default, so escaping is what stands between them and the page).
    demo.patch(
        "argoproj.io",
        "applications",
        "argocd",
        "portfolio",
        {"status": {"health": {"status": "Degraded", "message": f"swapped {ALL}"}}},
    )
    poll_cluster(hostile)
    watched.wait_for_function(
        """() => document.querySelector('tr[data-namespace="portfolio"]')
                 ?.dataset.status === 'Degraded'""",
        timeout=60_000,
    )
    assert watched.evaluate("window.__marker") == "same page", "updated in place"
    assert "swapped <img src=x" in watched.locator("#overview").inner_text()
    assert_inert(watched, "overview after an HTMX refresh")

    watched.goto(live_server.url + "/search")
    watched.fill("input[name=q]", ALERT_IMG)
    watched.wait_for_url("**/search?*q=*", timeout=60_000)
    watched.wait_for_function(
        "() => document.querySelector('#results')?.innerText.includes('hostile')",
        timeout=60_000,
    )
    assert_inert(watched, "live search")
