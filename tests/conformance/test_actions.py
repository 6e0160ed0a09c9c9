"""Every action's write against a real kube-apiserver with the Flux and Argo CD CRDs: accepted,
and landed where the controllers read it (annotations, spec.suspend, operation,
status.operationState.phase)."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from clusters.actions import patches
from clusters.actions.perform import ALLOWED, DENIED_BY_KUBERNETES, Params, Target, perform
from tests.conformance.conftest import Namespaces, samples_dir

KS_SAMPLE = "flux_kustomization_ready_inventory_dependson.yaml"
GIT_SAMPLE = "flux_gitrepository_ready.yaml"
HR_SAMPLE = "flux_helmrelease_install_succeeded_ready.yaml"
APP_SAMPLE = "argocd_application_synced_healthy_with_history.yaml"
RUNNING_SAMPLE = "argocd_application_progressing_operation_running.yaml"


def read(admin: k8s.ApiClient, target: Target) -> dict:
    info = target.info
    return k8s.CustomObjectsApi(admin).get_namespaced_custom_object(
        info.group, target.version or info.version, target.namespace, info.plural, target.name
    )


def act(admin, target, action, **params):
    outcome = perform(admin, target, action, Params(**params), username="alice")
    assert outcome.result == ALLOWED, outcome.message
    return outcome


@pytest.fixture
def flux(namespaces: Namespaces):
    ns = namespaces.create("flux")
    namespaces.apply_sample(samples_dir() / GIT_SAMPLE, ns, name="webapp")
    namespaces.apply_sample(samples_dir() / KS_SAMPLE, ns, name="webapp")
    namespaces.apply_sample(samples_dir() / HR_SAMPLE, ns, name="web")
    return ns


@pytest.fixture
def argo(namespaces: Namespaces):
    ns = namespaces.create("argo")
    destination = {"server": "https://kubernetes.default.svc", "namespace": ns}
    namespaces.apply_sample(samples_dir() / APP_SAMPLE, ns, name="app", destination=destination)
    return ns


def test_reconcile_force_and_reset_land_as_the_controllers_read_them(admin, flux):
    ks = Target("Kustomization", flux, "webapp")
    act(admin, ks, "reconcile")
    requested = read(admin, ks)["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
    assert requested
    hr = Target("HelmRelease", flux, "web")
    for action, key in (("force", "forceAt"), ("reset", "resetAt")):
        act(admin, hr, action)
        annotations = read(admin, hr)["metadata"]["annotations"]
        assert (
            annotations[f"reconcile.fluxcd.io/{key}"]
            == annotations["reconcile.fluxcd.io/requestedAt"]
        )


def test_reconcile_with_source_annotates_the_source_then_the_object(admin, flux):
    outcome = act(admin, Target("Kustomization", flux, "webapp"), "reconcile-with-source")
    assert [s["path"].rsplit("/", 2)[-2] for s in outcome.sent] == [
        "gitrepositories",
        "kustomizations",
    ]
    git = read(admin, Target("GitRepository", flux, "webapp"))["metadata"]["annotations"]
    ks = read(admin, Target("Kustomization", flux, "webapp"))["metadata"]["annotations"]
    assert git["reconcile.fluxcd.io/requestedAt"] == ks["reconcile.fluxcd.io/requestedAt"]


def test_suspend_and_resume_edit_only_spec_suspend(admin, flux):
    hr = Target("HelmRelease", flux, "web")
    before = read(admin, hr)
    act(admin, hr, "suspend")
    suspended = read(admin, hr)
    assert suspended["spec"] == {**before["spec"], "suspend": True}
    act(admin, hr, "resume")
    assert read(admin, hr)["spec"] == before["spec"]


@pytest.mark.parametrize(("action", "value"), [("refresh", "normal"), ("hard-refresh", "hard")])
def test_refresh_sets_the_annotation_the_application_controller_reads(admin, argo, action, value):
    app = Target("Application", argo, "app")
    act(admin, app, action)
    annotations = read(admin, app)["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/refresh"] == value
    assert annotations["argocd.argoproj.io/refresh-timestamp"]


def test_sync_writes_an_operation_the_crd_accepts_and_terminate_stops_it(admin, argo):
    app = Target("Application", argo, "app")
    before = read(admin, app)
    act(admin, app, "sync", revision=before["spec"]["source"].get("targetRevision", ""), prune=True)
    synced = read(admin, app)
    assert synced["operation"]["initiatedBy"] == {"username": "alice"}
    assert synced["operation"]["sync"]["prune"] is True
    assert "operationState" not in synced.get("status", {})
    assert synced["spec"] == before["spec"]

    # What the application controller writes when it starts the operation.
    synced.setdefault("status", {})["operationState"] = {
        "operation": synced["operation"],
        "phase": "Running",
        "startedAt": "2026-12-02T03:00:00Z",
    }
    k8s.CustomObjectsApi(admin).replace_namespaced_custom_object(
        "argoproj.io", "v1alpha1", argo, "applications", "app", synced
    )
    act(admin, app, "terminate")
    assert read(admin, app)["status"]["operationState"]["phase"] == "Terminating"


def test_a_sync_patch_from_a_stale_read_is_refused_by_the_real_server(admin, argo):
    # The merge patch carries the resourceVersion read, so a write in between makes it a 409,
    # as it makes argocd-server's update one: the operation never lands on a newer object.
    app = Target("Application", argo, "app")
    stale = read(admin, app)
    api = k8s.CustomObjectsApi(admin)
    api.patch_namespaced_custom_object(
        "argoproj.io",
        "v1alpha1",
        argo,
        "applications",
        "app",
        {"metadata": {"labels": {"moved": "on"}}},
        _content_type="application/merge-patch+json",
    )
    with pytest.raises(k8s.ApiException) as exc:
        api.patch_namespaced_custom_object(
            "argoproj.io",
            "v1alpha1",
            argo,
            "applications",
            "app",
            patches.sync_patch(stale, "alice"),
            _content_type="application/merge-patch+json",
        )
    assert exc.value.status == 409
    assert "operation" not in read(admin, app)


def test_a_missing_object_is_denied_by_the_cluster_with_its_reason(admin, flux):
    outcome = perform(
        admin, Target("Kustomization", flux, "nope"), "reconcile", Params(), username="a"
    )
    assert outcome.result == DENIED_BY_KUBERNETES and outcome.status == 404
    assert "not found" in outcome.message
