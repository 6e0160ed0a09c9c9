"""Live updates (dashboard/changes.py): an open page polls every second; it costs one query while
the store is still, a few when the store moved elsewhere, and a render only when what the page
shows changed."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from clusters.models import KindState
from clusters.poll import poll_cluster
from clusters.store.version import current
from dashboard.changes import HEADER

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ARGO = "argoproj.io"

# (page, scope): "sandbox" pages show the sandbox-experiments Application, "gitlab" pages do not.
PAGES = [
    ("/", "sandbox"),
    ("/?cluster=demo", "sandbox"),
    ("/n/demo/sandbox", "sandbox"),
    ("/n/demo/gitlab", "gitlab"),
    ("/o/demo/Application/argocd/sandbox-experiments", "sandbox"),
    ("/o/demo/HelmRelease/bigbang/gitlab", "gitlab"),
    ("/search?q=sandbox", "sandbox"),
    ("/search?q=gitlab&tool=flux", "gitlab"),
]


def token_of(html: str) -> str:
    return re.search(r'name="since" value="([^"]+)" data-live-since', html).group(1)


def open_page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return token_of(response.content.decode())


def refresh(client, url: str, token: str):
    sep = "&" if "?" in url else "?"
    return client.get(f"{url}{sep}since={token}", headers=HTMX)


def degrade_sandbox(demo, polled) -> None:
    demo.patch(
        ARGO,
        "applications",
        "argocd",
        "sandbox-experiments",
        {"status": {"health": {"status": "Degraded", "message": "CrashLoopBackOff"}}},
    )
    poll_cluster(polled)


@pytest.mark.parametrize("url", [url for url, _ in PAGES])
def test_an_idle_check_is_one_query(client, polled, url, django_assert_num_queries):
    token = open_page(client, url)

    with django_assert_num_queries(1):  # the store version, by primary key
        response = refresh(client, url, token)

    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(("url", "scope"), PAGES)
def test_a_change_re_renders_only_the_pages_that_show_it(
    client, polled, demo, url, scope, django_assert_max_num_queries
):
    token = open_page(client, url)
    degrade_sandbox(demo, polled)

    if scope == "sandbox":
        response = refresh(client, url, token)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Degraded" in html and token_of(html) != token
    else:
        # The store moved, this page did not: no render (the version, a few fingerprint
        # queries); the page carries the new token and its next check is one query again.
        cache.clear()  # as if this were the first tab of the page to ask
        with django_assert_max_num_queries(8):
            response = refresh(client, url, token)
        assert response.status_code == 204 and response.content == b""
        moved = response[HEADER]
        assert moved != token
        with django_assert_max_num_queries(1):
            assert refresh(client, url, moved).status_code == 204


def test_a_browser_navigation_always_gets_the_page(client, polled):
    token = open_page(client, "/n/demo/gitlab")
    assert client.get(f"/n/demo/gitlab?since={token}").status_code == 200


def test_an_unchanged_re_poll_leaves_every_page_unrendered(client, polled):
    tokens = {url: open_page(client, url) for url, _ in PAGES}
    poll_cluster(polled)  # writes kind states (attempt times): the version moves, no page does

    for url, token in tokens.items():
        response = refresh(client, url, token)
        assert response.status_code == 204, url


def test_a_new_minute_redraws_every_page_once(client, polled, monkeypatch):
    """Relative times ("2 min ago") move with the clock: the next minute re-renders a page
    whose store did not change, once."""
    from dashboard import changes

    tokens = {url: open_page(client, url) for url, _ in PAGES}
    monkeypatch.setattr(changes, "clock_minute", lambda: "202601010001")
    for url, token in tokens.items():
        response = refresh(client, url, token)
        assert response.status_code == 200, url
        assert refresh(client, url, token_of(response.content.decode())).status_code == 204, url


def test_a_kind_failing_reaches_every_page_that_shows_staleness(client, polled, demo):
    """The overview's cluster card, the namespace and object pages' stale notices; search
    results show none, so they are left alone."""
    tokens = {url: open_page(client, url) for url, _ in PAGES}
    demo.set_fault("applications", status=403)
    poll_cluster(polled)
    assert KindState.objects.get(kind="Application").state == KindState.ERROR

    for url, token in tokens.items():
        expected = 204 if url.startswith("/search") else 200
        assert refresh(client, url, token).status_code == expected, url


def test_a_deleted_object_reaches_its_page(client, polled, demo):
    url = "/o/demo/Application/argocd/sandbox-experiments"
    token = open_page(client, url)
    demo.delete(ARGO, "applications", "argocd", "sandbox-experiments")
    poll_cluster(polled)

    response = refresh(client, url, token)

    assert response.status_code == 200 and "removed from the cluster" in response.content.decode()


def test_every_store_write_moves_the_version(polled, demo):
    """Whatever wrote it (poll or watch), a write the pages show moves the version: objects,
    transitions, events, roll-ups, kind states, cluster errors."""
    steps = [
        lambda: degrade_sandbox(demo, polled),
        lambda: (demo.set_fault("helmreleases", status=403), poll_cluster(polled)),
        lambda: (demo.stop(), poll_cluster(polled)),
    ]
    for step in steps:
        before = current()
        step()
        assert current() > before


@pytest.mark.parametrize("url", [url for url, scope in PAGES if scope == "sandbox"])
def test_many_tabs_of_one_page_cost_one_render_per_change(
    client, polled, demo, url, django_assert_max_num_queries
):
    token = open_page(client, url)  # every tab of this page holds the same token
    degrade_sandbox(demo, polled)
    first = refresh(client, url, token)
    assert first.status_code == 200

    # The version (and a cluster filter's check); the fingerprint and the part are cached.
    with django_assert_max_num_queries(2 if "cluster=" in url else 1):
        again = refresh(client, url, token)

    assert again.status_code == 200 and again.content == first.content
