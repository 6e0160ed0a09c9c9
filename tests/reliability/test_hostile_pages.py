"""Hostile text from the cluster, checked in the HTML every page sends (no browser needed; the
Chromium test in tests/browser/test_hostile_text_browser.py checks that nothing runs).

Every page that shows the hostile objects answers 200, never contains a payload unescaped, never
links to a ``javascript:`` URL, and stays bounded when a condition message is 1 MB.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from clusters.models import ManagedResource, NamespaceRollup
from clusters.poll import poll_cluster
from tests.reliability.hostile import (
    ALERT_IMG,
    ATTRIBUTE_BREAK,
    CLOSE_SCRIPT,
    HUGE_APP,
    JS_URL,
    LONG_NAMESPACE,
    hostile_objects,
)

pytestmark = pytest.mark.django_db

MAX_PAGE_BYTES = 300_000
UNESCAPED = ("<img src=x", "<script>alert", "<svg onload", '"><svg', "'><script>")
JS_LINK = re.compile(r"""(?:href|src|action|formaction|hx-get)\s*=\s*["']?\s*javascript:""", re.I)


def pages() -> list[str]:
    return [
        "/",
        "/?cluster=demo",
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
        "/ownership?code=TW006",
        "/scorecard",
        "/controllers",
        "/clusters/demo/controllers",
        "/search?q=hostile",
        f"/search?q={quote(ALERT_IMG)}",
        "/search?q=AAAAAAAA",
        "/search?status=Degraded",
    ]


@pytest.fixture
def hostile(demo, demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    for obj in hostile_objects():
        demo.apply(obj)
    run = poll_cluster(demo_cluster)
    assert run.ok, (run.error, run.errors)
    return demo_cluster


@pytest.mark.parametrize("path", pages())
def test_every_page_escapes_hostile_text(hostile, client, path):
    response = client.get(path)

    assert response.status_code == 200, path
    body = response.content.decode()
    assert len(response.content) < MAX_PAGE_BYTES, f"{path}: {len(response.content)} bytes"
    for payload in UNESCAPED:
        assert payload not in body, f"{path} contains {payload!r} unescaped"
    assert not JS_LINK.search(body), f"{path} links to a javascript: URL"


def test_the_hostile_text_is_shown_as_text(hostile, client):
    """Escaped, not dropped: an operator must still read what the cluster says."""
    page = client.get("/o/demo/Application/argocd/hostile-app").content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "javascript:alert(1)" in page  # as text, e.g. the repoURL
    page = client.get("/o/demo/Kustomization/flux-system/hostile").content.decode()
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_one_megabyte_message_is_truncated_for_display(hostile, client):
    for path in ("/", "/n/demo/demo-apps", f"/o/demo/Application/argocd/{HUGE_APP}"):
        response = client.get(path)
        assert response.status_code == 200
        assert len(response.content) < MAX_PAGE_BYTES, f"{path}: {len(response.content)}"
    api = client.get(f"/api/v1/objects/demo/Application/argocd/{HUGE_APP}")
    assert api.status_code == 200


def test_the_api_returns_hostile_text_verbatim_as_json(hostile, client):
    """JSON is data, not markup: the API keeps the text exact (and JSON-escaped)."""
    data = client.get("/api/v1/objects/demo/Application/argocd/hostile-app").json()
    assert data["source"]["repoURL"] == JS_URL
    assert {ref["name"] for ref in data["managedResources"]} == {ALERT_IMG, ATTRIBUTE_BREAK}
    namespaces = {row["namespace"] for row in client.get("/api/v1/namespaces").json()["namespaces"]}
    assert {ALERT_IMG, CLOSE_SCRIPT} <= namespaces


def test_names_longer_than_kubernetes_allows_are_cut_not_fatal(hostile, client):
    """An Argo CD destination namespace or a status.resources name is free text in the CR: a
    300-character one is cut to 253 (the longest Kubernetes name) instead of making PostgreSQL
    reject the poll."""
    cut = LONG_NAMESPACE[:253]
    assert NamespaceRollup.objects.filter(namespace=cut).exists()
    assert ManagedResource.objects.filter(name="r" * 253).exists()
    assert client.get(f"/n/demo/{cut}").status_code == 200
