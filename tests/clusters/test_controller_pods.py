"""The Controllers view's data over HTTP against the demo cluster: images, Pods, restarts and
metrics.k8s.io usage stored on the controllers' workloads, by poll and by watch; the metrics
API absent, forbidden or failing (unavailable with the reason, the last figures kept); the
Pods list forbidden; Flux kinds served only at deprecated versions flagged."""

from __future__ import annotations

import copy
import math
from datetime import UTC, datetime

import pytest

from clusters.collect.core import METRICS_NOT_SERVED
from clusters.collect.flux import HELM
from clusters.demo.pods import pod_metrics
from clusters.demo.server import DemoCluster
from clusters.models import Cluster, KindState, Workload
from clusters.poll import poll_cluster
from tests.clusters.test_sync import FakeClock, live
from tests.clusters.test_sync import watching as watching  # the fixture, shared

METRICS = "/apis/metrics.k8s.io/v1beta1/"  # the PodMetrics lists, not discovery


def row(name: str) -> Workload:
    return Workload.objects.get(name=name)


def served_usage(demo: DemoCluster, workload: str) -> dict[str, int]:
    """What the demo's metrics-server serves for the workload's Pods, summed by hand."""
    cpu = memory = 0
    for pod in demo.list("", "pods"):
        metadata = pod["metadata"]
        owner = metadata["ownerReferences"][0]
        name = owner["name"] if owner["kind"] == "StatefulSet" else owner["name"].rsplit("-", 1)[0]
        if name != workload:
            continue
        for container in pod_metrics(pod, datetime.now(UTC))["containers"]:
            cpu += math.ceil(int(container["usage"]["cpu"].removesuffix("n")) / 1_000_000)
            memory += int(container["usage"]["memory"].removesuffix("Ki")) * 1024
    return {"cpuMillicores": cpu, "memoryBytes": memory}


def restart(demo: DemoCluster, pod_prefix: str, count: int) -> None:
    """The kubelet reports a container restarted ``count`` times in the first matching Pod."""
    pod = next(p for p in demo.list("", "pods") if p["metadata"]["name"].startswith(pod_prefix))
    pod = copy.deepcopy(pod)
    pod["status"]["containerStatuses"][0]["restartCount"] = count
    demo.apply(pod)


@pytest.mark.django_db
def test_a_poll_stores_the_controllers_images_pods_restarts_and_usage(demo, demo_cluster):
    poll_cluster(demo_cluster)
    demo_cluster.refresh_from_db()
    assert (demo_cluster.metrics_state, demo_cluster.metrics_reason) == ("ok", "")

    source = row("source-controller")
    assert len(source.images) == 1
    assert source.images[0].endswith("/fluxcd/source-controller:v1.9.4")
    assert (source.pods, source.restarts, source.usage_reason) == (1, 0, "")
    assert source.usage == served_usage(demo, "source-controller")

    repo = row("argocd-repo-server")
    assert repo.images[0].endswith("/argocd:v3.5.1")
    assert (repo.pods, repo.restarts) == (2, 3)  # OOM-killed three times, in one of its Pods
    assert repo.usage == served_usage(demo, "argocd-repo-server")
    controller = row("argocd-application-controller")  # a StatefulSet's Pod
    assert (controller.pods, controller.usage) == (1, served_usage(demo, controller.name))

    argocd = Workload.objects.filter(namespace="argocd")
    memory = sum(w.usage["memoryBytes"] for w in argocd)
    assert 450e6 < memory < 600e6, "Argo CD at rest: about the ADR's 500 MB"
    # Workloads outside the tools' namespaces and labels are not listed, nor their Pods.
    assert not Workload.objects.exclude(namespace__in=["flux-system", "argocd"]).exists()


@pytest.mark.django_db
def test_restarts_are_read_again_at_each_poll(demo, demo_cluster):
    poll_cluster(demo_cluster)
    restart(demo, "helm-controller-", 4)
    poll_cluster(demo_cluster)
    assert row("helm-controller").restarts == 4


@pytest.mark.django_db
def test_without_metrics_server_usage_is_not_available_with_the_reason(demo, demo_cluster):
    demo.uninstall("metrics.k8s.io")  # a cluster where metrics-server was never installed
    run = poll_cluster(demo_cluster)
    demo_cluster.refresh_from_db()
    assert (demo_cluster.metrics_state, demo_cluster.metrics_reason) == (
        "unavailable",
        METRICS_NOT_SERVED,
    )
    repo = row("argocd-repo-server")
    assert (repo.pods, repo.restarts) == (2, 3), "Pods are read without metrics-server"
    assert repo.usage is None and repo.usage_reason == METRICS_NOT_SERVED
    assert run.ok, "a cluster without metrics-server is not a failing cluster"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "words"),
    [(403, "Forbidden"), (503, "unable to handle the request"), (500, "ServerError")],
)
def test_a_failing_metrics_api_keeps_the_last_usage_marked_with_the_reason(
    demo, demo_cluster, status, words
):
    poll_cluster(demo_cluster)
    before = row("argocd-server").usage
    assert before is not None
    demo.set_fault(METRICS, status=status)
    restart(demo, "argocd-server-", 1)
    run = poll_cluster(demo_cluster)
    demo_cluster.refresh_from_db()
    assert demo_cluster.metrics_state == "unavailable"
    assert words in demo_cluster.metrics_reason and str(status) in demo_cluster.metrics_reason
    server = row("argocd-server")
    assert server.usage == before, "the last good figures stay"
    assert server.usage_reason == demo_cluster.metrics_reason
    assert server.restarts == 1, "the Pods are still read"
    assert run.ok
    demo.clear_faults()
    poll_cluster(demo_cluster)
    demo_cluster.refresh_from_db()
    assert (demo_cluster.metrics_state, row("argocd-server").usage_reason) == ("ok", "")


@pytest.mark.django_db
def test_metrics_server_gone_after_a_reading_keeps_the_last_figures(demo, demo_cluster):
    poll_cluster(demo_cluster)
    before = row("kustomize-controller").usage
    demo.uninstall("metrics.k8s.io")
    poll_cluster(demo_cluster)
    kustomize = row("kustomize-controller")
    assert (kustomize.usage, kustomize.usage_reason) == (before, METRICS_NOT_SERVED)


@pytest.mark.django_db
def test_pods_forbidden_keeps_the_figures_and_says_why(demo, demo_cluster):
    poll_cluster(demo_cluster)
    demo.set_fault("/api/v1/namespaces/argocd/pods", status=403)
    run = poll_cluster(demo_cluster)
    repo = row("argocd-repo-server")
    assert (repo.pods, repo.restarts) == (2, 3)
    assert repo.usage is not None and "Pods could not be listed" in repo.usage_reason
    state = KindState.objects.get(cluster=demo_cluster, kind="Pod")
    assert state.state == KindState.ERROR and state.reason == "Forbidden"
    assert "core/Pod" in run.errors


@pytest.mark.django_db
def test_a_flux_kind_served_only_at_deprecated_versions_is_flagged(demo, demo_cluster):
    poll_cluster(demo_cluster)
    demo_cluster.refresh_from_db()
    assert demo_cluster.deprecated_apis == []
    demo.serve_older_versions(HELM, "HelmRelease", "v2beta2", "v2beta1")
    poll_cluster(demo_cluster)
    demo_cluster.refresh_from_db()
    assert demo_cluster.deprecated_apis == [
        {
            "group": HELM,
            "kind": "HelmRelease",
            "served": ["v2beta2", "v2beta1"],
            "wanted": "v2",
            "removedIn": "Flux 2.8",
        }
    ]


# --- watch mode ----------------------------------------------------------------------------------


def measured(cluster: Cluster):
    is_live = live(cluster)
    return lambda: is_live() and Workload.objects.filter(usage__isnull=False).count() >= 10


@pytest.mark.django_db(transaction=True)
def test_watch_mode_keeps_pods_by_watch_and_re_reads_metrics_on_its_interval(
    demo, demo_cluster, watching
):
    clock = FakeClock()
    run = watching(clock=clock, metrics_seconds=60)
    run.wait_for(measured(demo_cluster), "the controllers measured")
    assert row("argocd-repo-server").restarts == 3
    lists = dict(demo.list_requests)
    restart(demo, "source-controller-", 2)
    run.wait_for(lambda: row("source-controller").restarts == 2, "the restart, by watch")
    assert demo.list_requests.get("/pods", 0) == lists.get("/pods", 0), "watched, not listed"

    before = row("notification-controller").usage
    demo.set_fault(METRICS, status=403)
    clock.now = 61.0  # the metrics interval passed
    run.wait_for(
        lambda: Cluster.objects.get(pk=demo_cluster.pk).metrics_state == "unavailable",
        "the metrics re-read, forbidden",
    )
    notification = row("notification-controller")
    assert notification.usage == before and "Forbidden" in notification.usage_reason
    demo.clear_faults()
    clock.now = 122.0
    run.wait_for(
        lambda: Cluster.objects.get(pk=demo_cluster.pk).metrics_state == "ok", "metrics back"
    )
    assert row("notification-controller").usage_reason == ""
    run.finish()
