from __future__ import annotations

import pytest

from tests.builders import ADR_NAMESPACES

pytestmark = pytest.mark.django_db


def test_clusters_lists_the_cluster_with_its_kinds(client, polled):
    body = client.get("/api/v1/clusters").json()
    (cluster,) = body["clusters"]
    assert cluster["name"] == "demo" and cluster["stale"] is False
    assert cluster["server"].startswith("http://127.0.0.1:")
    kinds = {k["kind"]: k for k in cluster["kinds"]}
    assert kinds["HelmRelease"]["version"] == "v2" and kinds["HelmRelease"]["state"] == "ok"
    assert kinds["Application"]["version"] == "v1alpha1"


def test_namespaces_are_the_overview_rows_with_owners(client, polled):
    rows = {
        r["namespace"]: r
        for r in client.get("/api/v1/namespaces?cluster=demo").json()["namespaces"]
    }
    assert set(rows) >= ADR_NAMESPACES
    assert rows["istio-system"]["deployedBy"] == ["argocd", "flux"]
    assert rows["portfolio"]["deployedBy"] == ["argocd"]
    assert rows["monitoring"]["deployedBy"] == ["argocd", "flux"]
    assert rows["gitlab"]["deployedBy"] == ["flux"]
    assert rows["gitlab"]["status"] == "Degraded" and "gitlab" in rows["gitlab"]["headline"]
    assert rows["data-platform"]["sync"] == "OutOfSync"
    assert sum(rows["bigbang"]["statusCounts"].values()) == rows["bigbang"]["objectCount"]


def test_objects_filter_by_kind_and_status(client, polled):
    body = client.get("/api/v1/objects?cluster=demo&kind=HelmRelease&status=Degraded").json()
    assert body["count"] >= 1
    assert all(o["kind"] == "HelmRelease" and o["status"] == "Degraded" for o in body["objects"])
    assert "gitlab" in {o["name"] for o in body["objects"]}


def test_objects_are_paginated(client, polled):
    first = client.get("/api/v1/objects?page_size=5").json()
    assert len(first["objects"]) == 5 and first["pages"] > 1
    assert client.get("/api/v1/objects?page=999").status_code == 404
    assert client.get("/api/v1/objects?page_size=zero").status_code == 400


def test_object_detail_has_the_record_and_managed_resources(client, polled):
    body = client.get("/api/v1/objects/demo/HelmRelease/bigbang/monitoring").json()
    assert body["kind"] == "HelmRelease" and body["targetNamespaces"] == ["monitoring"]
    assert body["source"] and body["conditions"]
    claimed = [m for m in body["managedResources"] if m["name"] == "grafana-dashboard-portfolio"]
    assert [(m["kind"], m["namespace"]) for m in claimed] == [("ConfigMap", "monitoring")]


def test_argo_resource_health_is_null_when_not_reported(client, polled):
    body = client.get("/api/v1/objects/demo/Application/argocd/portfolio").json()
    assert body["managedResources"]
    assert any(m["health"] is None for m in body["managedResources"])


def test_unknown_object_is_a_404_with_a_reason(client, polled):
    response = client.get("/api/v1/objects/demo/HelmRelease/bigbang/nope")
    assert response.status_code == 404 and "nope" in response.json()["error"]


def test_the_api_needs_a_login_unless_anonymous_read(client, polled, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = False
    assert client.get("/api/v1/clusters").status_code == 401
    assert client.get("/").status_code == 302
    assert client.get("/healthz").status_code == 200
