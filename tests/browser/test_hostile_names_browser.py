"""Names no route could reverse (tests/reliability/hostile_names.py), followed by real Chromium:
the browser must not resolve a dot segment away, turn a backslash into a slash or cut a "?" or
"#" out of the path, and every link must open the page of the object or namespace it names."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from django.urls import resolve

from clusters.models import GitOpsObject, NamespaceRollup
from clusters.poll import poll_cluster
from tests.reliability.hostile_names import DESTINATIONS, NAMES, hostile_name_objects

pytestmark = pytest.mark.browser

LINKS = """els => els.map(e => [e.getAttribute("href"), e.href])"""


@pytest.fixture
def named(demo, demo_cluster, live_server, transactional_db):
    for obj in hostile_name_objects():
        demo.apply(obj)
    run = poll_cluster(demo_cluster)
    assert run.ok, (run.error, run.errors)
    return demo_cluster


def test_chromium_opens_the_page_of_every_linked_object_and_namespace(named, page, live_server):
    objects = set(GitOpsObject.objects.values_list("kind", "namespace", "name"))
    namespaces = set(NamespaceRollup.objects.values_list("namespace", flat=True))
    hrefs: dict[str, str] = {}
    for start in ("/", "/search?cluster=demo&kind=Application", "/ownership"):
        page.goto(live_server.url + start)
        for raw, absolute in page.eval_on_selector_all('a[href^="/o/"], a[href^="/n/"]', LINKS):
            hrefs[raw] = absolute

    reached_objects, reached_namespaces = set(), set()
    for raw, absolute in sorted(hrefs.items()):
        # What the browser will request is exactly what the page says.
        assert urlsplit(absolute).path == raw, (raw, absolute)
        response = page.goto(absolute)
        assert response.status == 200, raw
        match = resolve(unquote(urlsplit(page.url).path))
        if match.url_name == "object":
            key = (match.kwargs["kind"], match.kwargs["namespace"], match.kwargs["name"])
            assert key in objects, raw
            reached_objects.add(key)
        else:
            assert match.kwargs["namespace"] in namespaces, raw
            reached_namespaces.add(match.kwargs["namespace"])
    assert {("Application", ns, name) for ns, name in NAMES} <= reached_objects
    assert set(DESTINATIONS) <= reached_namespaces
    assert not page.js_errors
