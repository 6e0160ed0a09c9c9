"""The demo's argocd-server (clusters/demo/argocd.py) over HTTP: token auth with argocd-server's
error JSON, and the ApplicationTree / ManagedResourcesResponse shapes of Argo CD v3."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3

from clusters.demo.argocd import PREFIX
from clusters.demo.server import DemoCluster

TOKEN = "demo-argocd-token"


def get(demo: DemoCluster, path: str, token: str | None = TOKEN) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    response = urllib3.request("GET", f"{demo.url}{PREFIX}{path}", headers=headers, retries=False)
    return response.status, json.loads(response.data)


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "no session information"), ("wrong", "invalid session: token signature is invalid")],
)
def test_without_the_token_argocd_server_answers_401(demo_cluster, token, message):
    status, body = get(demo_cluster, "/api/v1/applications/portfolio/resource-tree", token)
    assert status == 401
    assert body == {"error": message, "code": 16, "message": message, "details": []}


def test_the_kubernetes_token_is_not_argocd_servers(demo_cluster):
    status, _ = get(demo_cluster, "/api/v1/applications/portfolio/resource-tree", "demo-token")
    assert status == 401


def test_an_unknown_application_is_404(demo_cluster):
    status, body = get(demo_cluster, "/api/v1/applications/nope/managed-resources")
    assert status == 404 and body["code"] == 5
    assert body["message"] == 'applications.argoproj.io "nope" not found'


def test_the_resource_tree_has_deployments_replicasets_and_pods(demo_cluster):
    status, tree = get(demo_cluster, "/api/v1/applications/data-platform/resource-tree")
    assert status == 200 and set(tree) == {"nodes"}
    nodes = {(n.get("group", ""), n["kind"], n["name"]): n for n in tree["nodes"]}
    worker = nodes[("apps", "Deployment", "ingest-worker")]
    assert worker["health"] == {"status": "Healthy"} and worker["version"] == "v1"
    replica_sets = [n for n in tree["nodes"] if n["kind"] == "ReplicaSet"
                    and n["parentRefs"][0]["uid"] == worker["uid"]]  # fmt: skip
    assert len(replica_sets) == 1
    pods = [n for n in tree["nodes"] if n["kind"] == "Pod"
            and n["parentRefs"][0]["uid"] == replica_sets[0]["uid"]]  # fmt: skip
    assert len(pods) == 4  # the live Deployment's replicas
    assert {i["name"] for i in pods[0]["info"]} >= {"Status Reason", "Node", "Containers"}
    assert "health" not in nodes[("", "ConfigMap", "pipeline-config")]  # no health check
    assert ("", "Secret", "pipeline-credentials") in nodes


def test_managed_resources_are_resource_diffs_with_json_string_states(demo_cluster):
    status, answer = get(demo_cluster, "/api/v1/applications/data-platform/managed-resources")
    assert status == 200 and set(answer) == {"items"}
    items = {(i.get("group", ""), i["kind"], i["name"]): i for i in answer["items"]}
    worker = items[("apps", "Deployment", "ingest-worker")]
    assert worker["modified"] is True
    live = json.loads(worker["normalizedLiveState"])
    predicted = json.loads(worker["predictedLiveState"])
    target = json.loads(worker["targetState"])
    assert (live["spec"]["replicas"], predicted["spec"]["replicas"]) == (4, 3)
    assert "status" not in target and "uid" not in target["metadata"]
    assert "modified" not in items[("", "Service", "airflow-webserver")]
    secret = items[("", "Secret", "pipeline-credentials")]
    assert set(json.loads(secret["liveState"])["data"].values()) == {"++++++++"}  # masked


def test_app_namespace_selects_the_application(demo_cluster):
    status, _ = get(demo_cluster, "/api/v1/applications/portfolio/resource-tree?appNamespace=x")
    assert status == 404
    status, _ = get(
        demo_cluster, "/api/v1/applications/portfolio/resource-tree?appNamespace=argocd"
    )
    assert status == 200
