"""The Controllers view: /clusters/<cluster>/controllers, /controllers (versions across
clusters), /api/v1/controllers and the controllers' series on /metrics."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from clusters.models import Cluster, Workload
from clusters.poll import poll_cluster
from clusters.store.version import bump
from dashboard.metrics import CONTROLLER_INFO_LABELS
from tests.builders import argocd_install, controller_row, flux_install, stored_cluster

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
MIB = 1024 * 1024
FLUX_REQUIRED = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
)
HELMRELEASE_V2BETA1 = {
    "group": "helm.toolkit.fluxcd.io",
    "kind": "HelmRelease",
    "served": ["v2beta1"],
    "wanted": "v2",
}


@pytest.fixture
def reader(settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.content[:2000]
    return response.content.decode()


def before_first_table(html: str) -> str:
    main = html[html.index("<main") :]
    return main[: main.index("<table")]


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).replace("&#x27;", "'")


def row(html: str, name: str) -> str:
    start = html.index(f'data-controller="{name}"')
    return html[start : html.index("</tr>", start)]


# --- the demo, polled over HTTP --------------------------------------------------------------


def test_the_demo_page_lists_every_flux_and_argo_cd_controller(client, polled):
    html = page(client, "/clusters/demo/controllers")
    for name in (*FLUX_REQUIRED, "image-reflector-controller", "image-automation-controller"):
        assert f'data-controller="{name}" data-component="{name}" data-version="v2.9.4"' in html
    for component in (
        "server",
        "repo-server",
        "application-controller",
        "applicationset-controller",
        "notifications-controller",
        "dex-server",
        "redis",
    ):
        assert f'data-controller="argocd-{component}" data-component="{component}"' in html
    assert 'data-ready="2/2"' in row(html, "argocd-repo-server")
    # Usage is shown measured or "not available — <why>", never blank and never guessed.
    for name in re.findall(r'<tr data-controller="([^"]+)" data-component', html):
        cells = row(html, name)
        assert (
            'data-usage="none"' in cells
            and "not available — " in cells
            or ('data-usage="memory"' in cells and "MiB" in cells)
        ), name


def test_a_demo_controller_going_unready_shows_live_and_fails_the_scorecard(client, polled, demo):
    html = page(client, "/clusters/demo/controllers")
    token = re.search(r'name="since" value="([^"]+)"', html).group(1)
    assert client.get(f"/clusters/demo/controllers?since={token}", headers=HTMX).status_code == 204

    helm = demo.get("apps", "deployments", "flux-system", "helm-controller")
    helm["status"]["readyReplicas"] = 0
    demo.apply(helm)
    poll_cluster(polled)

    part = client.get(f"/clusters/demo/controllers?since={token}", headers=HTMX)
    assert part.status_code == 200
    body = part.content.decode()
    assert "<html" not in body and 'id="controllers-body"' in body
    why = text(before_first_table(f"<main>{body}"))
    assert "flux-system/helm-controller has 0 of 1 replicas ready." in why
    assert 'class="summary summary--bad"' in body
    scorecard = page(client, "/scorecard")
    flux_row = scorecard[scorecard.index('data-row="flux-controllers"') :]
    assert 'data-state="fail"' in flux_row[:80]
    assert 'href="/clusters/demo/controllers"' in flux_row[: flux_row.index("</tr>")]


def test_the_cluster_card_and_the_nav_link_to_the_controllers(client, polled):
    html = page(client, "/")
    assert 'href="/clusters/demo/controllers" data-controllers-link' in html
    assert 'href="/controllers"' in html


def test_an_unknown_cluster_is_404(client, polled):
    assert client.get("/clusters/nope/controllers").status_code == 404


# --- stored rows (tests/builders.py) -----------------------------------------------------------


@pytest.fixture
def prod(reader):
    """A cluster with trouble of every kind the page reports."""
    cluster = stored_cluster(
        "prod",
        metrics_state="ok",
        deprecated_apis=[HELMRELEASE_V2BETA1],
    )
    flux_install(cluster)
    Workload.objects.filter(cluster=cluster, name="helm-controller").delete()
    Workload.objects.filter(cluster=cluster, name="source-controller").update(restarts=9)
    argocd_install(
        cluster,
        **{
            "argocd-server": {"usage": {"cpuMillicores": 12, "memoryBytes": 300 * MIB}},
            "argocd-repo-server": {
                "ready": 0,
                "desired": 2,
                "usage": {"cpuMillicores": 250, "memoryBytes": 310 * MIB},
            },
            "argocd-application-controller": {
                "usage": None,
                "usage_reason": "PodMetrics argocd/argocd-application-controller-0: 404 Not Found",
            },
        },
    )
    return cluster


def test_problems_are_said_one_sentence_each_before_any_table(client, prod):
    html = page(client, "/clusters/prod/controllers")
    head = before_first_table(html)
    assert 'class="summary summary--bad"' in head
    sentences = text(head)
    for sentence in (
        "Flux is missing helm-controller from flux-system: it is required for Flux to reconcile.",
        "flux-system/source-controller's containers restarted 9 times",
        "HelmRelease is served only at helm.toolkit.fluxcd.io/v2beta1, not v2: upgrade blocker.",
        "argocd/argocd-repo-server has 0 of 2 replicas ready.",
        "Argo CD's controllers use 610 MiB of memory (1 not measured: at least that much), "
        "over the ADR's 500 MiB budget.",
    ):
        assert sentence in sentences
    codes = re.findall(r'data-finding="([^"]+)"', head)
    assert codes == ["missing", "restarts", "deprecated-api", "not-ready", "memory-budget"]
    # The missing component has a row saying so; the unready one is marked red.
    assert "data-missing" in row(html, "helm-controller")
    assert 'class="row--bad"' in row(html, "argocd-repo-server")
    assert 'data-ready="0/2"' in row(html, "argocd-repo-server")


def test_usage_measured_and_not_measured(client, prod):
    html = page(client, "/clusters/prod/controllers")
    repo = text(row(html, "argocd-repo-server"))
    assert "250m" in repo and "310 MiB" in repo
    app = text(row(html, "argocd-application-controller"))
    assert "not available — PodMetrics argocd/argocd-application-controller-0: 404 Not Found" in app
    budget = html[html.index("data-memory-budget=") :]
    assert budget.startswith('data-memory-budget="over"')
    assert "610 MiB" in text(budget[: budget.index("</p>")])


def test_metrics_api_unavailable_is_said_with_its_reason(client, reader, settings):
    cluster = stored_cluster(
        "edge", metrics_state="unavailable", metrics_reason="metrics.k8s.io is not served"
    )
    flux_install(cluster)
    argocd_install(cluster)
    html = page(client, "/clusters/edge/controllers")
    assert "not available — metrics.k8s.io is not served" in text(row(html, "source-controller"))
    assert 'data-memory-budget="unknown"' in html
    assert "CPU and memory not available for some controllers — metrics.k8s.io is not served" in (
        text(before_first_table(html))
    )
    assert 'class="summary summary--ok"' in before_first_table(html)


@pytest.mark.parametrize(
    ("labels", "images", "shown"),
    [
        ({"app.kubernetes.io/version": "v3.2.0"}, ["quay.io/argoproj/argocd:v3.1.8"], "v3.2.0"),
        ({}, ["quay.io/argoproj/argocd:v3.1.8"], "v3.1.8"),
        ({}, [], "not reported"),
    ],
)
def test_version_from_the_label_else_the_image_tag(client, reader, labels, images, shown):
    cluster = stored_cluster("one")
    argocd_install(cluster)
    Workload.objects.filter(name="argocd-server").update(
        labels={"app.kubernetes.io/part-of": "argocd", **labels}, images=images
    )
    assert shown in text(row(page(client, "/clusters/one/controllers"), "argocd-server"))


@pytest.fixture
def fleet(reader):
    """Three clusters: b runs an older source-controller release and Argo CD; c's Flux
    controllers are at two releases."""
    a, b, c = (stored_cluster(name) for name in ("a", "b", "c"))
    flux_install(a)
    argocd_install(a)
    flux_install(b, "v2.6.0")
    argocd_install(b, image="quay.io/argoproj/argocd:v3.0.12")
    flux_install(c)
    Workload.objects.filter(cluster=c, name="helm-controller").update(
        labels={
            "app.kubernetes.io/part-of": "flux",
            "app.kubernetes.io/component": "helm-controller",
            "app.kubernetes.io/version": "v2.5.1",
        }
    )
    return a, b, c


def test_versions_side_by_side_with_skew_flagged(client, fleet):
    html = page(client, "/controllers")
    head = text(before_first_table(html))
    assert "Flux source-controller: v2.7.3 on a; v2.6.0 on b; v2.7.3 on c." in head
    assert "Argo CD server: v3.1.8 on a; v3.0.12 on b." in head
    assert "c: Flux controllers run different releases: v2.5.1 (helm-controller); v2.7.3" in head
    headers = re.findall(r'<th scope="col" data-cluster="([^"]+)"', html)
    assert headers == ["a", "b", "c"]
    source = html[html.index('data-component="flux/source-controller"') :]
    source = source[: source.index("</tr>")]
    assert "data-skew" in source and source.count("<code>") == 3
    assert "Flux skew" in html[html.index('data-cluster="c"') :][:400]
    assert "Flux skew" not in html[html.index('data-cluster="a"') :][:200]
    helm = html[html.index('data-component="flux/helm-controller"') :]
    assert 'data-compare="skew"' in helm[: helm.index("</tr>")]  # v2.7.3, v2.6.0, v2.5.1


def test_a_component_on_one_cluster_only_is_not_called_the_same(client, fleet):
    a, _, _ = fleet
    controller_row(
        a,
        "flux-system",
        "image-reflector-controller",
        labels={"app.kubernetes.io/part-of": "flux", "app.kubernetes.io/version": "v2.7.3"},
    )
    html = page(client, "/controllers")
    reflector = html[html.index('data-component="flux/image-reflector-controller"') :]
    assert 'data-compare="none"' in reflector[: reflector.index("</tr>")]
    kustomize = html[html.index('data-component="flux/kustomize-controller"') :]
    assert 'data-compare="skew"' in kustomize[: kustomize.index("</tr>")]


def test_no_skew_says_so(client, reader):
    for name in ("x", "y"):
        cluster = stored_cluster(name)
        flux_install(cluster)
        argocd_install(cluster)
    html = page(client, "/controllers")
    assert "Every component runs the same version on every cluster" in before_first_table(html)
    assert html.count('data-compare="same"') == 7 and 'data-compare="skew"' not in html


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        page(client, url)
    return len(captured)


def test_no_n_plus_one(client, reader):
    """The same queries for one cluster of four controllers as for three of seven each."""
    first = stored_cluster("first")
    flux_install(first)
    one_cluster = queries(client, "/controllers"), queries(client, "/clusters/first/controllers")
    for name in ("second", "third"):
        cluster = stored_cluster(name)
        flux_install(cluster)
        argocd_install(cluster)
    argocd_install(first)
    bump()
    assert (queries(client, "/controllers"), queries(client, "/clusters/first/controllers")) == (
        one_cluster
    )
    from dashboard.controller_views import cluster_views

    with CaptureQueriesContext(connection) as captured:
        cluster_views()
    assert len(captured) == 3  # clusters, their kind states, the Workload rows


def test_the_json_api(client, prod):
    body = client.get("/api/v1/controllers?cluster=prod").json()
    assert body["count"] == 1
    (item,) = body["clusters"]
    assert item["cluster"] == "prod" and item["state"] == "bad"
    assert item["deprecatedApis"] == [HELMRELEASE_V2BETA1]
    assert [f["code"] for f in item["findings"]] == [
        "missing",
        "restarts",
        "deprecated-api",
        "not-ready",
        "memory-budget",
    ]
    flux, argo = item["tools"]
    assert flux["missing"] == ["helm-controller"] and flux["installNamespace"] == "flux-system"
    source = next(c for c in flux["controllers"] if c["name"] == "source-controller")
    assert (source["version"], source["versionSource"], source["restarts"]) == (
        "v2.7.3",
        "label",
        9,
    )
    assert source["usage"] is None
    app = next(c for c in argo["controllers"] if c["component"] == "application-controller")
    assert app["usage"] is None and app["usageReason"].endswith("404 Not Found")
    repo = next(c for c in argo["controllers"] if c["component"] == "repo-server")
    assert repo["usage"] == {"cpuMillicores": 250, "memoryBytes": 310 * MIB}
    assert (repo["ready"], repo["desired"], repo["version"]) == (0, 2, "v3.1.8")
    assert argo["memory"] == {
        "usedBytes": 610 * MIB,
        "budgetBytes": 500 * MIB,
        "overBudget": True,
        "unmeasured": ["argocd-application-controller"],
        "reason": "PodMetrics argocd/argocd-application-controller-0: 404 Not Found",
    }
    assert client.get("/api/v1/controllers?cluster=nope").status_code == 400


def test_the_budget_is_a_setting(client, prod, settings):
    settings.TIDEWATCH_ARGOCD_MEMORY_BUDGET_MB = 1024
    item = client.get("/api/v1/controllers").json()["clusters"][0]
    assert "memory-budget" not in [f["code"] for f in item["findings"]]
    assert item["tools"][1]["memory"]["budgetBytes"] == 1024 * MIB


# --- /metrics --------------------------------------------------------------------------------


def families(client) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(response.content.decode())}


def test_metrics_export_every_controller_with_its_version(client, polled):
    found = families(client)
    info = {(s.labels["tool"], s.labels["name"]): s for s in found["tidewatch_controller_info"]}
    assert all(set(s.labels) == set(CONTROLLER_INFO_LABELS) and s.value == 1 for s in info.values())
    helm = info[("flux", "helm-controller")].labels
    assert helm == {
        "cluster": "demo",
        "tool": "flux",
        "namespace": "flux-system",
        "name": "helm-controller",
        "component": "helm-controller",
        "version": "v2.9.4",
    }
    assert info[("argocd", "argocd-repo-server")].labels["component"] == "repo-server"
    assert len([k for k in info if k[0] == "argocd"]) == 7
    ready = {s.labels["name"]: s.value for s in found["tidewatch_controller_ready_replicas"]}
    desired = {s.labels["name"]: s.value for s in found["tidewatch_controller_desired_replicas"]}
    assert ready["argocd-repo-server"] == desired["argocd-repo-server"] == 2
    assert {s.labels["name"] for s in found["tidewatch_controller_restarts"]} == {
        name for _, name in info
    }


def test_metrics_label_values_are_escaped(client, reader):
    cluster = stored_cluster("odd")
    hostile = 'v1"2\\3\nnext'
    controller_row(
        cluster,
        "flux-system",
        "source-controller",
        labels={"app.kubernetes.io/part-of": "flux", "app.kubernetes.io/version": hostile},
    )
    raw = client.get("/metrics").content.decode()
    assert 'version="v1\\"2\\\\3\\nnext"' in raw
    (sample,) = families(client)["tidewatch_controller_info"]
    assert sample.labels["version"] == hostile and sample.labels["cluster"] == "odd"


def test_a_cluster_without_workloads_exports_no_controllers(client, reader):
    Cluster.objects.create(name="empty")
    assert families(client).get("tidewatch_controller_info", []) == []


def test_text_from_the_cluster_is_escaped(client, reader):
    cluster = stored_cluster(
        "hostile", metrics_state="unavailable", metrics_reason="<svg onload=x>"
    )
    flux_install(cluster)
    Workload.objects.filter(name="helm-controller").update(
        labels={
            "app.kubernetes.io/part-of": "flux",
            "app.kubernetes.io/version": "<script>alert(1)</script>",
        },
        images=['"><img src=x onerror=alert(2)>:v1'],
        usage_reason="<img src=x onerror=alert(3)>",
    )
    for url in ("/clusters/hostile/controllers", "/controllers"):
        html = page(client, url)
        for payload in ("<script>alert", "<img src=x", "<svg onload"):
            assert payload not in html, (url, payload)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_stored_scorecard_says_what_the_controllers_page_says(client, polled):
    """The ownership refresh (run after every poll) judges with the cluster's stored facts,
    read fresh: a watcher's Cluster instance is hours old."""
    from clusters.models import OwnershipReport
    from clusters.store.ownership import refresh_ownership

    Cluster.objects.filter(pk=polled.pk).update(deprecated_apis=[HELMRELEASE_V2BETA1])
    Workload.objects.filter(cluster=polled, name="kustomize-controller").update(restarts=7)
    refresh_ownership(polled)  # the instance still holds deprecated_apis=[]
    rows = {r["id"]: r for r in OwnershipReport.objects.get(cluster=polled).scorecard["rows"]}
    flux = rows["flux-controllers"]
    assert flux["state"] == "pass"
    blocker = (
        "HelmRelease is served only at helm.toolkit.fluxcd.io/v2beta1, not v2: upgrade blocker."
    )
    assert blocker in flux["evidence"]
    assert "flux-system/kustomize-controller's containers restarted 7 times" in flux["evidence"]
    assert blocker in text(before_first_table(page(client, "/clusters/demo/controllers")))


def test_a_cluster_not_polled_yet_says_so_instead_of_missing_everything(client, reader):
    Cluster.objects.create(name="fresh")
    html = page(client, "/clusters/fresh/controllers")
    assert re.findall(r'data-finding="([^"]+)"', html) == ["not-collected"]
    assert "is missing" not in html and "<table" not in html
    item = client.get("/api/v1/controllers?cluster=fresh").json()["clusters"][0]
    assert (item["collected"], item["state"]) == (False, "warn")


def test_usage_kept_from_an_earlier_read_is_marked_stale_with_its_reason(client, reader):
    # The worker keeps the last usage when metrics.k8s.io fails and says why in usage_reason:
    # the page must not show those figures as current.
    reason = "metrics.k8s.io could not be read: ServiceUnavailable: the server is down"
    cluster = stored_cluster("stale", metrics_state="unavailable", metrics_reason=reason)
    flux_install(cluster)
    argocd_install(
        cluster,
        **{
            "argocd-server": {
                "usage": {"cpuMillicores": 12, "memoryBytes": 300 * MIB},
                "usage_reason": reason,
            }
        },
    )
    html = page(client, "/clusters/stale/controllers")
    cells = row(html, "argocd-server")
    assert "300 MiB" in text(cells) and "data-usage-stale" in cells and "stale" in text(cells)
    assert f"from an earlier read, marked stale — {reason}" in text(before_first_table(html))
    body = client.get("/api/v1/controllers?cluster=stale").json()
    argo = body["clusters"][0]["tools"][1]
    server = next(c for c in argo["controllers"] if c["name"] == "argocd-server")
    assert server["usage"] == {"cpuMillicores": 12, "memoryBytes": 300 * MIB}
    assert (server["usageStale"], server["usageReason"]) == (True, reason)
