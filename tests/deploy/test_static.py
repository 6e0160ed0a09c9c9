"""The image's static files: collected at build (as the Dockerfile does), served by WhiteNoise
with hashed names, under the same CSP."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys

from tests.deploy.helpers import ROOT

PROBE = r"""
import json, re, django
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
client = Client()
page = client.get("/")
scripts = re.findall(r'<script src="([^"]+)"', page.content.decode())
sheets = re.findall(r'<link rel="(?:stylesheet|icon)" href="([^"]+)"', page.content.decode())
served = {url: client.get(url) for url in scripts + sheets}
print(json.dumps({
    "status": page.status_code,
    "csp": page.get("Content-Security-Policy", ""),
    "urls": scripts + sheets,
    "served": {url: [r.status_code, r.get("Cache-Control", "")] for url, r in served.items()},
}))
"""


def test_collected_static_files_are_hashed_and_served_by_whitenoise(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "TIDEWATCH_VAR_DIR": str(tmp_path),
        "TIDEWATCH_ANONYMOUS_READ": "true",
        "TIDEWATCH_COLLECTED_STATIC": "true",
        "TIDEWATCH_STATIC_ROOT": str(tmp_path / "staticfiles"),
    }
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode == 0, collect.stderr
    assert (tmp_path / "staticfiles" / "staticfiles.json").is_file()

    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    result = json.loads(probe.stdout.splitlines()[-1])
    assert result["status"] == 200 and "script-src 'self'" in result["csp"]
    urls = result["urls"]
    assert any(re.fullmatch(r"/static/js/tidewatch\.[0-9a-f]{12}\.js", url) for url in urls)
    assert any(re.fullmatch(r"/static/django_htmx/htmx-2\.min\.[0-9a-f]{12}\.js", u) for u in urls)
    # The favicon: linked from every page, so no browser asks for a missing /favicon.ico.
    assert any(re.fullmatch(r"/static/favicon\.[0-9a-f]{12}\.svg", url) for url in urls)
    for url, (status, cache) in result["served"].items():
        assert status == 200, url
        assert "max-age=315360000" in cache and "immutable" in cache, (url, cache)
