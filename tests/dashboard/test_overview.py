from __future__ import annotations

import pytest

from clusters.poll import poll_cluster
from tests.builders import extra_application

pytestmark = pytest.mark.django_db


def test_overview_lists_every_namespace_with_owner_and_status(client, polled):
    html = client.get("/").content.decode()
    for namespace in ("flux-system", "bigbang", "istio-system", "gitlab", "argocd", "portfolio"):
        assert f'data-namespace="{namespace}"' in html
    assert "Argo CD" in html and "Flux" in html
    assert 'data-status="Degraded"' in html


def test_when_something_is_red_the_page_says_why_before_the_table(client, polled):
    html = client.get("/").content.decode()
    summary = html.index('class="summary summary--bad"')
    assert summary < html.index("<table")
    assert "need attention" in html[summary : html.index("<table")]
    gitlab = row_of(html, "gitlab")
    assert 'data-attention="bad"' in gitlab and "is Degraded" in gitlab


def row_of(html: str, namespace: str) -> str:
    row = html[html.index(f'<tr data-namespace="{namespace}"') :]
    return row[: row.index("</tr>")]


def test_a_critical_ownership_conflict_is_red_and_named_first(client, polled):
    """monitoring's objects are all Healthy and Synced; its only problem is TW002."""
    html = client.get("/").content.decode()
    monitoring = row_of(html, "monitoring")
    assert 'data-status="Healthy"' in monitoring
    assert 'class="row--bad" data-attention="bad"' in monitoring
    assert 'class="code code--bad"' in monitoring and 'data-violation="TW002"' in monitoring
    banner = html[html.index('class="summary summary--bad"') : html.index("<table")]
    assert "<strong>monitoring</strong> on demo — Ownership violation TW002 (critical): " in banner
    # worst first: the conflict's row comes before every Degraded namespace
    assert html.index('<tr data-namespace="monitoring"') < html.index('data-status="Degraded"')
    page = client.get("/n/demo/monitoring").content.decode()
    assert 'class="summary summary--bad" role="status" data-attention="bad"' in page


def test_a_warning_severity_violation_needs_attention_at_its_severity(client, polled):
    """sandbox: Healthy objects, no declared owner (TW006, medium)."""
    html = client.get("/").content.decode()
    sandbox = row_of(html, "sandbox")
    assert 'class="row--warn" data-attention="warn"' in sandbox
    assert 'class="code code--warn"' in sandbox
    assert "Ownership violation TW006 (medium): No owner is declared for namespace sandbox" in (
        sandbox
    )
    assert "9 of 14 namespaces need attention" in html
    # the API says the same
    rows = {r["namespace"]: r for r in client.get("/api/v1/namespaces").json()["namespaces"]}
    assert (rows["sandbox"]["needsAttention"], rows["sandbox"]["attention"]) == (True, "warn")
    assert (rows["monitoring"]["attention"], rows["monitoring"]["violationCodes"]) == (
        "bad",
        ["TW002"],
    )
    assert rows["monitoring"]["headline"].startswith("Ownership violation TW002 (critical)")
    assert (rows["cert-manager"]["needsAttention"], rows["cert-manager"]["attention"]) == (
        False,
        None,
    )


def test_an_htmx_refresh_gets_only_the_partial(client, polled):
    response = client.get("/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'data-namespace="gitlab"' in html


def test_overview_query_count_does_not_grow_with_objects(
    client, polled, django_assert_max_num_queries
):
    # anonymous read: 3 for the change token (one statement of aggregates, failing kinds,
    # clusters), clusters + kind states (prefetch), the page of rows, the counts, the worst row.
    with django_assert_max_num_queries(8):
        client.get("/")


def test_a_stale_kind_is_named_on_the_page(client, polled, demo):
    demo.set_fault("helmreleases", status=403)
    poll_cluster(polled)
    html = client.get("/").content.decode()
    assert 'data-failing-kind="HelmRelease"' in html
    assert "stale: HelmRelease: Forbidden" in html


def test_an_unreachable_cluster_is_shown_stale_with_the_reason(client, polled, demo):
    demo.stop()
    poll_cluster(polled)
    html = client.get("/").content.decode()
    assert "cluster-card--stale" in html and "Unreachable" in html
    # the last good rows are still there
    assert 'data-namespace="gitlab"' in html


def test_the_page_never_calls_the_cluster(client, polled, demo):
    demo.stop()  # if a page touched the API it would now fail or hang
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/namespaces").status_code == 200


@pytest.mark.parametrize("url", ["/", "/api/v1/namespaces", "/api/v1/clusters", "/api/v1/objects"])
def test_query_count_does_not_grow_with_the_number_of_objects(
    client, polled, demo, url, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for index in range(60):
        demo.apply(extra_application(index))
    poll_cluster(polled)

    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200


def test_an_idle_refresh_answers_204_without_rendering(
    client, polled, django_assert_max_num_queries
):
    first = client.get("/", headers={"HX-Request": "true"}).content.decode()
    token = first.split('name="since" value="', 1)[1].split('"', 1)[0]

    with django_assert_max_num_queries(3):  # the token only
        unchanged = client.get(f"/?since={token}", headers={"HX-Request": "true"})

    assert unchanged.status_code == 204 and unchanged.content == b""


def test_a_refresh_after_a_change_renders_with_a_new_token(client, polled, demo):
    first = client.get("/", headers={"HX-Request": "true"}).content.decode()
    token = first.split('name="since" value="', 1)[1].split('"', 1)[0]
    demo.patch(
        "argoproj.io",
        "applications",
        "argocd",
        "sandbox-experiments",
        {"status": {"health": {"status": "Degraded", "message": "CrashLoopBackOff"}}},
    )
    poll_cluster(polled)

    changed = client.get(f"/?since={token}", headers={"HX-Request": "true"})

    assert changed.status_code == 200
    html = changed.content.decode()
    assert f'value="{token}"' not in html
    assert 'data-namespace="sandbox" data-status="Degraded"' in html


def test_an_unreachable_cluster_gives_one_stale_line_per_row_not_one_per_kind(polled, demo):
    from clusters.models import NamespaceRollup

    demo.stop()
    poll_cluster(polled)

    (line,) = NamespaceRollup.objects.get(namespace="bigbang").stale_reasons
    assert "GitRepository" in line and "HelmRelease" in line and "Unreachable" in line


def test_overview_pages_worst_first_and_counts_everything(client, polled, demo):
    for index in range(120):
        app = extra_application(index)
        app["spec"]["destination"]["namespace"] = f"team-{index:03d}"
        demo.apply(app)
    poll_cluster(polled)

    first = client.get("/").content.decode()
    assert first.count("<tr data-namespace=") == 100
    assert 'rel="next"' in first and "of 134, worst first" in first
    assert "need attention" in first and 'data-namespace="gitlab"' in first  # red comes first

    second = client.get("/?page=2").content.decode()
    assert second.count("<tr data-namespace=") == 34 and 'rel="prev"' in second
    assert 'hx-get="/?page=2"' in second, "the refresh keeps the page"
