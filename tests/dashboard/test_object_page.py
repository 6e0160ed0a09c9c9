"""The object page: from "something is red" to the cause, read from the store only."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve

from clusters.poll import poll_cluster
from dashboard.object_views import object_page, object_url

pytestmark = pytest.mark.django_db

HELM = "helm.toolkit.fluxcd.io"
ARGO = "argoproj.io"
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def polled(demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    return demo_cluster


def page(client, kind: str, namespace: str, name: str, **kwargs) -> str:
    response = client.get(object_url("demo", kind, namespace, name), **kwargs)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def chain(html: str, direction: str) -> str:
    match = re.search(rf'<ul class="obj-chain" data-direction="{direction}">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


def test_object_url_is_the_page_route():
    url = object_url("demo", "HelmRelease", "bigbang", "gitlab")
    assert url == "/o/demo/HelmRelease/bigbang/gitlab"
    assert resolve(url).func is object_page


def test_a_degraded_helmrelease_says_why_before_any_table(client, polled):
    html = page(client, "HelmRelease", "bigbang", "gitlab")
    headline = html.index("data-headline")
    assert headline < html.index("<table")
    sentence = html[headline : html.index("<table")]
    assert "HelmRelease bigbang/gitlab is Degraded:" in sentence
    assert "UpgradeFailed" in sentence and "Helm upgrade failed" in sentence
    assert "remediation: Helm rollback to previous release" in sentence
    # header: kind, tool, status + sync, always icon + text
    assert 'data-status="Degraded"' in html and 'data-sync="OutOfSync"' in html
    assert "tool--flux" in html
    assert '<span aria-hidden="true">✕</span>&nbsp;Degraded' in html
    # conditions, revisions, Helm counters and release history
    assert 'data-condition="Released"' in html and 'data-condition="Remediated"' in html
    assert "9.2.4-bb.1" in html and "9.3.2-bb.0" in html and "not applied" in html
    assert "Upgrade failures" in html
    assert 'data-release="8"' in html and "&nbsp;failed</span>" in html


def test_an_out_of_sync_application_shows_its_operation_and_resources(client, polled):
    html = page(client, "Application", "argocd", "data-platform")
    assert "Application argocd/data-platform is OutOfSync:" in html
    assert html.index("data-headline") < html.index("<table")
    assert 'id="operation"' in html and "successfully synced (all tasks run)" in html
    assert 'data-sync-result="ConfigMap/pipeline-config"' in html
    assert "https://code.example.mil/apps/data-platform.git" in html and "k8s/production" in html
    rows = re.findall(r'<tr data-resource="[^"]+" data-health="([^"]+)"', html)
    # Seven resources and Secret pipeline-credentials (named in status.resources, as Argo CD does).
    assert len(rows) == 8 and set(rows) == {"not-reported"}
    assert html.count("&nbsp;OutOfSync</span>") >= 3  # header + two resources
    assert "resourceHealthSource: appTree" in html


def test_persisted_resource_health_is_shown_and_missing_health_is_never_guessed(client, polled):
    html = page(client, "Application", "argocd", "ai-services")
    health = re.findall(r'<tr data-resource="[^"]+" data-health="([^"]+)"', html)
    assert sorted(set(health)) == ["Healthy", "Progressing"]
    # multi-source: each source, and the revision Argo CD synced from each
    assert "Source 1 of 2" in html and "Source 2 of 2" in html
    assert "b4d3e588895e690b046420128756f30d3b97838f" in html
    assert "not applied" not in html  # it is Synced: no guess from differently named revisions

    other = page(client, "Application", "argocd", "portfolio")
    assert 'data-health="Healthy"' not in other and 'data-health="not-reported"' in other
    assert "not reported" in other


def test_dependencies_link_to_stored_objects_in_both_directions(client, polled):
    istiod = page(client, "HelmRelease", "bigbang", "istiod")
    upstream = chain(istiod, "upstream")
    assert f'href="{object_url("demo", "HelmRelease", "bigbang", "istio-crds")}"' in upstream
    assert "depends on" in upstream
    assert f'href="{object_url("demo", "GitRepository", "bigbang", "istiod")}"' in upstream
    # gitlab depends on istiod: istiod's downstream
    downstream = chain(istiod, "downstream")
    assert f'href="{object_url("demo", "HelmRelease", "bigbang", "gitlab")}"' in downstream
    assert "depends on it" in downstream

    repo = page(client, "GitRepository", "bigbang", "bigbang")
    downstream = chain(repo, "downstream")
    assert f'href="{object_url("demo", "HelmRelease", "bigbang", "bigbang")}"' in downstream
    assert "uses it as source" in downstream and "&nbsp;Healthy" in downstream
    # and the source of the HelmRelease is its GitRepository, as a link
    gitlab = page(client, "HelmRelease", "bigbang", "gitlab")
    source = gitlab[gitlab.index("data-source-ref") :]
    assert source.index(object_url("demo", "GitRepository", "bigbang", "gitlab")) < 300


def test_an_app_of_apps_lists_its_children_downstream_and_the_child_its_parent(client, polled):
    parent = page(client, "Application", "argocd", "platform-apps")
    children = chain(parent, "downstream")
    for name in ("portfolio", "data-platform", "ai-services"):
        assert f'href="{object_url("demo", "Application", "argocd", name)}"' in children
    child = page(client, "Application", "argocd", "portfolio")
    parent_link = object_url("demo", "Application", "argocd", "platform-apps")
    assert f'href="{parent_link}"' in chain(child, "upstream")


def test_a_dependency_that_is_not_stored_is_plain_text(client, polled, demo):
    demo.patch(
        HELM,
        "helmreleases",
        "bigbang",
        "gitlab",
        {"spec": {"dependsOn": [{"name": "istiod"}, {"name": "ghost"}]}},
    )
    poll_cluster(polled)
    upstream = chain(page(client, "HelmRelease", "bigbang", "gitlab"), "upstream")
    ghost = upstream[upstream.index('data-name="ghost"') :]
    ghost = ghost[: ghost.index("</li>")]
    assert 'data-stored="false"' in upstream and "not stored" in ghost and "href" not in ghost


def test_events_are_shown_newest_first_with_warnings_highlighted(client, polled):
    html = page(client, "HelmRelease", "bigbang", "gitlab")
    events = html[html.index('id="events"') :]
    assert events.index("RollbackSucceeded") < events.index("UpgradeFailed")
    assert 'class="obj-event obj-event--warning" data-event-type="Warning"' in events
    assert "from helm-controller" in events


def test_a_transition_after_a_change_shows_in_the_history(client, polled, demo):
    before = page(client, "Application", "argocd", "portfolio")
    assert 'data-status="Degraded"' not in before
    demo.patch_status(
        ARGO,
        "applications",
        "argocd",
        "portfolio",
        {"health": {"status": "Degraded", "message": "Deployment web: 0/3 ready"}},
    )
    poll_cluster(polled)
    html = page(client, "Application", "argocd", "portfolio")
    history = html[html.index('id="history"') :]
    newest = history[history.index("data-transition") :]
    newest = newest[: newest.index("</li>")]
    assert 'Healthy</span> <span aria-label="to">→</span>' in newest
    assert "&nbsp;Degraded</span>" in newest and "Deployment web: 0/3 ready" in newest
    # both strips now end red, with a tooltip and a text alternative
    for key in ("24h", "7d"):
        strip = history[history.index(f'id="strip-{key}"') :]
        strip = strip[: strip.index("</svg>")]
        assert 'data-status="Degraded"' in strip and "<title>Degraded:" in strip
        assert 'role="img"' in strip and "Degraded" in strip[: strip.index("<rect")]
    # the count counts what the list lists: the appearance (presence + status at one moment)
    # and the change, two entries, not the three rows behind them
    assert "newest first, 2 stored" in history
    assert history.count("data-transition>") == 2


def test_an_object_that_is_not_stored_is_a_helpful_404(client, polled, demo):
    response = client.get(object_url("demo", "HelmRelease", "bigbang", "ghost"))
    assert response.status_code == 404
    html = response.content.decode()
    assert "data-missing" in html and "HelmRelease bigbang/ghost" in html
    assert "stored for cluster" in html

    response = client.get(object_url("nowhere", "HelmRelease", "bigbang", "gitlab"))
    assert response.status_code == 404
    assert "no cluster of that name" in response.content.decode()

    demo.delete(ARGO, "applications", "argocd", "portfolio")
    poll_cluster(polled)
    response = client.get(object_url("demo", "Application", "argocd", "portfolio"))
    assert response.status_code == 404
    assert "removed from the cluster" in response.content.decode()


def test_an_htmx_refresh_gets_only_the_partial(client, polled):
    full = page(client, "HelmRelease", "bigbang", "gitlab")
    # polls every second; tidewatch.js pauses it while the tab is hidden (no eval under the CSP)
    assert 'hx-trigger="every 1000ms, tidewatch:visible"' in full
    html = page(client, "HelmRelease", "bigbang", "gitlab", headers={"HX-Request": "true"})
    assert "<html" not in html and "data-headline" in html and "Raw YAML" not in html
    # an object gone while the page is open: the explanation is swapped in (htmx swaps 2xx)
    response = client.get(
        object_url("demo", "HelmRelease", "bigbang", "ghost"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200 and b"data-missing" in response.content


def test_raw_yaml_is_the_stored_object_without_managed_fields(client, polled, demo):
    demo.patch(
        HELM,
        "helmreleases",
        "bigbang",
        "gitlab",
        {"metadata": {"managedFields": [{"manager": "helm-controller", "operation": "Update"}]}},
    )
    poll_cluster(polled)
    html = page(client, "HelmRelease", "bigbang", "gitlab")
    section = html[html.index('id="yaml"') :]
    assert section.index("<details") < section.index("<pre")
    raw = section[section.index("<pre") : section.index("</pre>")]
    assert "apiVersion: helm.toolkit.fluxcd.io/v2" in raw and "kind: HelmRelease" in raw
    assert "name: gitlab" in raw and "upgradeFailures: 1" in raw
    assert "managedFields" not in raw and "helm-controller" not in raw.split("status:")[0]


def test_hostile_text_from_the_cluster_is_inert(client, polled, demo):
    hostile = f"boom {HOSTILE} <script>alert(2)</script>"
    demo.patch_status(
        ARGO,
        "applications",
        "argocd",
        "portfolio",
        {
            "health": {"status": "Degraded", "message": hostile},
            "conditions": [
                {
                    "type": "ComparisonError",
                    "message": hostile,
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        },
    )
    poll_cluster(polled)
    html = page(client, "Application", "argocd", "portfolio")
    assert HOSTILE not in html and "<script>alert(2)" not in html
    escaped = "&lt;img src=x onerror=alert(1)&gt;"
    for section in ("data-headline", 'data-condition="ComparisonError"', "data-transition"):
        start = html.index(section)
        assert escaped in html[start : start + 1500], section
    assert escaped in html[html.index('id="yaml"') :]
    fragment = page(client, "Application", "argocd", "portfolio", headers={"HX-Request": "true"})
    assert HOSTILE not in fragment and escaped in fragment


def test_long_messages_are_cut_with_the_full_text_in_details(client, polled, demo):
    long = "first words " + "x" * 5000 + " last words"
    demo.patch_status(
        ARGO,
        "applications",
        "argocd",
        "portfolio",
        {"health": {"status": "Degraded", "message": long}},
    )
    poll_cluster(polled)
    html = page(client, "Application", "argocd", "portfolio")
    headline = html[html.index("data-headline") :]
    headline = headline[: headline.index("</details>")]
    assert "first words" in headline and f"Full text ({len(long)} characters)" in headline
    assert headline.count("last words") == 1  # only in the full text


def test_a_stale_kind_and_an_unreachable_cluster_are_said_with_reason_and_since(
    client, polled, demo
):
    demo.set_fault("helmreleases", status=403)
    poll_cluster(polled)
    html = page(client, "HelmRelease", "bigbang", "gitlab")
    stale = html[html.index('data-stale="kind"') :]
    assert "HelmRelease objects on demo are stale" in stale[:400] and "Forbidden" in stale[:400]
    assert "last good list" in stale[:1000]
    assert 'data-stale="kind"' not in page(client, "Application", "argocd", "portfolio")

    demo.stop()
    poll_cluster(polled)
    html = page(client, "Application", "argocd", "portfolio")
    stale = html[html.index('data-stale="cluster"') :]
    assert "Cluster demo is stale" in stale[:300] and "last good poll" in stale[:1000]


def test_applicationset_progress_is_shown(client, polled, demo):
    demo.patch_status(
        ARGO,
        "applicationsets",
        "argocd",
        "demo-apps",
        {
            "applicationStatus": [
                {
                    "application": "demo-apps-dev",
                    "status": "Healthy",
                    "step": "1",
                    "message": "Application resource became Healthy",
                    "targetRevisions": ["6.9.2"],
                },
                {
                    "application": "demo-apps-staging",
                    "status": "Progressing",
                    "step": "2",
                    "message": "Application resource is progressing",
                    "targetRevisions": ["6.9.2"],
                },
            ]
        },
    )
    poll_cluster(polled)
    html = page(client, "ApplicationSet", "argocd", "demo-apps")
    progress = html[html.index('id="progress"') :]
    assert 'data-application="demo-apps-staging"' in progress
    assert f'href="{object_url("demo", "Application", "argocd", "demo-apps-dev")}"' in progress
    assert "Application resource is progressing" in progress


# -- query count: fixed, whatever the size -------------------------------------------------------


def extra_helmrelease(index: int) -> dict:
    return {
        "apiVersion": f"{HELM}/v2",
        "kind": "HelmRelease",
        "metadata": {"name": f"extra-{index}", "namespace": "bigbang"},
        "spec": {
            "interval": "10m",
            "chart": {
                "spec": {
                    "chart": "./chart",
                    "sourceRef": {"kind": "GitRepository", "name": "bigbang"},
                }
            },
            "dependsOn": [{"name": f"missing-{n}"} for n in range(index % 5)],
        },
    }


def grow_application(demo) -> None:
    """data-platform: 300 more resources (over the display cap), 40 of them child apps."""
    app = demo.get(ARGO, "applications", "argocd", "data-platform")
    resources = app["status"]["resources"]
    resources += [
        {"version": "v1", "kind": "ConfigMap", "namespace": "data-platform", "name": f"cm-{n}"}
        for n in range(260)
    ]
    resources += [
        {"group": ARGO, "version": "v1alpha1", "kind": "Application", "namespace": "argocd"}
        | {"name": f"child-{n}", "status": "Synced"}
        for n in range(40)
    ]
    demo.patch_status(ARGO, "applications", "argocd", "data-platform", {"resources": resources})


def grow_repository(demo) -> None:
    """GitRepository bigbang: 40 more HelmReleases use it as their source (downstream)."""
    for index in range(40):
        demo.apply(extra_helmrelease(index))


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "grow"),
    [
        ("Application", "argocd", "data-platform", grow_application),
        ("GitRepository", "bigbang", "bigbang", grow_repository),
    ],
)
def test_query_count_does_not_grow_with_the_object(
    client, polled, demo, kind, namespace, name, grow, django_assert_num_queries
):
    url = object_url("demo", kind, namespace, name)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    grow(demo)
    poll_cluster(polled)

    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    if kind == "Application":
        assert 'data-rows="resources_page" data-total="308"' in html  # 308 resources
        assert "Showing 1–200 of 308 resources" in html
        assert len(chain(html, "downstream").split("<li")) - 1 == 40
    else:
        assert len(chain(html, "downstream").split("<li")) - 1 >= 40
    with django_assert_num_queries(len(small.captured_queries)):
        client.get(url, headers={"HX-Request": "true"})
