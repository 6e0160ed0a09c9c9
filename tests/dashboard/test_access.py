"""Who may see what: logins, anonymous read, and bearer API tokens for automation."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection

from dashboard.models import ApiToken

pytestmark = pytest.mark.django_db

PAGES = ["/", "/search", "/ownership", "/scorecard"]
APIS = ["/api/v1/clusters", "/api/v1/namespaces", "/api/v1/objects", "/api/v1/violations"]


@pytest.fixture
def locked(settings):
    settings.TIDEWATCH_ANONYMOUS_READ = False
    settings.TIDEWATCH_METRICS_TOKEN = ""


@pytest.fixture
def token():
    _, value = ApiToken.issue("ci-report")
    return value


def test_pages_redirect_to_login_and_apis_refuse_with_json(client, locked):
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login?next=")
    for path in [*APIS, "/metrics"]:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json() == {"error": "authentication required"}


def test_health_endpoints_need_no_login(client, locked):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz?checks=database").status_code == 200


def test_a_logged_in_user_sees_everything(client, locked):
    client.force_login(User.objects.create_user("alice", password="x" * 12))
    for path in [*PAGES, *APIS, "/metrics"]:
        assert client.get(path).status_code == 200, path


def test_anonymous_read_opens_reads_only(client, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    for path in [*PAGES, *APIS]:
        assert client.get(path).status_code == 200, path
    assert client.post("/api/v1/clusters").status_code == 401
    assert client.post("/").status_code == 302


def test_a_bearer_token_reads_the_api(client, locked, token):
    for path in APIS:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, path


def test_a_wrong_token_is_a_json_401_even_with_anonymous_read(client, settings, token):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    for bad in ("Bearer tw_not-a-token", "Bearer ", f"Bearer {token}x"):
        response = client.get("/api/v1/clusters", HTTP_AUTHORIZATION=bad)
        assert response.status_code == 401, bad
        assert response.json() == {"error": "invalid API token"}
        assert response["Content-Type"] == "application/json"


def test_tokens_are_read_only(client, locked, token):
    response = client.post("/api/v1/clusters", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert response.json() == {"error": "API tokens are read-only"}


def test_tokens_do_not_open_the_html_pages(client, locked, token):
    response = client.get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 302


def test_only_the_sha256_is_stored_and_use_is_recorded(client, locked, token):
    row = ApiToken.objects.get(name="ci-report")
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(row.token_prefix) and len(row.token_prefix) < len(token) // 4
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        assert not any(token in str(value) for r in cursor.fetchall() for value in r)
    assert row.last_used_at is None
    client.get("/api/v1/clusters", HTTP_AUTHORIZATION=f"Bearer {token}")
    row.refresh_from_db()
    first_use = row.last_used_at
    assert first_use is not None
    client.get("/api/v1/clusters", HTTP_AUTHORIZATION=f"Bearer {token}")
    row.refresh_from_db()
    assert row.last_used_at == first_use, "written at most once a minute"


def test_deleting_a_token_revokes_it(client, locked, token):
    ApiToken.objects.all().delete()
    response = client.get("/api/v1/clusters", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401


def test_create_api_token_prints_the_token_once(client, locked):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "prometheus", stdout=out, stderr=err)
    printed = out.getvalue().strip()
    assert printed.startswith("tw_") and len(printed) > 40
    assert "shown only now" in err.getvalue()
    assert (
        ApiToken.objects.get(name="prometheus").token_hash
        == hashlib.sha256(printed.encode()).hexdigest()
    )
    assert client.get("/api/v1/clusters", HTTP_AUTHORIZATION=f"Bearer {printed}").status_code == 200
    with pytest.raises(CommandError, match="exists"):
        call_command("create_api_token", "prometheus", stdout=StringIO(), stderr=StringIO())
