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
from dashboard.models import ApiToken
from tests.services import redis_url_or_skip

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(settings):
    settings.TIDEWATCH_USE_CELERY = False
    settings.TIDEWATCH_ANONYMOUS_READ = False


@pytest.fixture
def reader(client, django_user_model):
    """Details of /readyz are for signed-in users (anonymous probes get a status per check)."""
    client.force_login(django_user_model.objects.create_user("reader", password="x" * 12))
    return client


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_passes_with_a_database_and_no_broker_configured(reader):
    response = reader.get("/readyz")
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
    reader, settings
):
    settings.TIDEWATCH_USE_CELERY = True
    settings.REDIS_URL = f"redis://:hunter2-secret@127.0.0.1:{closed_port()}/0"
    response = reader.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail" and body["failed"] == ["broker"]
    assert "not reachable" in body["checks"]["broker"]["error"]
    assert "127.0.0.1:" in body["checks"]["broker"]["error"]
    assert "hunter2" not in response.content.decode()


def test_readyz_checks_a_live_broker(reader, settings):
    settings.TIDEWATCH_USE_CELERY = True
    settings.REDIS_URL = redis_url_or_skip()
    body = reader.get("/readyz").json()
    assert body["checks"]["broker"] == {"ok": True, "detail": "Redis answers"}


def test_readyz_fails_when_a_poll_is_late_and_names_the_cluster(reader, demo_cluster):
    poll_cluster(demo_cluster)
    assert reader.get("/readyz").status_code == 200

    old = timezone.now() - timedelta(seconds=3 * demo_cluster.poll_interval + 5)
    Cluster.objects.filter(pk=demo_cluster.pk).update(last_poll_finished_at=old)
    response = reader.get("/readyz")
    assert response.status_code == 503
    polls = response.json()["checks"]["polls"]
    assert polls["ok"] is False and polls["late"] == 1
    assert polls["error"].startswith("demo: last poll finished ")
    assert "more than 3 × 30s" in polls["error"]

    # A cluster removed from clusters.yaml is not polled any more, and not waited for.
    Cluster.objects.filter(pk=demo_cluster.pk).update(enabled=False)
    assert reader.get("/readyz").status_code == 200


def test_a_failing_cluster_still_counts_as_polled(client, demo_cluster, demo):
    """Readiness is about the poller running, not about every cluster being healthy."""
    demo.set_fault("/api", status=401)
    poll_cluster(demo_cluster)
    assert Cluster.objects.get(pk=demo_cluster.pk).last_error_reason == "Unauthorized"
    assert client.get("/readyz").status_code == 200


def test_a_cluster_never_polled_is_late(reader, demo_cluster):
    response = reader.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["polls"]["error"] == "demo: never polled"
    # The web pods' probe asks only for the database.
    assert reader.get("/readyz?checks=database").status_code == 200


def test_readyz_reports_a_database_outage(reader, monkeypatch):
    class Down:
        vendor = "postgresql"

        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", Down())
    response = reader.get("/readyz")
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


def _everything_failing(settings, monkeypatch, demo_cluster) -> None:
    """Broker down at a known host:port, database down with a libpq-style message naming its
    host and port, and (checked first) a cluster whose poll is late."""
    settings.TIDEWATCH_USE_CELERY = True
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    class Down:
        vendor = "postgresql"

        def cursor(self):
            raise OperationalError(
                'connection to server at "db.internal.example" (10.1.2.3), port 5432 failed'
            )

    monkeypatch.setattr(health, "connection", Down())


def test_anonymous_readyz_gives_a_status_per_check_and_nothing_about_hosts_or_clusters(
    client, settings, monkeypatch, demo_cluster
):
    _everything_failing(settings, monkeypatch, demo_cluster)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body == {
        "status": "fail",
        "checks": {"database": {"ok": False}, "broker": {"ok": False}, "polls": {"ok": False}},
        "failed": ["database", "broker", "polls"],
        "details": health.DETAILS_HINT,
    }
    for secret in ("db.internal.example", "10.1.2.3", "5432", "127.0.0.1", demo_cluster.name):
        assert secret not in response.content.decode(), secret


def test_anonymous_readyz_does_not_name_a_late_cluster(client, demo_cluster):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["polls"] == {"ok": False}
    assert "demo" not in response.content.decode()


@pytest.mark.parametrize("who", ["session", "api-token"])
def test_signed_in_users_and_api_tokens_see_the_details(
    client, settings, monkeypatch, demo_cluster, django_user_model, who
):
    _everything_failing(settings, monkeypatch, demo_cluster)
    headers = {}
    if who == "session":
        client.force_login(django_user_model.objects.create_user("ops", password="x" * 12))
    else:
        _, token = ApiToken.issue("prober")
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = client.get("/readyz", **headers).json()
    assert "db.internal.example" in body["checks"]["database"]["error"]
    assert "127.0.0.1:" in body["checks"]["broker"]["error"]
    assert "details" not in body


def test_a_wrong_token_still_gets_the_status_without_details(client, demo_cluster):
    """A probe with a revoked token must not take the pod out of service: 200, no details."""
    poll_cluster(demo_cluster)
    response = client.get("/readyz", HTTP_AUTHORIZATION="Bearer tw_revoked")
    assert response.status_code == 200
    assert response.json()["checks"]["polls"] == {"ok": True}


# --- watched clusters: judged by the watcher's heartbeat -----------------------------------------

NOW = timezone.now()


def ago(seconds: float) -> object:
    return NOW - timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("interval", "mode", "finished", "started", "late"),
    [
        # Polled: the last finished poll, within 3 intervals.
        (30, "poll", ago(80), ago(85), ""),
        (30, "poll", ago(95), ago(100), "demo: last poll finished 95s ago, more than 3 × 30s"),
        (30, "", None, ago(95), "demo: last poll started 95s ago, more than 3 × 30s"),
        (30, "", None, None, "demo: never polled"),
        # Watched: the heartbeat (every min(interval, 10) s), within 3 beats plus one 30 s lease,
        # whatever the poll interval: a dead watcher is seen in a minute, not in 3 × 300 s.
        (300, "watch", ago(55), ago(3000), ""),
        (
            300,
            "watch",
            ago(65),
            ago(3000),
            "demo: watched, but no watch heartbeat for 65s, more than 3 × 10s + a 30s lease",
        ),
        (5, "watch", ago(40), ago(3000), ""),
        (
            5,
            "watch",
            ago(50),
            ago(3000),
            "demo: watched, but no watch heartbeat for 50s, more than 3 × 5s + a 30s lease",
        ),
        # A watcher that started again and is still listing: its start counts.
        (300, "watch", ago(3000), ago(20), ""),
    ],
)
def test_how_late_a_cluster_is_depends_on_how_it_is_kept_current(
    interval, mode, finished, started, late
):
    assert (
        health.lateness("demo", interval, mode, finished, started, NOW, factor=3, lease_seconds=30)
        == late
    )


def test_readyz_fails_for_a_watched_cluster_whose_heartbeat_stopped(reader, demo_cluster, settings):
    settings.TIDEWATCH_SYNC_MODE = "watch"
    settings.TIDEWATCH_WATCH_LEASE_SECONDS = 30
    # Polled every 5 minutes, watched: 3 poll intervals would be 15 minutes of a dead watcher.
    Cluster.objects.filter(pk=demo_cluster.pk).update(
        poll_interval=300,
        sync_mode=Cluster.WATCH,
        last_poll_started_at=timezone.now() - timedelta(hours=1),
        last_poll_finished_at=timezone.now() - timedelta(seconds=5),
    )
    assert reader.get("/readyz").status_code == 200
    Cluster.objects.filter(pk=demo_cluster.pk).update(
        last_poll_finished_at=timezone.now() - timedelta(seconds=120)
    )
    response = reader.get("/readyz")
    assert response.status_code == 503
    error = response.json()["checks"]["polls"]["error"]
    assert error.startswith("demo: watched, but no watch heartbeat for 12")
    # The same cluster in an installation that polls now is judged by its poll interval.
    settings.TIDEWATCH_SYNC_MODE = "poll"
    assert reader.get("/readyz").status_code == 200
