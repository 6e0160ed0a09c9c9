"""ConfigMaps, Services and ClusterRoles as built-ins, and metadata.managedFields kept as written.

The live objects behind the planted ownership conflicts carry the managedFields a real cluster
would show, so "who wrote it last" can be read from the API. Everything goes through the real
``kubernetes`` client over HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiClient, ApiException

from clusters.demo.server import DemoCluster
from clusters.ownership.lastwriter import last_writers
from tests.demo.conftest import NOW, raw

RBAC = "rbac.authorization.k8s.io"
DASHBOARD = ("monitoring", "grafana-dashboard-portfolio")
SPARK_ROLE = "data-platform-spark"
MERGE_PATCH = "application/merge-patch+json"


def scenario_object(platform: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in platform if o["kind"] == kind and o["metadata"]["name"] == name)


def configmap(name: str, namespace: str = "portfolio", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **metadata},
        "data": {"key": "value"},
    }


def get_json(api: ApiClient, path: str) -> dict[str, Any]:
    status, _, data = raw(api, "GET", path)
    assert status == 200, data
    body: dict[str, Any] = json.loads(data)
    return body


# --- discovery -----------------------------------------------------------------------------------


def test_core_discovery_lists_configmaps_and_services(api_client: ApiClient) -> None:
    resources = {r.name: r for r in client.CoreV1Api(api_client).get_api_resources().resources}
    cm, svc = resources["configmaps"], resources["services"]
    assert (cm.kind, cm.namespaced, cm.singular_name, cm.short_names) == (
        "ConfigMap",
        True,
        "configmap",
        ["cm"],
    )
    assert (svc.kind, svc.namespaced, svc.short_names, svc.categories) == (
        "Service",
        True,
        ["svc"],
        ["all"],
    )
    assert {"get", "list", "watch", "patch"} <= set(cm.verbs) & set(svc.verbs)
    assert resources["services/status"].verbs == ["get", "patch", "update"]


def test_rbac_group_is_discovered_like_a_real_server(api_client: ApiClient) -> None:
    groups = client.ApisApi(api_client).get_api_versions().groups
    names = [g.name for g in groups]
    rbac = groups[names.index(RBAC)]
    assert [(v.group_version, v.version) for v in rbac.versions] == [(f"{RBAC}/v1", "v1")]
    assert rbac.preferred_version.group_version == f"{RBAC}/v1"
    # Built-in groups come first in the API server's priority order, then the CRD groups,
    # then metrics-server's APIService (groupPriorityMinimum 100, below the CRDs' 1000).
    assert names[:2] == ["apps", RBAC]
    assert names[-1] == "metrics.k8s.io"
    assert all("." in n and not n.endswith(".k8s.io") for n in names[2:-1])

    group = client.RbacAuthorizationApi(api_client).get_api_group()
    assert (group.name, group.preferred_version.version) == (RBAC, "v1")
    resources = {
        r.name: r for r in client.RbacAuthorizationV1Api(api_client).get_api_resources().resources
    }
    assert set(resources) == {"clusterroles"}
    role = resources["clusterroles"]
    assert (role.kind, role.namespaced, role.singular_name) == ("ClusterRole", False, "clusterrole")
    assert "deletecollection" in role.verbs


# --- managedFields on the contested ConfigMap ----------------------------------------------------


def test_contested_configmap_shows_both_writers(api_client: ApiClient) -> None:
    cm = client.CoreV1Api(api_client).read_namespaced_config_map(DASHBOARD[1], DASHBOARD[0])
    labels, annotations = cm.metadata.labels, cm.metadata.annotations
    assert labels["helm.toolkit.fluxcd.io/name"] == "monitoring"
    assert labels["helm.toolkit.fluxcd.io/namespace"] == "bigbang"
    assert labels["app.kubernetes.io/managed-by"] == "Helm"
    assert annotations["meta.helm.sh/release-name"] == "monitoring"
    assert annotations["meta.helm.sh/release-namespace"] == "monitoring"
    assert (
        annotations["argocd.argoproj.io/tracking-id"]
        == "portfolio:/ConfigMap:monitoring/grafana-dashboard-portfolio"
    )

    helm, argo = cm.metadata.managed_fields
    assert (helm.manager, helm.operation, helm.api_version) == ("helm-controller", "Update", "v1")
    assert (argo.manager, argo.operation, argo.api_version) == ("argocd-controller", "Apply", "v1")
    assert helm.fields_type == argo.fields_type == "FieldsV1"
    # Both write the dashboard; Argo CD's sync (five hours ago) came after Helm's upgrade.
    assert helm.time == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert argo.time == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert helm.time < argo.time <= NOW
    assert set(cm.data) == {"portfolio.json"}
    for entry in (helm, argo):
        assert "f:portfolio.json" in entry.fields_v1["f:data"]
    assert "f:helm.toolkit.fluxcd.io/name" in helm.fields_v1["f:metadata"]["f:labels"]
    assert "f:argocd.argoproj.io/tracking-id" in argo.fields_v1["f:metadata"]["f:annotations"]
    assert "f:argocd.argoproj.io/tracking-id" not in helm.fields_v1["f:metadata"]["f:annotations"]


def test_managed_fields_are_served_exactly_as_written(
    api_client: ApiClient, platform: list[dict[str, Any]]
) -> None:
    written = scenario_object(platform, "ConfigMap", DASHBOARD[1])["metadata"]["managedFields"]
    got = get_json(api_client, "/api/v1/namespaces/monitoring/configmaps/" + DASHBOARD[1])
    assert got["metadata"]["managedFields"] == written
    # Who wrote it last can be read straight off the API answer.
    writer = last_writers(got)
    assert (writer.tool, writer.manager, writer.at) == (
        "argocd",
        "argocd-controller",
        "2026-11-26T07:00:00Z",
    )


def test_lists_and_watches_return_managed_fields(api_client: ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    everywhere = core.list_config_map_for_all_namespaces()
    (cm,) = [i for i in everywhere.items if (i.metadata.namespace, i.metadata.name) == DASHBOARD]
    assert [m.manager for m in cm.metadata.managed_fields] == [
        "helm-controller",
        "argocd-controller",
    ]
    in_namespace = core.list_namespaced_config_map(
        "monitoring", field_selector=f"metadata.name={DASHBOARD[1]}"
    )
    assert len(in_namespace.items[0].metadata.managed_fields) == 2

    status, _, data = raw(
        api_client,
        "GET",
        "/api/v1/namespaces/monitoring/configmaps",
        [
            ("watch", "1"),
            ("timeoutSeconds", "1"),
            ("fieldSelector", f"metadata.name={DASHBOARD[1]}"),
        ],
    )
    assert status == 200
    (event,) = [json.loads(line) for line in data.splitlines() if line.strip()]
    assert event["type"] == "ADDED"
    assert len(event["object"]["metadata"]["managedFields"]) == 2


# --- the ClusterRole -----------------------------------------------------------------------------


def test_clusterroles_list_cluster_wide(api_client: ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(api_client)
    listed = rbac.list_cluster_role()
    assert [r.metadata.name for r in listed.items] == [SPARK_ROLE]
    assert listed.metadata.resource_version
    role = rbac.read_cluster_role(SPARK_ROLE)
    assert role.metadata.namespace is None
    assert (
        role.metadata.annotations["argocd.argoproj.io/tracking-id"]
        == f"data-platform:{RBAC}/ClusterRole:/{SPARK_ROLE}"
    )
    assert "sparkapplications" in role.rules[0].resources
    (entry,) = role.metadata.managed_fields
    assert (entry.manager, entry.operation, entry.api_version) == (
        "argocd-controller",
        "Update",
        f"{RBAC}/v1",
    )
    assert "f:rules" in entry.fields_v1

    body = get_json(api_client, f"/apis/{RBAC}/v1/clusterroles")
    assert (body["kind"], body["apiVersion"]) == ("ClusterRoleList", f"{RBAC}/v1")
    assert "kind" not in body["items"][0]  # typed lists leave apiVersion/kind off their items
    # A cluster-scoped resource has no namespaced path.
    status, _, _ = raw(api_client, "GET", f"/apis/{RBAC}/v1/namespaces/default/clusterroles")
    assert status == 404


def test_rbac_not_installed_drops_the_group(client_for: Callable[..., ApiClient]) -> None:
    with DemoCluster(kinds_not_installed={RBAC}) as cluster:
        api = client_for(cluster)
        assert RBAC not in {g.name for g in client.ApisApi(api).get_api_versions().groups}
        assert cluster.store.list(RBAC, "ClusterRole")[1] == []


# --- objects without managedFields, and writes ---------------------------------------------------


def test_configmap_applied_without_managed_fields_has_none(
    fresh_cluster: DemoCluster, fresh_client: ApiClient
) -> None:
    fresh_cluster.apply(configmap("plain"))
    core = client.CoreV1Api(fresh_client)
    assert core.read_namespaced_config_map("plain", "portfolio").metadata.managed_fields is None
    got = get_json(fresh_client, "/api/v1/namespaces/portfolio/configmaps/plain")
    assert "managedFields" not in got["metadata"]
    # ConfigMaps have no metadata.generation, as on a real server.
    assert "generation" not in got["metadata"]

    created = core.create_namespaced_config_map(
        "portfolio", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="posted"))
    )
    assert created.metadata.managed_fields is None


def test_apply_keeps_managed_fields_exactly(fresh_cluster: DemoCluster) -> None:
    entries = [
        {
            "manager": "kubectl-client-side-apply",
            "operation": "Update",
            "apiVersion": "v1",
            "time": "2026-11-01T08:30:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {".": {}, "f:key": {}}},
        }
    ]
    stored = fresh_cluster.apply(configmap("by-hand", managedFields=entries))
    assert stored["metadata"]["managedFields"] == entries
    again = fresh_cluster.apply(configmap("by-hand"))
    assert "managedFields" not in again["metadata"]  # apply() stores what it is given


def test_http_writes_keep_managed_fields_unless_reset(
    fresh_client: ApiClient, platform: list[dict[str, Any]]
) -> None:
    core = client.CoreV1Api(fresh_client)
    written = scenario_object(platform, "ConfigMap", DASHBOARD[1])["metadata"]["managedFields"]
    path = "/api/v1/namespaces/monitoring/configmaps/" + DASHBOARD[1]

    # A client that does not know the field (merge patch, or PUT without it) cannot erase it.
    core.patch_namespaced_config_map(
        DASHBOARD[1],
        DASHBOARD[0],
        {"metadata": {"labels": {"reviewed": "true"}}},
        _content_type=MERGE_PATCH,
    )
    cm = core.read_namespaced_config_map(DASHBOARD[1], DASHBOARD[0])
    cm.metadata.managed_fields = None
    core.replace_namespaced_config_map(DASHBOARD[1], DASHBOARD[0], cm)
    got = get_json(fresh_client, path)
    assert got["metadata"]["labels"]["reviewed"] == "true"
    assert got["metadata"]["managedFields"] == written

    # [{}] is the documented reset.
    cm = core.read_namespaced_config_map(DASHBOARD[1], DASHBOARD[0])
    cm.metadata.managed_fields = [client.V1ManagedFieldsEntry()]
    assert (
        core.replace_namespaced_config_map(DASHBOARD[1], DASHBOARD[0], cm).metadata.managed_fields
        is None
    )
    assert "managedFields" not in get_json(fresh_client, path)["metadata"]


def test_services_are_served(fresh_cluster: DemoCluster, fresh_client: ApiClient) -> None:
    fresh_cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "portfolio-api", "namespace": "portfolio"},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": "10.43.18.7",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
                "selector": {"app.kubernetes.io/name": "portfolio-api"},
            },
            "status": {"loadBalancer": {}},
        }
    )
    core = client.CoreV1Api(fresh_client)
    listed = core.list_service_for_all_namespaces()
    assert [(s.metadata.namespace, s.metadata.name) for s in listed.items] == [
        ("portfolio", "portfolio-api")
    ]
    svc = core.read_namespaced_service("portfolio-api", "portfolio")
    assert svc.spec.ports[0].target_port == 8080
    assert svc.metadata.managed_fields is None
    with pytest.raises(ApiException) as excinfo:
        core.read_namespaced_service("portfolio-api", "data-platform")
    assert excinfo.value.status == 404
