"""Pages stay bounded: a giant object or report renders one page of each list, with its true
count and a link to the next page, and the work per request does not grow with it.

Caps are set small here (settings), and the objects are grown past them through the demo
cluster and a real poll.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clusters.demo.scenario import event, inventory_id
from clusters.poll import poll_cluster
from dashboard.object_views import object_url
from tests.builders import extra_application

pytestmark = pytest.mark.django_db

KUSTOMIZE = "kustomize.toolkit.fluxcd.io"
HELM = "helm.toolkit.fluxcd.io"
ARGO = "argoproj.io"
ROWS = 5
RAW_BYTES = 8_000


@pytest.fixture
def small_pages(settings):
    settings.TIDEWATCH_PAGE_ROWS = ROWS
    settings.TIDEWATCH_PAGE_EVENTS = 3
    settings.TIDEWATCH_PAGE_TRANSITIONS = 1
    settings.TIDEWATCH_PAGE_RAW_BYTES = RAW_BYTES


def get(client, url: str, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def grow_kustomization(demo, n: int) -> None:
    """flux-system/infrastructure: n more conditions and n inventory entries."""
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "ReconciliationSucceeded",
        "message": "Applied revision: main@sha1:abc",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    checks = [
        {
            "type": f"Check{i:05d}",
            "status": "True",
            "reason": "Fine",
            "message": f"check {i:05d} " + "x" * 200,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
        for i in range(n)
    ]
    entries = [
        {"id": inventory_id("apps", f"cm-{i:05d}", "", "ConfigMap"), "v": "v1"} for i in range(n)
    ]
    demo.patch_status(
        KUSTOMIZE,
        "kustomizations",
        "flux-system",
        "infrastructure",
        {"conditions": [ready, *checks], "inventory": {"entries": entries}},
    )


def test_a_giant_object_shows_one_page_of_each_list_with_the_true_count(
    client, polled, demo, small_pages
):
    url = object_url("demo", "Kustomization", "flux-system", "infrastructure")
    grow_kustomization(demo, 40)
    poll_cluster(polled)
    with CaptureQueriesContext(connection) as forty:
        html = get(client, url)

    assert len(re.findall(r"<tr data-condition=", html)) == ROWS
    assert "Showing 1–5 of 41 conditions." in html
    assert len(re.findall(r"<tr data-resource=", html)) == ROWS
    assert "Showing 1–5 of 40 resources (those needing attention first)." in html
    # the raw object is over its limit: said, not loaded
    assert "data-raw-too-large" in html and "TIDEWATCH_PAGE_RAW_BYTES" in html
    assert "check 00039" not in html

    # the next page of one section; the other sections stay where they are
    link = re.search(r'href="(\?conditions_page=2#conditions)" rel="next"', html)
    assert link, "a next-page link under the conditions"
    second = get(client, url + link.group(1).split("#")[0])
    assert "Showing 6–10 of 41 conditions." in second and 'rel="prev"' in second
    assert 'data-condition="Check00004"' in second and 'data-condition="Ready"' not in second
    assert "Showing 1–5 of 40 resources" in second
    # the htmx refresh asks for the same pages
    assert 'hx-get="/o/demo/Kustomization/flux-system/infrastructure?conditions_page=2"' in second

    # ten times larger: the same queries, and (nearly) the same page
    grow_kustomization(demo, 400)
    poll_cluster(polled)
    with CaptureQueriesContext(connection) as four_hundred:
        big = get(client, url)
    assert len(four_hundred.captured_queries) == len(forty.captured_queries)
    assert "Showing 1–5 of 401 conditions." in big and "Showing 1–5 of 400 resources" in big
    assert abs(len(big) - len(html)) < 200, "the page does not grow with the object"
    # the last page: only what is left
    last = get(client, url + "?resources_page=80")
    assert (
        "Showing 396–400 of 400 resources" in last
        and 'rel="next"' not in last.split('data-rows="resources_page"')[1].split("</p>")[0]
    )


def test_a_small_object_shows_its_raw_yaml_and_no_cap_sentence(client, polled, small_pages):
    html = get(client, object_url("demo", "GitRepository", "bigbang", "bigbang"))
    assert "data-raw-too-large" not in html and "kind: GitRepository" in html
    assert "Showing 1–" not in html


def grow_sync_results(demo) -> None:
    app = demo.get(ARGO, "applications", "argocd", "data-platform")
    state = app["status"]["operationState"]
    state["syncResult"]["resources"] = [
        {"group": "", "version": "v1", "kind": "ConfigMap", "namespace": "data-platform"}
        | {"name": f"cm-{i}"}
        | {"status": "SyncFailed" if i == 29 else "Synced", "message": f"configmap/cm-{i} ok"}
        for i in range(30)
    ]
    demo.patch_status(ARGO, "applications", "argocd", "data-platform", {"operationState": state})


def grow_applicationset(demo) -> None:
    statuses = [
        {"application": f"demo-apps-{i}", "status": "Healthy", "step": "1", "message": "ok"}
        | {"targetRevisions": ["6.9.2"]}
        for i in range(30)
    ]
    demo.patch_status(
        ARGO, "applicationsets", "argocd", "demo-apps", {"applicationStatus": statuses}
    )


def grow_helm_history(demo) -> None:
    release = demo.get(HELM, "helmreleases", "bigbang", "gitlab")
    first = release["status"]["history"][0]
    history = [{**first, "version": 100 - i} for i in range(12)]
    demo.patch_status(HELM, "helmreleases", "bigbang", "gitlab", {"history": history})


def grow_events(demo) -> None:
    release = demo.get(HELM, "helmreleases", "bigbang", "gitlab")
    for i in range(8):
        when = f"2026-11-30T10:{i:02d}:00Z"
        demo.apply(
            event(
                None,
                release,
                reason=f"Reason{i}",
                message=f"event {i}",
                type_="Normal",
                component="helm-controller",
                count=1,
                first=when,
                last=when,
            )
        )


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "grow", "row", "sentence"),
    [
        (
            "Application",
            "argocd",
            "data-platform",
            grow_sync_results,
            "<tr data-sync-result=",
            "Showing 1–5 of 30 sync results (failures first).",
        ),
        (
            "ApplicationSet",
            "argocd",
            "demo-apps",
            grow_applicationset,
            "<tr data-application=",
            "Showing 1–5 of 30 applications.",
        ),
        (
            "HelmRelease",
            "bigbang",
            "gitlab",
            grow_helm_history,
            "<tr data-release=",
            "Showing 1–5 of 10 releases.",  # Flux keeps 10 snapshots; the normalizer too
        ),
        (
            "HelmRelease",
            "bigbang",
            "gitlab",
            grow_events,
            'class="obj-event',
            "of 1",  # the events section: its own cap (3), below
        ),
    ],
)
def test_lists_held_in_the_object_are_capped_with_their_count(
    client, polled, demo, small_pages, kind, namespace, name, grow, row, sentence
):
    grow(demo)
    poll_cluster(polled)
    html = get(client, object_url("demo", kind, namespace, name))
    expected = 3 if grow is grow_events else ROWS
    assert html.count(row) == expected
    assert sentence in html
    if grow is grow_sync_results:
        # failures first, across pages: the one failed result is on page 1
        assert 'data-sync-result="ConfigMap/cm-29"' in html
    if grow is grow_events:
        assert re.search(r"Showing 1–3 of \d+ events \(newest first\)\.", html)


def test_history_is_paged_by_moment(client, polled, demo, small_pages):
    demo.patch_status(
        ARGO, "applications", "argocd", "portfolio", {"health": {"status": "Degraded"}}
    )
    poll_cluster(polled)
    url = object_url("demo", "Application", "argocd", "portfolio")
    html = get(client, url)
    assert html.count("data-transition>") == 1
    assert "Showing 1–1 of 2 transitions (newest first)." in html
    older = get(client, url + "?history_page=2")
    assert older.count("data-transition>") == 1 and "first seen" in older


@pytest.mark.parametrize(
    "query",
    ["resources_page=x", "resources_page=0", "conditions_page=-1", "events_page=1e3"]
    + ["history_page=99999999999999999999"],
)
def test_a_bad_page_number_is_a_400_with_a_message(client, polled, query):
    url = object_url("demo", "Kustomization", "flux-system", "infrastructure")
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert "a whole number from 1 to 1000000" in response.content.decode()


def test_the_ownership_page_shows_one_page_of_violations_and_namespaces(
    client, polled, demo, small_pages
):
    def grow(count: int) -> None:
        for index in range(count):
            app = extra_application(index)
            app["spec"]["destination"]["namespace"] = f"undeclared-{index:03d}"
            demo.apply(app)
        poll_cluster(polled)

    grow(12)
    with CaptureQueriesContext(connection) as twelve:
        html = get(client, "/ownership")
    # the sentence before any table counts them all; the list shows one page, worst first
    assert "16 ownership violations" in html  # 4 of the demo + one TW006 per namespace
    assert html.count('<li class="violation ') == ROWS
    assert 'data-code="TW002"' in html  # critical first
    assert "Showing 1–5 of 16 violations (worst first)." in html
    assert 'href="?violations_page=2#violations-title"' in html
    namespaces = html[html.index('id="ns-demo"') :]
    assert namespaces[: namespaces.index("</section>")].count("<tr data-namespace=") == ROWS
    assert re.search(r"Showing 1–5 of \d+ namespaces\.", html)

    worst = html[html.index("Worst: ") :].split("</p>")[0]
    last = get(client, "/ownership?violations_page=4")
    assert worst in last, "page 4 still names the worst of all first"
    assert "Showing 16–16 of 16 violations" in last
    assert last.count('<li class="violation ') == 1
    assert client.get("/ownership?violations_page=x").status_code == 400

    grow(40)
    with CaptureQueriesContext(connection) as forty:
        big = get(client, "/ownership")
    assert "44 ownership violations" in big and "Showing 1–5 of 44 violations" in big
    assert len(forty.captured_queries) == len(twelve.captured_queries)
    assert big.count('<li class="violation ') == ROWS


def claim_twice(demo, n: int) -> None:
    """n ConfigMaps in both Kustomization infrastructure's inventory and data-platform's
    resources: n more contested resources (TW002 each)."""
    names = [f"shared-{i:03d}" for i in range(n)]
    entries = [{"id": inventory_id("data-platform", x, "", "ConfigMap"), "v": "v1"} for x in names]
    demo.patch_status(
        KUSTOMIZE,
        "kustomizations",
        "flux-system",
        "infrastructure",
        {"inventory": {"entries": entries}},
    )
    app = demo.get(ARGO, "applications", "argocd", "data-platform")
    resources = app["status"]["resources"] + [
        {"version": "v1", "kind": "ConfigMap", "namespace": "data-platform", "name": x}
        | {"status": "Synced"}
        for x in names
    ]
    demo.patch_status(ARGO, "applications", "argocd", "data-platform", {"resources": resources})


def contested_section(html: str) -> str:
    section = html[html.index('id="res-demo"') :]
    return section[: section.index("</section>")]


def test_contested_resources_are_paged_by_the_database(client, polled, demo, small_pages):
    base = contested_section(get(client, "/ownership")).count("<tr data-resource=")
    claim_twice(demo, 12)
    poll_cluster(polled)
    total = base + 12
    with CaptureQueriesContext(connection) as twelve:
        contested = contested_section(get(client, "/ownership"))
    assert contested.count("<tr data-resource=") == ROWS
    assert f"Showing 1–5 of {total} contested resources." in contested
    assert 'href="?contested_page=2#res-demo"' in contested

    last_page = -(-total // ROWS)
    first = (last_page - 1) * ROWS + 1
    last = contested_section(get(client, f"/ownership?contested_page={last_page}"))
    assert f"Showing {first}–{total} of {total} contested resources." in last
    assert last.count("<tr data-resource=") == total - first + 1
    past = contested_section(get(client, "/ownership?contested_page=99"))  # the last page
    assert f"Showing {first}–{total} of {total} contested resources." in past

    claim_twice(demo, 40)
    poll_cluster(polled)
    with CaptureQueriesContext(connection) as forty:
        big = get(client, "/ownership")
    assert f"Showing 1–5 of {base + 40} contested resources." in big
    assert len(forty.captured_queries) == len(twelve.captured_queries)
