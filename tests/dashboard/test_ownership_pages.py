from __future__ import annotations

import pytest

from clusters.models import OwnershipReport
from clusters.poll import poll_cluster

pytestmark = pytest.mark.django_db


def test_ownership_page_says_why_first_and_lists_every_violation(client, polled):
    html = client.get("/ownership").content.decode()
    summary = html.index('class="summary summary--bad"')
    assert summary < html.index("<table") and "4 ownership violations" in html
    for code in ("TW001", "TW002", "TW003", "TW006"):
        assert f'data-code="{code}"' in html
    assert 'data-namespace="sandbox"' in html and "undeclared" in html
    # the claim chain of the contested ConfigMap links to the objects above it
    assert 'data-resource="/ConfigMap:monitoring/grafana-dashboard-portfolio"' in html
    assert 'href="/o/demo/HelmRelease/bigbang/bigbang"' in html


def test_ownership_filters_by_code_and_tool(client, polled):
    html = client.get("/ownership?code=TW006").content.decode()
    assert 'data-code="TW006"' in html and 'data-code="TW002"' not in html
    flux = client.get("/ownership?tool=flux").content.decode()
    assert 'data-namespace="portfolio"' not in flux and 'data-namespace="gitlab"' in flux


@pytest.mark.parametrize(
    ("tool", "matching"),
    [
        ("flux", "1 ownership violation</strong> matches"),
        ("argocd", "4 ownership violations</strong> match"),
    ],
)
def test_a_conflict_between_the_tools_belongs_to_both_tool_filters(client, polled, tool, matching):
    html = client.get(f"/ownership?tool={tool}").content.decode()
    assert 'data-code="TW002"' in html
    assert html.index('class="summary summary--bad"') < html.index('data-code="TW002"')
    api = client.get(f"/api/v1/violations?tool={tool}").json()
    contested = [v for v in api["violations"] if v["code"] == "TW002"]
    assert len(contested) == 1 and contested[0]["tools"] == ["flux", "argocd"]
    assert (api["filteredBy"], api["total"]) == (f"tool={tool}", 4)


def test_an_empty_filtered_view_says_it_is_filtered_not_all_clear(client, polled):
    html = client.get("/ownership?tool=flux&code=TW003").content.decode()
    assert "summary--ok" not in html and "No ownership violations" not in html
    assert "No violations match cluster" not in html
    assert "No violations match tool=flux, code=TW003" in html
    assert "4 violations in total" in html and '<a href="/ownership">Clear the filters</a>' in html
    api = client.get("/api/v1/violations?tool=flux&code=TW003").json()
    assert (api["violations"], api["total"]) == ([], 4)


def test_scorecard_page_has_green_and_red_rows(client, polled):
    html = client.get("/scorecard").content.decode()
    assert 'data-state="pass"' in html and 'data-state="fail"' in html
    assert html.index('class="summary summary--bad"') < html.index("<table")


def test_violations_and_scorecard_api(client, polled):
    violations = client.get("/api/v1/violations?cluster=demo").json()["violations"]
    assert {v["code"] for v in violations} == {"TW001", "TW002", "TW003", "TW006"}
    tw2 = next(v for v in violations if v["code"] == "TW002")
    assert tw2["severity"] == "critical" and len(tw2["objects"]) == 2
    assert (
        client.get("/api/v1/violations?code=tw006").json()["violations"][0]["namespace"]
        == "sandbox"
    )
    (card,) = client.get("/api/v1/scorecard?cluster=demo").json()["scorecards"]
    assert card["passed"] >= 1 and card["failed"] >= 1
    assert {row["state"] for row in card["rows"]} >= {"pass", "fail"}


def test_overview_rows_show_owner_and_violation_badges(client, polled):
    html = client.get("/").content.decode()
    row = html[html.index('data-namespace="istio-system"') :]
    row = row[: row.index("</tr>")]
    assert 'data-violation="TW001"' in row and "declared Flux" in row


def test_namespace_page_says_who_owns_it(client, polled):
    html = client.get("/n/demo/istio-system").content.decode()
    line = html[html.index("data-ownership") :]
    assert "Declared for Flux" in line[:400] and "TW001" in line[:600]


@pytest.mark.parametrize("url", ["/ownership", "/scorecard", "/api/v1/violations"])
def test_ownership_query_count_does_not_grow(client, polled, demo, url, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.builders import extra_application

    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for index in range(30):
        app = extra_application(index)
        app["spec"]["destination"]["namespace"] = f"undeclared-{index}"
        demo.apply(app)
    poll_cluster(polled)
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(url)


def test_resources_in_a_namespace_wide_violation_are_sampled_and_counted(
    client, polled, demo, settings
):
    # 30 more ConfigMaps deployed into sandbox, which no one declared (TW006): listed up to
    # the sample, the rest counted; the contested ConfigMap of monitoring stays listed.
    settings.TIDEWATCH_OWNERSHIP_NAMESPACE_SAMPLE = 5
    app = demo.get("argoproj.io", "applications", "argocd", "sandbox-experiments")
    before = [r for r in app["status"]["resources"] if r.get("namespace") == "sandbox"]
    extra = [
        {"version": "v1", "kind": "ConfigMap", "namespace": "sandbox", "name": f"cm-{i:02d}"}
        | {"status": "Synced"}
        for i in range(30)
    ]
    resources = app["status"]["resources"] + extra
    demo.patch_status(
        "argoproj.io", "applications", "argocd", "sandbox-experiments", {"resources": resources}
    )
    poll_cluster(polled)

    report = OwnershipReport.objects.get()
    (sandbox,) = [n for n in report.namespaces if n["namespace"] == "sandbox"]
    total = len(before) + 30
    assert (sandbox["violation_resources"], sandbox["violation_resources_listed"]) == (total, 5)
    assert len([r for r in report.resources if r["namespace"] == "sandbox"]) == 5
    assert any(r["key"].endswith("grafana-dashboard-portfolio") for r in report.resources)

    html = client.get("/ownership").content.decode()
    assert 'data-code="TW006"' in html
    section = html[html.index('id="res-demo"') :]
    section = section[: section.index("</section>")]
    assert section.count('<tr data-resource="/ConfigMap:sandbox/') <= 5
    assert 'data-resource="/ConfigMap:monitoring/grafana-dashboard-portfolio"' in section
    assert f"sandbox 5 of {total}" in section and 'data-rows="namespace-wide"' in section
