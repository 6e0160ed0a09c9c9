"""A real redis-server and a real Celery worker process poll the demo cluster."""

from __future__ import annotations

import subprocess
import time

import pytest

from clusters.models import GitOpsObject, PollRun
from dashboard.celery import app as celery_app
from tests.services import PYTHON, redis_url_or_skip, subprocess_env

pytestmark = pytest.mark.services


@pytest.fixture
def worker(clusters_file, transactional_db):
    redis_url = redis_url_or_skip()
    celery_app.conf.broker_url = redis_url
    env = subprocess_env(REDIS_URL=redis_url, TIDEWATCH_CLUSTERS=str(clusters_file))
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "dashboard",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(predicate, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_a_worker_polls_the_cluster_through_redis(worker, demo_cluster, settings):
    from clusters.tasks import schedule_polls

    settings.TIDEWATCH_SYNC_MODE = "poll"

    # The beat job runs here; the poll itself runs in the worker process.
    assert schedule_polls() == ["demo"]
    landed = wait_for(lambda: PollRun.objects.filter(finished_at__isnull=False).exists())
    if not landed:
        worker.terminate()
        pytest.fail("the worker never finished a poll:\n" + (worker.communicate()[0] or ""))
    run = PollRun.objects.get()
    assert run.ok, run.errors
    assert GitOpsObject.objects.filter(kind="HelmRelease", namespace="bigbang").count() >= 5
    assert GitOpsObject.objects.filter(kind="Application", namespace="argocd").exists()
