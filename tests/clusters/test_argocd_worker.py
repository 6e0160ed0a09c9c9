"""Where the argocd-server step runs: its own Celery task after a poll and, for watched
clusters, once per poll_interval from beat; beside the watch in the in-process watcher."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from clusters.demo.argocd import PREFIX
from clusters.demo.server import DemoCluster
from clusters.models import ArgoAppDetail, Cluster, GitOpsObject
from clusters.tasks import ARGOCD_QUEUED, poll_cluster_task, queue_argocd_refreshes
from dashboard.celery import app as celery_app
from tests.clusters.test_argocd_server import DEMO_APPS, configure
from tests.clusters.test_watcher import eventually, sync_thread  # noqa: F401 (a fixture)
from tests.services import redis_url_or_skip


@pytest.fixture
def eager(settings):
    settings.REDIS_URL = redis_url_or_skip()
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.mark.django_db
def test_a_poll_task_queues_the_argocd_step_after_it_stored(
    eager, demo: DemoCluster, clusters_file: Path, tmp_path: Path
) -> None:
    configure(clusters_file, tmp_path, f"{demo.url}{PREFIX}")
    poll_cluster_task.apply(args=["demo"])
    assert ArgoAppDetail.objects.filter(error="").count() == len(DEMO_APPS)


@pytest.mark.django_db
def test_a_poll_task_without_an_argocd_block_asks_nothing(
    eager, demo: DemoCluster, demo_cluster: Cluster
) -> None:
    poll_cluster_task.apply(args=["demo"])
    assert GitOpsObject.objects.filter(kind="Application").exists()
    assert demo.argocd_requests == [] and not ArgoAppDetail.objects.exists()


@pytest.mark.django_db
def test_watched_clusters_get_the_step_once_per_poll_interval(
    eager, demo: DemoCluster, clusters_file: Path, tmp_path: Path, settings
) -> None:
    from clusters.poll import poll_cluster

    cluster = configure(clusters_file, tmp_path, f"{demo.url}{PREFIX}")
    poll_cluster(cluster)
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(ARGOCD_QUEUED.format("demo"))
    assert queue_argocd_refreshes(client) == ["demo"]  # eager: it ran right away
    assert ArgoAppDetail.objects.count() == len(DEMO_APPS)
    assert queue_argocd_refreshes(client) == [], "queued a moment ago"
    client.delete(ARGOCD_QUEUED.format("demo"))


@pytest.mark.django_db(transaction=True)
def test_the_demo_watcher_reads_argocd_server_beside_the_watch(
    demo: DemoCluster,
    clusters_file: Path,
    tmp_path: Path,
    sync_thread,  # noqa: F811
) -> None:
    configure(clusters_file, tmp_path, f"{demo.url}{PREFIX}")
    sync_thread()
    eventually(lambda: ArgoAppDetail.objects.count() == len(DEMO_APPS), "the Argo CD details")
    worker = ArgoAppDetail.objects.get(obj__name="data-platform")
    assert any(r["diff"] for r in worker.resources)
