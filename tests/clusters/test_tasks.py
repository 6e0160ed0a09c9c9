"""The Celery tasks as functions (eager), with the real Redis lock."""

from __future__ import annotations

import pytest
import redis

from clusters.locks import cluster_lock
from clusters.models import PollRun
from clusters.tasks import poll_cluster_task, schedule_polls
from dashboard.celery import app as celery_app
from tests.services import redis_url_or_skip

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager(settings):
    settings.REDIS_URL = redis_url_or_skip()
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_a_transient_failure_is_retried_then_given_up(eager, demo, demo_cluster):
    demo.stop()  # unreachable: transient

    result = poll_cluster_task.apply(args=["demo"])

    runs = PollRun.objects.filter(cluster=demo_cluster)
    assert runs.count() == 1 + poll_cluster_task.max_retries
    assert all(r.error.startswith("Unreachable") for r in runs)
    assert result.result == "Unreachable"


def test_a_permanent_failure_is_not_retried(eager, demo, demo_cluster):
    demo.set_fault("/apis", status=401)

    poll_cluster_task.apply(args=["demo"])

    assert PollRun.objects.filter(cluster=demo_cluster).count() == 1


def test_a_cluster_locked_by_another_worker_is_skipped(eager, demo_cluster, settings):
    client = redis.Redis.from_url(settings.REDIS_URL)
    with cluster_lock(client, "demo", timeout=30):
        result = poll_cluster_task.apply(args=["demo"])
    assert result.result == "locked"
    assert not PollRun.objects.exists()


def test_schedule_polls_queues_only_due_clusters(eager, demo_cluster, settings):
    settings.TIDEWATCH_SYNC_MODE = "poll"
    assert schedule_polls.apply().result == ["demo"]  # eager: the poll ran right away
    assert PollRun.objects.count() == 1
    assert schedule_polls.apply().result == [], "polled a moment ago: not due"
