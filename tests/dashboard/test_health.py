"""/healthz (the process answers) and /readyz (database, broker, polls), with JSON saying why."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from clusters.models import Cluster
from clusters.poll import poll_cluster
from dashboard import health
from tests.services import redis_url_or_skip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(settings):
    settings.TIDEWATCH_USE_CELERY = False
    settings.TIDEWATCH_ANONYMOUS_READ = False


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_passes_with_a_database_and_no_broker_configured(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and "failed" not in body
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"] == {
        "ok": True,
        "skipped": True,
        "detail": "no broker configured (TIDEWATCH_USE_CELERY is off)",
    }
    assert body["checks"]["polls"]["ok"] is True


def test_readyz_fails_when_the_configured_broker_is_down_without_leaking_its_password(
    client, settings
):
    settings.TIDEWATCH_USE_CELERY = True
    settings.REDIS_URL = f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["failed"] == ["broker"]
    assert "not reachable" in body["checks"]["broker"]["error"]
    assert "127.0.0.1:" in body["checks"]["broker"]["error"]
    assert "hunter2" not in response.content.decode()


def test_readyz_checks_a_live_broker(client, settings):
    settings.TIDEWATCH_USE_CELERY = True
    settings.REDIS_URL = redis_url_or_skip()
    body = client.get("/readyz").json()
    assert body["checks"]["broker"] == {"ok": True, "detail": "Redis answers"}


def test_readyz_fails_when_a_poll_is_late_and_names_the_cluster(client, demo_cluster):
    poll_cluster(demo_cluster)
    assert client.get("/readyz").status_code == 200

    old = timezone.now() - timedelta(seconds=3 * demo_cluster.poll_interval + 5)
    Cluster.objects.filter(pk=demo_cluster.pk).update(last_poll_finished_at=old)
    response = client.get("/readyz")
    assert response.status_code == 503
    polls = response.json()["checks"]["polls"]
    assert polls["ok"] is False and polls["late"] == 1
    assert polls["error"].startswith("demo: last poll finished ")
    assert "more than 3 × 30s" in polls["error"]

    # A cluster removed from clusters.yaml is not polled any more, and not waited for.
    Cluster.objects.filter(pk=demo_cluster.pk).update(enabled=False)
    assert client.get("/readyz").status_code == 200


def test_a_failing_cluster_still_counts_as_polled(client, demo_cluster, demo):
    """Readiness is about the poller running, not about every cluster being healthy."""
    demo.set_fault("/api", status=401)
    poll_cluster(demo_cluster)
    assert Cluster.objects.get(pk=demo_cluster.pk).last_error_reason == "Unauthorized"
    assert client.get("/readyz").status_code == 200


def test_a_cluster_never_polled_is_late(client, demo_cluster):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["polls"]["error"] == "demo: never polled"
    # The web pods' probe asks only for the database.
    assert client.get("/readyz?checks=database").status_code == 200


def test_readyz_reports_a_database_outage(client, monkeypatch):
    class Down:
        vendor = "postgresql"

        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", Down())
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database", "polls"]
    assert body["checks"]["database"]["error"] == (
        "database not reachable: OperationalError: connection refused"
    )
    assert body["checks"]["polls"]["error"] == "not checked: the database is not reachable"


def test_unknown_checks_are_a_400(client):
    response = client.get("/readyz?checks=database,disk")
    assert response.status_code == 400
    assert "unknown checks disk" in response.json()["error"]
