"""Helpers for tests that need real services (redis-server, a Celery worker subprocess)."""

from __future__ import annotations

import os
import sys

import pytest
import redis
from django.db import connection


def redis_url_or_skip() -> str:
    """The REDIS_URL of a live redis-server. `make test` starts one and sets
    TIDEWATCH_REQUIRE_SERVICES=1, which turns a missing server into a failure, not a skip."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as exc:
        if os.environ.get("TIDEWATCH_REQUIRE_SERVICES") == "1":
            pytest.fail(f"redis-server at {url} is required and not reachable: {exc}")
        pytest.skip(f"no redis-server at {url} (run `make test`)")
    return url


def database_url_of_test_db() -> str:
    """A DATABASE_URL that points a subprocess at the database this test is using."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "SECRET_KEY": "test-only-secret-key",
            "DATABASE_URL": database_url_of_test_db(),
            "PYTHONPATH": os.getcwd(),
        }
    )
    env.update(extra)
    return env


PYTHON = sys.executable
