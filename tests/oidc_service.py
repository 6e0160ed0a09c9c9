"""A real OpenID provider for the tests: tests/oidc/provider.mjs (the npm package oidc-provider)
on 127.0.0.1, and a requests-driven person who signs in on its pages."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

PROVIDER_DIR = Path(__file__).parent / "oidc"
START_TIMEOUT = 30


@dataclass
class Provider:
    issuer: str
    client_id: str
    client_secret: str
    users_file: Path
    process: subprocess.Popen

    def set_users(self, users: dict[str, dict]) -> None:
        """Read again by the provider at each lookup: the next sign-in sees these claims."""
        self.users_file.write_text(json.dumps(users))


def node_or_skip() -> None:
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        message = f"npm packages not installed: run `npm ci` in {PROVIDER_DIR}"
        if os.environ.get("TIDEWATCH_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message + " (or `make test`)")


@contextmanager
def running_provider(
    workdir: Path, redirect_uris: list[str], client_secret: str = "tidewatch-test-secret"
) -> Iterator[Provider]:
    node_or_skip()
    users_file = workdir / "oidc-users.json"
    users_file.write_text("{}")
    env = dict(
        os.environ,
        OIDC_CLIENT_ID="tidewatch",
        OIDC_CLIENT_SECRET=client_secret,
        OIDC_REDIRECT_URIS=",".join(redirect_uris),
        OIDC_POST_LOGOUT_REDIRECT_URIS=",".join(
            uri.replace("/oidc/callback", "/login") for uri in redirect_uris
        ),
        OIDC_USERS_FILE=str(users_file),
    )
    log = open(workdir / "oidc-provider.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        ["node", "provider.mjs"], cwd=PROVIDER_DIR, env=env, stdout=subprocess.PIPE, stderr=log
    )
    try:
        issuer = _announced_issuer(process, workdir / "oidc-provider.log")
        # Ready when its discovery document answers (listening already; this is the proof).
        document = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        assert document["issuer"] == issuer
        yield Provider(issuer, "tidewatch", client_secret, users_file, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _announced_issuer(process: subprocess.Popen, log_path: Path) -> str:
    """The issuer from the one JSON line the provider prints once it listens."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = process.stdout.readline()
            if line:
                return json.loads(line)["issuer"]
            break  # EOF: it exited
    process.kill()
    raise RuntimeError(f"the OIDC provider did not start:\n{log_path.read_text()}")


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.I)
_PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')


def sign_in_at_provider(authorize_url: str, login: str, callback_prefix: str) -> str:
    """What a person does at the provider: follow the redirects, fill in the login form, give
    consent; returns the URL the provider sends the browser back to (the callback)."""
    browser = requests.Session()
    url, method, data = authorize_url, "GET", None
    for _ in range(12):
        response = browser.request(method, url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url = urljoin(url, response.headers["Location"])
            if url.startswith(callback_prefix):
                return url
            method, data = "GET", None
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        form, prompt = _FORM.search(response.text), _PROMPT.search(response.text)
        assert form and prompt, response.text[:500]
        url, method = urljoin(url, unescape(form.group(1))), "POST"
        data = {"prompt": prompt.group(1)}
        if prompt.group(1) == "login":
            data.update(login=login, password="any")
    raise AssertionError("the provider never sent the browser back")
