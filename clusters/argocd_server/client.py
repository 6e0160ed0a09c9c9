"""One GET against argocd-server: Bearer auth, the configured CA bundle, connect/read timeouts,
a whole-request deadline and a size cap; every failure is an ArgoError with a reason and one
sentence. The token is read from its file or variable per client, never logged or stored."""

from __future__ import annotations

import json
import os
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from clusters.argocd_server.settings import ArgoServer

# Reasons (ArgoAppDetail.error starts with one). Server-wide ones stop a run: asking again for
# the next Application would only fail the same way, one timeout at a time.
TOKEN_MISSING = "TokenMissing"
TOKEN_REJECTED = "TokenRejected"
NOT_FOUND = "NotFound"
SERVER_ERROR = "ServerError"
TIMEOUT = "Timeout"
TLS_ERROR = "TLSError"
UNREACHABLE = "Unreachable"
BAD_RESPONSE = "BadResponse"
TOO_LARGE = "TooLarge"
SERVER_WIDE = {TOKEN_MISSING, TOKEN_REJECTED, TLS_ERROR, UNREACHABLE}

_CHUNK = 64 * 1024


class ArgoError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def server_wide(self) -> bool:
        return self.reason in SERVER_WIDE

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def read_token(server: ArgoServer) -> str:
    """The bearer token, from the file or the environment variable the block names."""
    if server.token_env:
        token = os.environ.get(server.token_env, "").strip()
        if not token:
            raise ArgoError(
                TOKEN_MISSING, f"the environment variable {server.token_env} holds no token"
            )
        return token
    try:
        token = Path(server.token_file).read_text().strip()
    except OSError as exc:
        raise ArgoError(
            TOKEN_MISSING, f"the token file {server.token_file} cannot be read: {exc.strerror}"
        ) from None
    if not token:
        raise ArgoError(TOKEN_MISSING, f"the token file {server.token_file} is empty")
    return token


class ArgoClient:
    """A connection pool to one argocd-server; ``close`` when done."""

    def __init__(self, server: ArgoServer, *, timeout: float, max_bytes: int) -> None:
        self.server = server
        self.timeout = server.timeout or timeout
        self.max_bytes = max_bytes
        self.requests = 0  # made through this client (a run reports it)
        self._token = read_token(server)
        kwargs: dict[str, Any] = {}
        if server.url.startswith("https://"):
            kwargs["cert_reqs"] = ssl.CERT_REQUIRED
            if server.ca_file:
                kwargs["ca_certs"] = server.ca_file
        self._pool = urllib3.PoolManager(
            num_pools=1,
            maxsize=1,
            retries=False,  # a failure is recorded, and the next run asks again
            timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            **kwargs,
        )

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> ArgoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def application_get(self, name: str, namespace: str, what: str) -> Any:
        """GET /api/v1/applications/{name}/{what}?appNamespace={namespace}, parsed.

        The Application's own namespace is always passed: argocd-server needs it for
        Applications outside its control-plane namespace and accepts it for those inside."""
        query = urlencode({"appNamespace": namespace}) if namespace else ""
        path = f"/api/v1/applications/{quote(name, safe='')}/{what}"
        return self.get_json(path + (f"?{query}" if query else ""))

    def get_json(self, path: str) -> Any:
        url = self.server.url + path
        self.requests += 1
        started = time.monotonic()
        try:
            response = self._pool.request(
                "GET",
                url,
                headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
                preload_content=False,
                redirect=False,
            )
        except MaxRetryError as exc:
            raise _transport_error(exc.reason, self.server.url, self.timeout) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _transport_error(exc, self.server.url, self.timeout) from None
        try:
            body = self._read(response, started)
        finally:
            response.release_conn()
        if response.status != 200:
            raise _status_error(response.status, body, path)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's limit
            raise ArgoError(
                BAD_RESPONSE,
                f"argocd-server answered {path.split('?')[0]} with something that is not JSON",
            ) from None

    def _read(self, response: urllib3.BaseHTTPResponse, started: float) -> bytes:
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise ArgoError(TOO_LARGE, self._too_large())
        chunks, total = [], 0
        try:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if total > self.max_bytes:
                    raise ArgoError(TOO_LARGE, self._too_large())
                # A per-read timeout alone lets a server drip bytes for ever.
                if time.monotonic() - started > 2 * self.timeout:
                    raise ArgoError(
                        TIMEOUT, f"argocd-server's answer took longer than {2 * self.timeout:g}s"
                    )
                chunks.append(chunk)
        except ReadTimeoutError:
            raise ArgoError(
                TIMEOUT, f"argocd-server did not answer within {self.timeout:g}s"
            ) from None
        except (ProtocolError, OSError) as exc:
            raise ArgoError(
                BAD_RESPONSE, f"argocd-server's answer was cut short ({type(exc).__name__})"
            ) from None
        return b"".join(chunks)

    def _too_large(self) -> str:
        return (
            f"argocd-server's answer is larger than {self.max_bytes} bytes "
            "(TIDEWATCH_ARGOCD_MAX_RESPONSE_BYTES)"
        )


def _transport_error(exc: BaseException | None, url: str, timeout: float) -> ArgoError:
    # NewConnectionError is a ConnectTimeoutError in urllib3 2: a refusal is asked first.
    if isinstance(exc, NewConnectionError) and not isinstance(exc.__cause__, TimeoutError):
        return ArgoError(UNREACHABLE, f"argocd-server at {url} is unreachable: {_why(exc)}")
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError, TimeoutError)):
        return ArgoError(TIMEOUT, f"argocd-server at {url} did not answer within {timeout:g}s")
    if isinstance(exc, (SSLError, ssl.SSLError)):
        detail = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in detail:
            detail = "its certificate is not trusted (caFile)"
        return ArgoError(TLS_ERROR, f"TLS with argocd-server at {url} failed: {detail[:200]}")
    return ArgoError(UNREACHABLE, f"argocd-server at {url} is unreachable: {_why(exc)}")


def _why(exc: BaseException | None) -> str:
    text = str(exc or "no answer")
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "its host name does not resolve"
    return f"{type(exc).__name__}: {text}"[:200]


def _status_error(status: int, body: bytes, path: str) -> ArgoError:
    # argocd-server's gateway answers errors as {"error", "code", "message", "details"}.
    said = ""
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            said = str(parsed.get("message") or parsed.get("error") or "")
    except (ValueError, RecursionError):
        pass
    said = f" ({said[:200]})" if said else ""
    where = path.split("?")[0]
    if status in (401, 403):
        return ArgoError(
            TOKEN_REJECTED,
            f"argocd-server rejected the token with {status}{said}: check the account's token "
            "and its RBAC policy (applications, get)",
        )
    if status == 404:
        return ArgoError(NOT_FOUND, f"argocd-server does not know {where}{said}")
    if status >= 500:
        return ArgoError(SERVER_ERROR, f"argocd-server failed with {status} on {where}{said}")
    return ArgoError(BAD_RESPONSE, f"argocd-server answered {status} on {where}{said}")
