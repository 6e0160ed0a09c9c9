"""Names and namespaces from the cluster that no route could reverse (tests/reliability/
hostile_names.py): every page answers 200, and every link leads to the page of that very object
or namespace, as a browser would follow it.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, urlsplit

import pytest
from django.template import Context, Template
from django.urls import resolve

from clusters.models import GitOpsObject, NamespaceRollup
from clusters.poll import poll_cluster
from dashboard import links
from tests.reliability.hostile_names import (
    DESTINATIONS,
    FLUX_TARGET,
    LONG_DESTINATION,
    NAMES,
    RESOURCE_NAMESPACE,
    hostile_name_objects,
)

pytestmark = pytest.mark.django_db

HREF = re.compile(r"""(?:href|hx-get)="([^"]*)\"""")
# A browser resolves these segments away (WHATWG URL: "." ".." and their %2e spellings).
DOT_SEGMENT = re.compile(r"^(?:\.|%2e){1,2}$", re.I)
START_PAGES = (
    "/",
    "/?cluster=demo",
    "/ownership",
    "/ownership?cluster=demo",
    "/scorecard",
    "/search",
    "/search?cluster=demo&kind=Application",
    "/search?q=app",
)
API = (
    "/api/v1/clusters",
    "/api/v1/namespaces",
    "/api/v1/objects?page_size=500",
    "/api/v1/violations",
    "/api/v1/scorecard",
)


@pytest.fixture
def named(demo, demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    for obj in hostile_name_objects():
        demo.apply(obj)
    run = poll_cluster(demo_cluster)
    assert run.ok, (run.error, run.errors)
    return demo_cluster


def stored_objects() -> set[tuple[str, str, str]]:
    return set(GitOpsObject.objects.values_list("kind", "namespace", "name"))


def stored_namespaces() -> set[str]:
    return set(NamespaceRollup.objects.values_list("namespace", flat=True))


def page_links(body: str) -> list[str]:
    """Links to object and namespace pages, as a browser reads them from the HTML."""
    found = [html.unescape(h) for h in HREF.findall(body)]
    return [h for h in found if h.startswith(("/o/", "/n/"))]


def follow(client, href: str):
    """Request ``href`` as a browser would: it must not resolve dot segments away or cut a
    query or fragment out of the path; the server decodes the path once."""
    parts = urlsplit(href)
    segments = parts.path.split("/")
    assert not any(DOT_SEGMENT.match(s) for s in segments), f"{href!r}: dot segment"
    assert not re.search(r"[\s\x00-\x1f]", href), f"{href!r}: unencoded space or control"
    return client.get(parts.path), resolve(unquote(parts.path))


def test_the_hostile_names_were_stored(named):
    """The premise: the names reached the store as the cluster sent them."""
    namespaces = stored_namespaces()
    assert set(DESTINATIONS) | {FLUX_TARGET, RESOURCE_NAMESPACE} <= namespaces
    objects = stored_objects()
    assert {("Application", ns, name) for ns, name in NAMES} <= objects


@pytest.mark.parametrize("path", START_PAGES + API)
def test_every_page_answers(named, client, path):
    assert client.get(path).status_code == 200, path


def test_every_namespace_and_object_page_answers(named, client):
    failures = []
    for namespace in stored_namespaces():
        url = links.namespace_url("demo", namespace)
        if url is None or client.get(url).status_code != 200:
            failures.append(("namespace", namespace, url))
    for kind, namespace, name in stored_objects():
        for url in (
            links.object_url("demo", kind, namespace, name),
            links.api_object_url("demo", kind, namespace, name),
        ):
            if url is None or client.get(url).status_code != 200:
                failures.append((kind, namespace, name, url))
    assert not failures


def test_every_link_leads_to_the_page_of_that_very_object_or_namespace(named, client):
    objects, namespaces = stored_objects(), stored_namespaces()
    reached_objects: set[tuple[str, str, str]] = set()
    reached_namespaces: set[str] = set()
    seen: set[str] = set()
    queue = list(START_PAGES)
    # Start pages, then one level down: every namespace and object page they link to, whose
    # own links (breadcrumbs, dependencies, sources, refresh) are followed too.
    for depth in (0, 1):
        next_queue = []
        for path in queue:
            body = client.get(path).content.decode()
            for href in page_links(body):
                if href in seen:
                    continue
                seen.add(href)
                response, match = follow(client, href)
                assert response.status_code == 200, href
                if match.url_name == "object":
                    key = (match.kwargs["kind"], match.kwargs["namespace"], match.kwargs["name"])
                    shown = response.context["page"].obj
                    assert (shown.kind, shown.namespace, shown.name) == key, href
                    assert key in objects, href
                    reached_objects.add(key)
                else:
                    assert match.url_name == "namespace", href
                    assert response.context["rollup"].namespace == match.kwargs["namespace"]
                    assert match.kwargs["namespace"] in namespaces, href
                    reached_namespaces.add(match.kwargs["namespace"])
                if depth == 0:
                    next_queue.append(urlsplit(href).path)
        queue = next_queue
    assert {("Application", ns, name) for ns, name in NAMES} <= reached_objects
    hostile = set(DESTINATIONS) | {FLUX_TARGET, RESOURCE_NAMESPACE, LONG_DESTINATION}
    assert hostile & namespaces <= reached_namespaces


def test_the_ownership_page_links_objects_whose_key_has_a_slash_in_namespace_or_name(named, client):
    """TW005 on the ConfigMap every NAMES Application claims lists "Application/team/x/app" and
    "Application/argocd/slash/app": split at the first two "/" they would name other objects."""
    body = client.get("/ownership?code=TW005").content.decode()
    reached = set()
    for href in page_links(body):
        response, match = follow(client, href)
        assert response.status_code == 200, href
        if match.url_name == "object":
            reached.add((match.kwargs["kind"], match.kwargs["namespace"], match.kwargs["name"]))
    assert {("Application", ns, name) for ns, name in NAMES} <= reached


def test_api_urls_lead_to_the_same_object(named, client):
    rows = client.get("/api/v1/objects?page_size=500").json()["objects"]
    assert {("Application", ns, name) for ns, name in NAMES} <= {
        (o["kind"], o["namespace"], o["name"]) for o in rows
    }
    for row in rows:
        detail = client.get(row["url"])
        assert detail.status_code == 200, row["url"]
        data = detail.json()
        assert (data["kind"], data["namespace"], data["name"]) == (
            row["kind"],
            row["namespace"],
            row["name"],
        )


def test_a_link_too_long_for_a_url_is_shown_as_text_with_a_note(named, client, settings):
    settings.TIDEWATCH_MAX_LINK_LENGTH = 200
    response = client.get("/?cluster=demo")
    assert response.status_code == 200
    body = response.content.decode()
    row = body[body.index(f'data-namespace="{LONG_DESTINATION}"') :][:2000]
    assert "data-unlinked" in row and "too long" in row
    assert f"/n/demo/{LONG_DESTINATION}" not in body


@pytest.mark.parametrize("value", ["", None, 7])
def test_an_empty_or_non_string_name_is_shown_unlinked(value):
    template = Template(
        "{% load tidewatch %}{% namespacelink 'demo' ns class='ns' %}{{ ns }}{% endnamespacelink %}"
        "{% objectlink 'demo' 'Application' 'argocd' ns %}x{% endobjectlink %}"
    )
    out = template.render(Context({"ns": value}))
    assert "<a " not in out and out.count("data-unlinked") == 2
    assert links.namespace_url("demo", value) is None


@pytest.mark.parametrize(
    "value",
    [*DESTINATIONS, *(name for _, name in NAMES), "%252F", "%", "%%", "a%2", "ä", "🙂", " "],
)
def test_any_string_round_trips_through_the_converter(value):
    url = links.namespace_url("demo", value)
    assert url is not None
    segment = url.rsplit("/", 1)[1]
    assert not DOT_SEGMENT.match(segment)
    assert resolve(unquote(url)).kwargs == {"cluster": "demo", "namespace": value}
