"""Layout in real Chromium: one breadcrumb trail with one separator on every page, and nothing
in the top bar or the search form that wraps or is cut, from a wide to a narrow window."""

from __future__ import annotations

import pytest

from clusters.poll import poll_cluster

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/?cluster=demo",
    "/n/demo/gitlab",
    "/search?q=gitlab",
    "/ownership",
    "/scorecard",
    "/controllers",
    "/clusters/demo/controllers",
    "/o/demo/HelmRelease/bigbang/gitlab",
    "/o/demo/HelmRelease/bigbang/not-stored",
    "/login",
]
WIDTHS = [1360, 900, 600]

CRUMBS = """() => {
  const navs = [...document.querySelectorAll('nav[aria-label="Breadcrumb"]')];
  return navs.map((nav) => ({
    cls: nav.className,
    items: [...nav.querySelectorAll("li")].map((li) => li.textContent.trim()),
    text: nav.textContent.trim(),
    separators: [...nav.querySelectorAll("li + li")].map(
      (li) => getComputedStyle(li, "::before").content
    ),
    current: nav.querySelector('[aria-current="page"]')?.textContent.trim() ?? null,
  }));
}"""

# Elements whose text must stay on one line: status badges, tool tags, top-bar links, the brand.
WRAPPED = """() => [...document.querySelectorAll(
    ".badge, .tool, .topnav a, .brand, .usermenu a, .usermenu button"
  )].filter((el) => {
    const size = parseFloat(getComputedStyle(el).fontSize);
    // One line is 1.5em plus padding; two lines are 3em or more.
    return el.getClientRects().length > 1 || el.getBoundingClientRect().height > 2.4 * size;
  }).map((el) => el.textContent.trim())"""

PLACEHOLDER_FITS = """() => {
  const box = document.querySelector("[data-search-box]");
  const style = getComputedStyle(box);
  const ctx = document.createElement("canvas").getContext("2d");
  ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const text = ctx.measureText(box.placeholder).width;
  const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return {text, room};
}"""


@pytest.fixture
def polled(demo_cluster, live_server, transactional_db):
    poll_cluster(demo_cluster)
    return demo_cluster


def test_every_page_has_one_breadcrumb_trail_with_one_separator(page, live_server, polled):
    for path in PAGES:
        page.goto(live_server.url + path)
        (nav,) = page.evaluate(CRUMBS)
        assert nav["cls"] == "crumbs", path
        assert nav["items"][0] == "Overview", path
        assert nav["current"] == nav["items"][-1], path
        # The separator is drawn by the stylesheet only: none in the text itself.
        assert nav["text"].replace(" ", "").replace("\n", "") == "".join(nav["items"]).replace(
            " ", ""
        ), path
        assert set(nav["separators"]) <= {'"›"'}, path
        assert len(nav["separators"]) == len(nav["items"]) - 1, path
    page.goto(live_server.url + "/o/demo/HelmRelease/bigbang/gitlab")
    assert page.evaluate(CRUMBS)[0]["items"] == [
        "Overview",
        "demo",
        "bigbang",
        "HelmRelease gitlab",
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_wraps_and_the_search_placeholder_is_whole(
    page, live_server, polled, width, tmp_path
):
    page.set_viewport_size({"width": width, "height": 800})
    for path in ("/search", "/", "/o/demo/HelmRelease/bigbang/gitlab", "/ownership"):
        page.goto(live_server.url + path)
        assert page.evaluate(WRAPPED) == [], (width, path)
    page.goto(live_server.url + "/search")
    fit = page.evaluate(PLACEHOLDER_FITS)
    assert fit["text"] <= fit["room"], (width, fit)
    # Kept for a human look when this fails (pytest keeps the last runs' tmp_path).
    page.screenshot(path=str(tmp_path / f"search-{width}.png"))
