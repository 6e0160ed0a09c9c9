"""The demo's metrics-server API through the real client: discovered as its APIService
registers it, PodMetrics listed and got as metrics-server serves them (no resourceVersion, the
Pod's labels, usage in nanocores and KiB), read-only, and gone when metrics-server is."""

from __future__ import annotations

import json

from kubernetes import client

from tests.demo.conftest import raw

GROUP = "metrics.k8s.io"


def get(api, path, query=None):
    status, _, data = raw(api, "GET", path, query)
    return status, (json.loads(data) if data.startswith(b"{") else data)


def test_metrics_server_is_discovered_after_the_crd_groups_with_get_and_list_only(api_client):
    names = [g.name for g in client.ApisApi(api_client).get_api_versions().groups]
    assert names[-1] == GROUP
    status, resources = get(api_client, f"/apis/{GROUP}/v1beta1")
    assert status == 200
    assert resources["groupVersion"] == f"{GROUP}/v1beta1"
    assert {
        (r["name"], r["kind"], r["namespaced"], tuple(r["verbs"])) for r in resources["resources"]
    } == {
        ("nodes", "NodeMetrics", False, ("get", "list")),
        ("pods", "PodMetrics", True, ("get", "list")),
    }


def test_pod_metrics_are_listed_per_namespace_and_by_label_and_got_by_name(api_client):
    status, listed = get(api_client, f"/apis/{GROUP}/v1beta1/namespaces/argocd/pods")
    assert status == 200 and listed["kind"] == "PodMetricsList" and listed["metadata"] == {}
    pods = client.CoreV1Api(api_client).list_namespaced_pod("argocd").items
    assert {m["metadata"]["name"] for m in listed["items"]} == {p.metadata.name for p in pods}
    item = listed["items"][0]
    assert "resourceVersion" not in item["metadata"] and item["window"].endswith("s")
    usage = item["containers"][0]["usage"]
    assert usage["cpu"].endswith("n") and usage["memory"].endswith("Ki")

    selector = [("labelSelector", "app.kubernetes.io/component=repo-server")]
    _, repo = get(api_client, f"/apis/{GROUP}/v1beta1/pods", selector)
    assert len(repo["items"]) == 2
    name = repo["items"][0]["metadata"]["name"]
    status, one = get(api_client, f"/apis/{GROUP}/v1beta1/namespaces/argocd/pods/{name}")
    assert (status, one["kind"], one["metadata"]["name"]) == (200, "PodMetrics", name)
    status, missing = get(api_client, f"/apis/{GROUP}/v1beta1/namespaces/argocd/pods/gone")
    assert (status, missing["reason"]) == (404, "NotFound")


def test_pod_metrics_cannot_be_watched_or_written(api_client):
    status, _ = get(api_client, f"/apis/{GROUP}/v1beta1/pods", [("watch", "true")])
    assert status == 405
    status, _, _ = raw(api_client, "POST", f"/apis/{GROUP}/v1beta1/namespaces/argocd/pods", body={})
    assert status == 405


def test_without_metrics_server_the_group_is_not_served(fresh_cluster, fresh_client):
    fresh_cluster.uninstall(GROUP)
    names = [g.name for g in client.ApisApi(fresh_client).get_api_versions().groups]
    assert GROUP not in names
    status, _ = get(fresh_client, f"/apis/{GROUP}/v1beta1/namespaces/argocd/pods")
    assert status == 404


def test_the_controllers_pods_are_owned_as_their_controllers_make_them(api_client):
    pods = client.CoreV1Api(api_client).list_namespaced_pod("flux-system").items
    helm = next(p for p in pods if p.metadata.name.startswith("helm-controller-"))
    (owner,) = helm.metadata.owner_references
    assert owner.kind == "ReplicaSet" and owner.controller
    assert owner.name == f"helm-controller-{helm.metadata.labels['pod-template-hash']}"
    assert helm.status.phase == "Running"
    restarts = {
        p.metadata.name: p.status.container_statuses[0].restart_count
        for p in client.CoreV1Api(api_client).list_namespaced_pod("argocd").items
    }
    assert sum(restarts.values()) == 3, "one controller restarted"
