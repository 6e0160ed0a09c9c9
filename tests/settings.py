"""Test settings: the production settings module with the environment a test run needs."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("TIDEWATCH_VAR_DIR", tempfile.mkdtemp(prefix="tidewatch-test-"))
# Production requires ALLOWED_HOSTS and redirects to HTTPS; the test client and live server
# speak plain HTTP to localhost.
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("TIDEWATCH_SECURE_COOKIES", "false")

from dashboard.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not :memory:, so a Celery worker in a subprocess can share the test database.
_db = DATABASES["default"]  # noqa: F405
if _db["ENGINE"].endswith("sqlite3"):
    _db["TEST"] = {"NAME": os.path.join(os.environ["TIDEWATCH_VAR_DIR"], "test.sqlite3")}
