"""/metrics: parsed with prometheus_client's own parser and checked against the store."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from clusters.models import Cluster, GitOpsObject, PollRun, Violation
from clusters.ownership import CODES
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters
from dashboard.metrics import ARGO_INFO_LABELS, FLUX_INFO_LABELS, METRIC_NAMES, StoreCollector
from dashboard.models import ApiToken

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[str, list]:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        family.name: family.samples
        for family in text_string_to_metric_families(response.content.decode())
    }


@pytest.fixture
def polled(demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    return demo_cluster


def test_every_metric_family_is_exposed(client, polled):
    assert set(scrape(client)) >= set(METRIC_NAMES)


def test_flux_info_has_the_flux_operator_labels_and_matches_the_store(client, polled):
    samples = scrape(client)["tidewatch_flux_resource_info"]
    flux = GitOpsObject.objects.filter(tool="flux")
    assert len(samples) == flux.count() > 20
    assert all(set(s.labels) == set(FLUX_INFO_LABELS) and s.value == 1 for s in samples)
    by_key = {
        (s.labels["kind"], s.labels["exported_namespace"], s.labels["name"]): s for s in samples
    }

    gitlab = by_key[("HelmRelease", "bigbang", "gitlab")].labels
    stored = flux.get(kind="HelmRelease", namespace="bigbang", name="gitlab")
    ready = next(c for c in stored.conditions if c["type"] == "Ready")
    assert gitlab["cluster"] == "demo" and gitlab["uid"] == stored.uid
    assert (
        (gitlab["ready"], gitlab["reason"])
        == (ready["status"], ready["reason"])
        == (
            "False",
            "RollbackSucceeded",
        )
    )
    assert gitlab["suspended"] == "False"
    assert gitlab["revision"] == stored.attempted_revision == "9.3.2-bb.0"
    assert gitlab["source_name"] == "gitlab"

    repo = by_key[("GitRepository", "bigbang", "argocd")].labels
    assert repo["url"] == "https://repo1.dso.mil/big-bang/product/packages/argocd.git"
    assert repo["ref"] == "10.2.1-bb.0" and repo["ready"] == "True"
    assert repo["revision"].startswith("10.2.1-bb.0@sha1:")

    kustomizations = [s.labels for s in samples if s.labels["kind"] == "Kustomization"]
    assert all(k["path"] and k["source_name"] for k in kustomizations)
    # Alerts and Providers have no conditions; the Flux Operator reports them Ready.
    assert {s.labels["ready"] for s in samples if s.labels["kind"] in ("Alert", "Provider")} == {
        "True"
    }
    suspended = {(o.kind, o.namespace, o.name) for o in flux.filter(suspended=True)}
    assert {k for k, s in by_key.items() if s.labels["suspended"] == "True"} == suspended


def test_argocd_info_has_argo_cd_labels_and_matches_the_store(client, polled):
    samples = scrape(client)["tidewatch_argocd_app_info"]
    apps = GitOpsObject.objects.filter(tool="argocd", kind="Application")
    assert len(samples) == apps.count() > 4
    assert all(set(s.labels) == set(ARGO_INFO_LABELS) for s in samples)
    for sample in samples:
        labels = sample.labels
        app = apps.get(namespace=labels["namespace"], name=labels["name"])
        spec = app.raw["spec"]
        assert labels["project"] == spec["project"]
        assert labels["dest_namespace"] == spec["destination"].get("namespace", "")
        assert labels["dest_server"] == spec["destination"].get("server", "")
        assert labels["sync_status"] == app.raw["status"]["sync"]["status"]
        assert labels["health_status"] == app.raw["status"]["health"]["status"]
        first_source = spec.get("source") or spec["sources"][0]
        assert labels["repo"] == first_source["repoURL"]
        automated = (spec.get("syncPolicy") or {}).get("automated")
        expected = automated is not None and automated.get("enabled", True) is not False
        assert labels["autosync_enabled"] == str(expected).lower()
        assert labels["operation"] == ("sync" if "operation" in app.raw else "")
    data_platform = next(s.labels for s in samples if s.labels["name"] == "data-platform")
    assert data_platform["sync_status"] == "OutOfSync"


def test_object_counts_and_status_match_the_store(client, polled):
    families = scrape(client)
    counts = {
        (s.labels["tool"], s.labels["kind"], s.labels["status"]): s.value
        for s in families["tidewatch_objects"]
    }
    stored = Counter(GitOpsObject.objects.values_list("tool", "kind", "status"))
    assert counts == {key: float(n) for key, n in stored.items()}
    degraded = {
        (s.labels["kind"], s.labels["exported_namespace"], s.labels["name"])
        for s in families["tidewatch_object_status"]
        if s.labels["status"] == "Degraded"
    }
    assert ("HelmRelease", "bigbang", "gitlab") in degraded
    assert len(families["tidewatch_object_status"]) == GitOpsObject.objects.count()


def test_violations_by_code_and_severity_with_zeros(client, polled):
    samples = scrape(client)["tidewatch_ownership_violations"]
    assert {s.labels["code"] for s in samples} >= set(CODES)
    assert all(s.labels["severity"] == CODES[s.labels["code"]][0] for s in samples)
    stored = Counter(Violation.objects.values_list("code", flat=True))
    assert sum(s.value for s in samples) == Violation.objects.count() > 0
    for sample in samples:
        assert sample.value == stored.get(sample.labels["code"], 0)


def test_poll_timestamps_duration_and_interval(client, polled):
    families = scrape(client)
    cluster = Cluster.objects.get(name="demo")
    run = PollRun.objects.get(cluster=cluster)

    def value(name):
        (sample,) = families[name]
        assert sample.labels == {"cluster": "demo"}
        return sample.value

    assert value("tidewatch_last_successful_poll_timestamp_seconds") == pytest.approx(
        cluster.last_success_at.timestamp()
    )
    assert value("tidewatch_last_poll_timestamp_seconds") == pytest.approx(
        cluster.last_poll_finished_at.timestamp()
    )
    assert value("tidewatch_poll_duration_seconds") == pytest.approx(
        (run.finished_at - run.started_at).total_seconds()
    )
    assert value("tidewatch_poll_interval_seconds") == cluster.poll_interval
    assert value("tidewatch_cluster_enabled") == 1
    assert families["tidewatch_poll_errors"] == []


def test_poll_errors_by_reason_for_failing_kinds_and_whole_clusters(client, polled, demo):
    demo.set_fault("/helmreleases", status=403)
    demo.set_fault("/kustomizations", status=403)
    poll_cluster(polled)
    errors = {s.labels["reason"]: s.value for s in scrape(client)["tidewatch_poll_errors"]}
    assert errors == {"Forbidden": 2.0}

    demo.clear_faults()
    demo.set_fault("/api", status=401)
    poll_cluster(polled)
    families = scrape(client)
    errors = {s.labels["reason"]: s.value for s in families["tidewatch_poll_errors"]}
    assert errors == {"Unauthorized": 1.0}
    # The last success stays where it was: that is what the stale-poll alert watches.
    (last_success,) = families["tidewatch_last_successful_poll_timestamp_seconds"]
    assert last_success.value == pytest.approx(
        Cluster.objects.get(name="demo").last_success_at.timestamp()
    )


def test_a_scrape_costs_the_same_queries_whatever_the_store_holds(
    demo_kubeconfig, tmp_path, settings, django_assert_num_queries
):
    """Six queries: clusters (with their latest finished poll), those polls, all objects,
    Application extras, violations by code, controller workloads — one or three clusters
    alike."""

    def write(names):
        path = tmp_path / "clusters.yaml"
        entries = [
            {"name": n, "kubeconfig": str(demo_kubeconfig), "context": "demo"} for n in names
        ]
        path.write_text(yaml.safe_dump({"clusters": entries}))
        settings.TIDEWATCH_CLUSTERS = str(path)
        for cluster in sync_clusters():
            poll_cluster(cluster)

    write(["one"])
    with django_assert_num_queries(6):
        small = list(StoreCollector().collect())
    write(["one", "two", "three"])
    with django_assert_num_queries(6):
        large = list(StoreCollector().collect())
    size = {f.name: len(f.samples) for f in small}
    grown = {f.name: len(f.samples) for f in large}
    assert grown["tidewatch_flux_resource_info"] == 3 * size["tidewatch_flux_resource_info"]
    assert grown["tidewatch_controller_info"] == 3 * size["tidewatch_controller_info"] > 0


def test_metrics_need_a_login_unless_anonymous_read(client, polled, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = False
    response = client.get("/metrics")
    assert response.status_code == 401 and response.json() == {"error": "authentication required"}


def test_metrics_token_protects_the_endpoint(client, polled, settings):
    settings.TIDEWATCH_METRICS_TOKEN = "scrape-me-0123456789"
    # Anonymous read does not open /metrics once a token is configured.
    response = client.get("/metrics")
    assert response.status_code == 401 and response.json() == {"error": "bearer token required"}
    assert response["WWW-Authenticate"].startswith("Bearer")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401 and wrong.json() == {"error": "invalid token"}
    assert "tidewatch_objects" in scrape(client, HTTP_AUTHORIZATION="Bearer scrape-me-0123456789")


def test_an_api_token_can_scrape_too(client, polled, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = False
    settings.TIDEWATCH_METRICS_TOKEN = "configured-token"
    _, token = ApiToken.issue("prometheus")
    assert "tidewatch_objects" in scrape(client, HTTP_AUTHORIZATION=f"Bearer {token}")
