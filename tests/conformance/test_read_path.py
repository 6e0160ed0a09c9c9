"""Today's read path against a real kube-apiserver: what Tidewatch stores from real Flux and Argo
CD objects (created by admin, status written through the status subresource as the controllers
do), polled as the `tidewatch` user with the shipped read-only ClusterRole."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from clusters.models import GitOpsObject, NamespaceRollup
from clusters.poll import poll_cluster
from clusters.registry import sync_clusters
from tests.conformance.conftest import Namespaces, samples_dir

NAME = "real"

# sample file -> what Tidewatch must store for it: tool, status, sync
EXPECTED = {
    "flux_gitrepository_ready.yaml": ("flux", "Healthy", "NotApplicable"),
    "flux_gitrepository_auth_failed_fetchfailed.yaml": ("flux", "Degraded", "NotApplicable"),
    "flux_kustomization_ready_inventory_dependson.yaml": ("flux", "Healthy", "Synced"),
    "flux_helmrelease_install_succeeded_ready.yaml": ("flux", "Healthy", "Synced"),
    "argocd_application_synced_healthy_with_history.yaml": ("argocd", "Healthy", "Synced"),
    "argocd_application_outofsync_degraded_warnings.yaml": ("argocd", "Degraded", "OutOfSync"),
}


@pytest.fixture
def real_cluster(realapi_kubeconfig: Path, tidewatch_rbac, tmp_path: Path, settings, db):
    """A clusters.yaml entry for the real server, through the `tidewatch` context."""
    path = tmp_path / "clusters.yaml"
    entry = {"name": NAME, "kubeconfig": str(realapi_kubeconfig), "context": "tidewatch"}
    path.write_text(yaml.safe_dump({"clusters": [entry]}))
    settings.TIDEWATCH_CLUSTERS = str(path)
    (cluster,) = sync_clusters()
    return cluster


def test_a_poll_as_tidewatch_stores_status_sync_and_owner_of_real_objects(
    real_cluster, namespaces: Namespaces
):
    flux = namespaces.create("flux")
    argo = namespaces.create("argo")
    apps = namespaces.create("apps")  # where the Argo CD Applications deploy to
    created = {}
    for sample in EXPECTED:
        path = samples_dir() / sample
        if sample.startswith("argocd_"):
            destination = {"server": "https://kubernetes.default.svc", "namespace": apps}
            created[sample] = namespaces.apply_sample(path, argo, destination=destination)
        else:
            created[sample] = namespaces.apply_sample(path, flux)

    run = poll_cluster(real_cluster)

    assert run.ok, (run.error, run.errors)
    stored = {
        (o.kind, o.namespace, o.name): o
        for o in GitOpsObject.objects.filter(cluster=real_cluster, namespace__in=[flux, argo])
    }
    got = {}
    for sample, obj in created.items():
        key = (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
        assert key in stored, f"{key} was not stored; stored: {sorted(stored)}"
        row = stored[key]
        got[sample] = (row.tool, row.status, row.sync)
        assert row.uid == obj["metadata"]["uid"]
    assert got == EXPECTED
    # Owner: who deploys into each namespace (the HelmRelease installs into its own).
    rollups = NamespaceRollup.objects.filter(cluster=real_cluster, namespace__in=[flux, apps])
    assert {r.namespace: (r.deployed_by, r.exists) for r in rollups} == {
        flux: (["flux"], True),
        apps: (["argocd"], True),
    }
