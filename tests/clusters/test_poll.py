"""The whole data path against the demo cluster over HTTP: collect → normalize → store."""

from __future__ import annotations

from collections import Counter

import pytest

from clusters.demo.kubeconfig import write_kubeconfig
from clusters.demo.scenario import build_platform
from clusters.demo.server import DemoCluster
from clusters.models import (
    Cluster,
    Dependency,
    GitOpsObject,
    KindState,
    ManagedResource,
    Namespace,
    ObjectTarget,
    PollRun,
    StatusTransition,
)
from clusters.poll import poll_cluster

pytestmark = pytest.mark.django_db

GITOPS_GROUPS = {
    "source.toolkit.fluxcd.io",
    "kustomize.toolkit.fluxcd.io",
    "helm.toolkit.fluxcd.io",
    "notification.toolkit.fluxcd.io",
    "image.toolkit.fluxcd.io",
    "argoproj.io",
}


def served_counts() -> Counter:
    return Counter(
        o["kind"] for o in build_platform() if o["apiVersion"].split("/")[0] in GITOPS_GROUPS
    )


def fail_flux_system_build(demo: DemoCluster, message: str) -> None:
    """Write status as kustomize-controller does when the build of flux-system fails."""
    condition = {
        "type": "Ready",
        "status": "False",
        "reason": "BuildFailed",
        "message": message,
        "lastTransitionTime": "2026-11-26T10:00:00Z",
        "observedGeneration": 1,
    }
    demo.patch_status(
        "kustomize.toolkit.fluxcd.io",
        "kustomizations",
        "flux-system",
        "flux-system",
        {"conditions": [condition]},
    )


def get(kind: str, namespace: str, name: str) -> GitOpsObject:
    return GitOpsObject.objects.get(kind=kind, namespace=namespace, name=name)


def test_first_poll_stores_every_flux_and_argo_object(demo_cluster):
    run = poll_cluster(demo_cluster)

    assert run.ok, run.errors
    stored = Counter(GitOpsObject.objects.values_list("kind", flat=True))
    assert stored == served_counts()
    assert run.objects_written == sum(stored.values())
    assert {"flux-system", "bigbang", "argocd", "sandbox"} <= set(
        Namespace.objects.values_list("name", flat=True)
    )
    assert not KindState.objects.filter(state=KindState.ERROR).exists()


def test_statuses_targets_and_claims_are_stored_as_normalized(demo_cluster):
    poll_cluster(demo_cluster)

    gitlab = get("HelmRelease", "bigbang", "gitlab")
    assert gitlab.status == "Degraded" and gitlab.sync == "OutOfSync"
    assert gitlab.target_namespaces == ["gitlab"]
    assert gitlab.message

    istiod = get("HelmRelease", "bigbang", "istiod")
    assert istiod.status == "Healthy" and "istio-system" in istiod.target_namespaces
    assert any(
        d["relation"] == "dependsOn" and d["name"] == "istio-crds" for d in istiod.dependencies
    )

    data_platform = get("Application", "argocd", "data-platform")
    assert data_platform.sync == "OutOfSync"
    assert "data-platform" in data_platform.target_namespaces

    portfolio = get("Application", "argocd", "portfolio")
    assert "istio-system" in portfolio.target_namespaces, "the cross-boundary deployment"

    # The same ConfigMap is claimed by a Flux HelmRelease and an Argo CD Application.
    claims = ManagedResource.objects.filter(
        kind="ConfigMap", namespace="monitoring", name="grafana-dashboard-portfolio"
    ).values_list("obj__tool", flat=True)
    assert sorted(claims) == ["argocd", "flux"]

    # Argo CD >= 3.0 keeps per-resource health out of the Application: stored as not reported.
    assert ManagedResource.objects.filter(obj=portfolio, health="").exists()

    waiting = GitOpsObject.objects.filter(kind="Kustomization", reason="DependencyNotReady")
    assert waiting.exists() and all(k.status == "Progressing" for k in waiting)

    assert "managedFields" not in gitlab.raw["metadata"]


def test_an_unchanged_repoll_writes_no_object_rows(demo_cluster, django_assert_max_num_queries):
    poll_cluster(demo_cluster)
    transitions = StatusTransition.objects.count()

    run = poll_cluster(demo_cluster)

    assert run.ok and run.objects_written == 0 and run.objects_deleted == 0
    assert StatusTransition.objects.count() == transitions
    assert all(c["created"] == c["updated"] == 0 for c in run.counts.values())


def test_a_status_change_updates_one_object_and_records_the_transition(demo, demo_cluster):
    poll_cluster(demo_cluster)
    fail_flux_system_build(demo, "kustomize build failed: accumulating resources: missing file")

    run = poll_cluster(demo_cluster)

    assert run.objects_written == 1
    obj = get("Kustomization", "flux-system", "flux-system")
    assert obj.status == "Degraded" and obj.reason == "BuildFailed"
    change = StatusTransition.objects.filter(obj=obj, field="status").first()
    assert (change.from_value, change.to_value) == ("Healthy", "Degraded")
    assert "kustomize build failed" in change.message


def test_an_object_gone_from_the_cluster_is_removed_with_a_transition(demo, demo_cluster):
    poll_cluster(demo_cluster)
    demo.delete("argoproj.io", "applications", "argocd", "ai-services")

    run = poll_cluster(demo_cluster)

    assert run.objects_deleted == 1
    assert not GitOpsObject.objects.filter(kind="Application", name="ai-services").exists()
    gone = StatusTransition.objects.get(name="ai-services", field="presence", to_value="Deleted")
    assert gone.obj is None and gone.kind == "Application"


def test_deleting_a_cluster_deletes_every_row_stored_for_it(demo_cluster):
    # Claims, targets and dependency edges carry no database constraint on their cluster
    # (their object's covers it): the ORM's cascade must still remove them with the cluster.
    poll_cluster(demo_cluster)
    child_models = (ManagedResource, ObjectTarget, Dependency)
    assert all(m.objects.filter(cluster=demo_cluster).exists() for m in child_models)

    demo_cluster.delete()

    assert not GitOpsObject.objects.exists()
    assert [m.objects.count() for m in child_models] == [0, 0, 0]


def test_a_failed_kind_keeps_its_objects_stale_and_recovers(demo, demo_cluster):
    poll_cluster(demo_cluster)
    before = set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", "status"))
    demo.set_fault("helmreleases", status=403)
    demo.delete("argoproj.io", "applications", "argocd", "ai-services")

    run = poll_cluster(demo_cluster)

    assert not run.ok
    assert run.errors["helm.toolkit.fluxcd.io/HelmRelease"]["reason"] == "Forbidden"
    assert (
        set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", "status")) == before
    )
    state = KindState.objects.get(kind="HelmRelease")
    assert state.state == KindState.ERROR and "forbidden" in state.error.lower()
    # Other kinds went on: the deletion was seen.
    assert not GitOpsObject.objects.filter(name="ai-services").exists()

    demo.clear_faults()
    recovered = poll_cluster(demo_cluster)
    assert recovered.ok
    assert KindState.objects.get(kind="HelmRelease").state == KindState.OK


def test_an_unreachable_cluster_keeps_everything_and_says_why(demo, demo_cluster):
    poll_cluster(demo_cluster)
    stored = GitOpsObject.objects.count()
    demo.stop()

    run = poll_cluster(demo_cluster)

    assert not run.ok and run.error.startswith("Unreachable")
    assert GitOpsObject.objects.count() == stored
    demo_cluster.refresh_from_db()
    assert demo_cluster.last_error_reason == "Unreachable"
    assert KindState.objects.filter(state=KindState.ERROR).count() > 0


def test_a_group_that_is_not_installed_is_not_an_error(tmp_path, settings):
    server = DemoCluster(token="t", kinds_not_installed={"image.toolkit.fluxcd.io"})
    server.start()
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kc.yaml", server.url, "t")
        cluster = Cluster.objects.create(
            name="no-image", kubeconfig=str(kubeconfig), context="demo"
        )

        run = poll_cluster(cluster)
    finally:
        server.stop()

    assert run.ok
    states = KindState.objects.filter(group="image.toolkit.fluxcd.io")
    assert states.count() == 3 and all(s.state == KindState.NOT_INSTALLED for s in states)
    assert not GitOpsObject.objects.filter(group="image.toolkit.fluxcd.io").exists()
    assert GitOpsObject.objects.filter(kind="HelmRelease").exists()


def test_small_pages_still_return_every_object(demo_cluster, settings):
    settings.TIDEWATCH_LIST_PAGE_SIZE = 2

    poll_cluster(demo_cluster)

    assert Counter(GitOpsObject.objects.values_list("kind", flat=True)) == served_counts()


def test_a_malformed_object_is_stored_as_unknown_and_the_poll_goes_on(demo, demo_cluster):
    # A real API server validates against the CRD schema, so serve the broken object the way a
    # CRD with preserved unknown fields (or a buggy server) would: in the list body itself.
    good = demo.list("kustomize.toolkit.fluxcd.io", "kustomizations", None)
    broken = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "broken", "namespace": "flux-system", "resourceVersion": "1"},
        "spec": {"interval": "5m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"conditions": "Ready"},
    }
    body = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "KustomizationList",
        "metadata": {"resourceVersion": "1"},
        "items": [*good, broken],
    }
    demo.set_fault("/kustomizations?", status=200, body=body)

    run = poll_cluster(demo_cluster)

    assert run.ok
    stored = get("Kustomization", "flux-system", "broken")
    assert stored.status == "Unknown" and stored.reason == "Malformed"
    assert "conditions" in stored.message
    assert GitOpsObject.objects.filter(kind="Kustomization").count() == len(good) + 1


def test_poll_runs_are_recorded(demo_cluster):
    poll_cluster(demo_cluster)
    poll_cluster(demo_cluster)
    runs = PollRun.objects.filter(cluster=demo_cluster)
    assert runs.count() == 2 and all(r.finished_at for r in runs)


def test_an_expired_continue_token_restarts_the_list_once(demo, demo_cluster, settings):
    settings.TIDEWATCH_LIST_PAGE_SIZE = 2
    fault = demo.set_fault("helmreleases?limit=2&continue=", status=410, once=True)

    run = poll_cluster(demo_cluster)

    assert fault.hits == 1
    assert run.ok, run.errors
    assert GitOpsObject.objects.filter(kind="HelmRelease").count() == served_counts()["HelmRelease"]


def test_an_expired_continue_token_twice_fails_that_kind_only(demo, demo_cluster, settings):
    settings.TIDEWATCH_LIST_PAGE_SIZE = 2
    demo.set_fault("helmreleases?limit=2&continue=", status=410)

    run = poll_cluster(demo_cluster)

    assert run.errors["helm.toolkit.fluxcd.io/HelmRelease"]["reason"] == "Expired"
    assert GitOpsObject.objects.filter(kind="Kustomization").exists()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"status": 500}, "ServerError"),
        ({"status": 429, "headers": {"Retry-After": "0"}}, "TooManyRequests"),
        ({"status": 200, "truncate": True}, "ConnectionDropped"),
    ],
)
def test_a_failing_kind_is_reported_with_its_reason(demo, demo_cluster, fault, reason):
    poll_cluster(demo_cluster)
    demo.set_fault("/applications?", **fault)

    run = poll_cluster(demo_cluster)

    assert run.errors["argoproj.io/Application"]["reason"] == reason
    assert GitOpsObject.objects.filter(kind="Application").count() == served_counts()["Application"]
    assert KindState.objects.get(kind="Application").reason == reason


def test_controller_workloads_and_monitors_are_collected(demo_cluster):
    from clusters.models import Monitor, Workload

    poll_cluster(demo_cluster)
    workloads = {(w.namespace, w.name): w for w in Workload.objects.all()}
    assert ("flux-system", "helm-controller") in workloads
    server = workloads[("argocd", "argocd-server")]
    assert (server.desired, server.ready) == (2, 2)
    assert server.labels["helm.toolkit.fluxcd.io/name"] == "argocd"
    assert workloads[("argocd", "argocd-application-controller")].kind == "StatefulSet"
    assert not any(ns not in ("flux-system", "argocd") for ns, _ in workloads)
    (monitor,) = Monitor.objects.all()
    assert (monitor.kind, monitor.namespace) == ("PodMonitor", "flux-system")
    assert monitor.selector == {"matchLabels": {"app.kubernetes.io/part-of": "flux"}}

    ids = set(Workload.objects.values_list("id", flat=True))
    poll_cluster(demo_cluster)
    assert set(Workload.objects.values_list("id", flat=True)) == ids, "unchanged: not rewritten"


def test_monitors_not_installed_is_not_an_error(tmp_path):
    server = DemoCluster(token="t", kinds_not_installed={"monitoring.coreos.com"})
    server.start()
    try:
        kubeconfig = write_kubeconfig(tmp_path / "kc.yaml", server.url, "t")
        cluster = Cluster.objects.create(name="plain", kubeconfig=str(kubeconfig), context="demo")
        run = poll_cluster(cluster)
    finally:
        server.stop()
    assert run.ok
    assert KindState.objects.get(cluster=cluster, kind="PodMonitor").state == "not_installed"


def test_events_about_gitops_objects_are_collected(demo_cluster, demo):
    from clusters.models import Event

    poll_cluster(demo_cluster)

    gitlab = Event.objects.filter(involved_kind="HelmRelease", involved_name="gitlab")
    assert gitlab.exists()
    warning = gitlab.filter(type="Warning").first()
    assert warning is not None and warning.reason and warning.message and warning.last_seen
    assert warning.involved_group == "helm.toolkit.fluxcd.io"
    assert Event.objects.filter(involved_kind="Application", involved_name="data-platform").exists()
    # Only events about GitOps kinds are asked for.
    assert set(Event.objects.values_list("involved_kind", flat=True)) <= set(served_counts())


def test_a_huge_condition_message_is_capped_when_stored(demo, demo_cluster):
    huge = "x" * 32_768  # the CRD's maxLength: a real API server accepts no more
    fail_flux_system_build(demo, huge)
    poll_cluster(demo_cluster)
    stored = get("Kustomization", "flux-system", "flux-system")
    assert 32_000 < len(stored.message) < 32_100
    assert stored.message.endswith("[truncated by Tidewatch: 32,768 characters]")


def test_an_unchanged_repoll_does_not_recompute_ownership_or_rollups(demo, demo_cluster):
    from clusters.models import NamespaceRollup, OwnershipReport

    poll_cluster(demo_cluster)
    computed = OwnershipReport.objects.get().computed_at
    rollups = set(NamespaceRollup.objects.values_list("namespace", "updated_at"))

    poll_cluster(demo_cluster)
    assert OwnershipReport.objects.get().computed_at == computed
    assert set(NamespaceRollup.objects.values_list("namespace", "updated_at")) == rollups

    demo.delete("argoproj.io", "applications", "argocd", "sandbox-experiments")
    poll_cluster(demo_cluster)
    assert OwnershipReport.objects.get().computed_at > computed, "a real change recomputes"


def test_a_list_failing_part_way_loses_nothing_and_marks_the_kind_stale(
    demo, demo_cluster, settings
):
    poll_cluster(demo_cluster)
    stored = set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", flat=True))
    settings.TIDEWATCH_LIST_PAGE_SIZE = 2
    demo.set_fault("helmreleases?limit=2&continue=", status=500)

    run = poll_cluster(demo_cluster)

    assert run.errors["helm.toolkit.fluxcd.io/HelmRelease"]["reason"] == "ServerError"
    after = set(GitOpsObject.objects.filter(kind="HelmRelease").values_list("name", flat=True))
    assert after == stored, "pages after the failure were never seen: nothing is deleted"
    assert KindState.objects.get(kind="HelmRelease").state == KindState.ERROR
    assert not StatusTransition.objects.filter(kind="HelmRelease", to_value="Deleted").exists()
