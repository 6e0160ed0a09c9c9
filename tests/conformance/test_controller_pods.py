"""The controllers' Pods on a real kube-apiserver, as the `tidewatch` user with the shipped
ClusterRole: a controller labelled part of Flux, its Pod (owned through its ReplicaSet, with
restarts the kubelet reported) read and summed; the real server has no metrics-server, so usage
is "unavailable" with the reason, and the poll is not failing for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from clusters.collect.core import METRICS_NOT_SERVED
from clusters.models import KindState, Workload
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters
from tests.conformance.conftest import Namespaces

IMAGE = "ghcr.io/fluxcd/source-controller:v1.9.1"
LABELS = {"app": "source-controller", "app.kubernetes.io/part-of": "flux"}


@pytest.fixture
def real_cluster(realapi_kubeconfig: Path, tidewatch_rbac, tmp_path: Path, settings, db):
    path = tmp_path / "clusters.yaml"
    entry = {"name": "real", "kubeconfig": str(realapi_kubeconfig), "context": "tidewatch"}
    path.write_text(yaml.safe_dump({"clusters": [entry]}))
    settings.TIDEWATCH_CLUSTERS = str(path)
    (cluster,) = sync_clusters()
    return cluster


def test_a_controllers_pods_are_read_and_usage_is_unavailable_without_metrics_server(
    real_cluster, admin, namespaces: Namespaces
):
    namespace = namespaces.create("flux")
    core, apps = k8s.CoreV1Api(admin), k8s.AppsV1Api(admin)
    # No controller-manager here: the ServiceAccount it would create for Pods is made by hand.
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "default"}})
    template = {
        "metadata": {"labels": LABELS},
        "spec": {"containers": [{"name": "manager", "image": IMAGE}]},
    }
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "source-controller", "labels": LABELS},
            "spec": {"selector": {"matchLabels": LABELS}, "template": template},
        },
    )
    pod_hash = "5d8f7c9b6"
    pod = core.create_namespaced_pod(
        namespace,
        {
            "metadata": {
                "name": f"source-controller-{pod_hash}-x7k2p",
                "labels": {**LABELS, "pod-template-hash": pod_hash},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "name": f"source-controller-{pod_hash}",
                        "uid": "6f0e9a4c-1b2d-4e5f-8a9b-0c1d2e3f4a5b",
                        "controller": True,
                    }
                ],
            },
            "spec": template["spec"],
        },
    )
    started = "2026-12-01T10:00:00Z"
    core.patch_namespaced_pod_status(
        pod.metadata.name,
        namespace,
        {
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "manager",
                        "image": IMAGE,
                        "imageID": "",
                        "ready": True,
                        "restartCount": 2,
                        "state": {"running": {"startedAt": started}},
                    }
                ],
            }
        },
    )

    run = poll_cluster(real_cluster)

    assert run.ok, (run.error, run.errors)
    workload = Workload.objects.get(cluster=real_cluster, namespace=namespace)
    assert (workload.images, workload.pods, workload.restarts) == ([IMAGE], 1, 2)
    assert (workload.usage, workload.usage_reason) == (None, METRICS_NOT_SERVED)
    real_cluster.refresh_from_db()
    assert (real_cluster.metrics_state, real_cluster.metrics_reason) == (
        "unavailable",
        METRICS_NOT_SERVED,
    )
    assert KindState.objects.get(cluster=real_cluster, kind="Pod").state == KindState.OK
    assert real_cluster.deprecated_apis == [], "the real server serves current Flux CRDs"
