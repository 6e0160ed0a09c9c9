from __future__ import annotations

import pytest

from clusters.poll import poll_cluster

pytestmark = pytest.mark.django_db


def test_namespace_page_groups_objects_by_tool_problems_first(client, polled):
    html = client.get("/n/demo/istio-system").content.decode()
    flux = html.index('id="tool-flux"')
    argo = html.index('id="tool-argocd"')
    # Flux deploys istio-system from bigbang; Argo CD's portfolio app crosses into it.
    assert 'data-object="HelmRelease/bigbang/istiod"' in html[flux:]
    assert 'data-object="Application/argocd/portfolio"' in html[argo:]
    assert "deploys here from bigbang" in html


def test_namespace_page_says_why_before_any_table(client, polled):
    html = client.get("/n/demo/gitlab").content.decode()
    why = html.index('class="summary summary--bad"')
    assert why < html.index("<table")
    assert "HelmRelease bigbang/gitlab is Degraded" in html[why : html.index("<table")]


def test_namespace_page_lists_objects_living_there_too(client, polled):
    html = client.get("/n/demo/bigbang").content.decode()
    assert 'data-object="HelmRelease/bigbang/gitlab"' in html
    assert "lives here, deploys to gitlab" in html


def test_unknown_namespace_is_404(client, polled):
    assert client.get("/n/demo/nope").status_code == 404


def test_namespace_htmx_refresh_is_the_partial(client, polled):
    html = client.get("/n/demo/gitlab", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in html and 'id="namespace-body"' in html


def test_search_by_text_and_filters(client, polled):
    html = client.get("/search?q=gitlab&kind=HelmRelease").content.decode()
    assert 'data-object="HelmRelease/bigbang/gitlab"' in html
    assert 'data-object="GitRepository/' not in html

    degraded = client.get("/search?status=Degraded").content.decode()
    assert 'data-status="Healthy"' not in degraded and 'data-status="Degraded"' in degraded

    by_message = client.get("/search?q=kyverno").content.decode()
    assert 'data-object="HelmRelease/bigbang/gitlab"' in by_message


def test_search_filters_are_in_the_url_and_htmx_gets_results_only(client, polled):
    full = client.get("/search?tool=argocd&sync=OutOfSync").content.decode()
    assert '<option value="argocd" selected>' in full
    assert 'data-object="Application/argocd/data-platform"' in full
    partial = client.get("/search?tool=argocd", headers={"HX-Request": "true"}).content.decode()
    assert "<form" not in partial and 'id="results"' in partial


@pytest.mark.parametrize("url", ["/n/demo/istio-system", "/search?q=a"])
def test_query_count_does_not_grow(client, polled, demo, url, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.builders import extra_application

    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for index in range(40):
        app = extra_application(index)
        app["spec"]["destination"]["namespace"] = "istio-system"
        demo.apply(app)
    poll_cluster(polled)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(url)


@pytest.mark.parametrize("url", ["/n/demo/gitlab", "/o/demo/HelmRelease/bigbang/gitlab"])
def test_idle_refreshes_of_namespace_and_object_pages_answer_204(client, polled, demo, url):
    import re

    html = client.get(url, headers={"HX-Request": "true"}).content.decode()
    token = re.search(r'name="since" value="([^"]+)"', html).group(1)

    assert client.get(f"{url}?since={token}", headers={"HX-Request": "true"}).status_code == 204

    demo.patch_status(
        "helm.toolkit.fluxcd.io",
        "helmreleases",
        "bigbang",
        "gitlab",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "UpgradeSucceeded",
                    "message": "Helm upgrade succeeded",
                    "observedGeneration": 1,
                    "lastTransitionTime": "2026-11-26T12:00:00Z",
                }
            ]
        },
    )
    poll_cluster(polled)
    changed = client.get(f"{url}?since={token}", headers={"HX-Request": "true"})
    assert changed.status_code == 200 and "Healthy" in changed.content.decode()
