"""The OpenID provider's configuration, read from its discovery document
(``<issuer>/.well-known/openid-configuration``) when first needed and kept for a while.

An issuer that cannot be reached or answers something unusable raises ProviderUnavailable with
one sentence a person can act on; the login page shows it and the log has it. Nothing here runs
at start-up, so a provider that is down never stops Tidewatch from starting.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

# A discovery document is a few kilobytes; anything much larger is not one.
MAX_DOCUMENT_BYTES = 1024 * 1024
# A failed read is tried again after this many seconds (or the success TTL, if shorter), so a
# login page does not wait for an unreachable provider on every view.
FAILURE_RETRY_SECONDS = 30
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderUnavailable(Exception):
    """The provider cannot be used for sign-in now; str() is the reason, for people."""


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str
    end_session_endpoint: str


_cache: dict[str, tuple[float, ProviderConfig | ProviderUnavailable]] = {}
_lock = threading.Lock()


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def parse_document(issuer: str, document: object) -> ProviderConfig:
    """A discovery document → ProviderConfig, or ProviderUnavailable saying what is wrong."""
    url = discovery_url(issuer)
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"The discovery document at {url} is not a JSON object.")
    announced = document.get("issuer")
    # OpenID Connect Discovery 1.0 §4.3: the issuer in the document must be the one configured,
    # or ID tokens would be accepted from whoever answers at that address.
    if not isinstance(announced, str) or announced.rstrip("/") != issuer.rstrip("/"):
        raise ProviderUnavailable(
            f"The discovery document at {url} announces issuer {announced!r}, "
            f"not TIDEWATCH_OIDC_ISSUER {issuer!r}."
        )
    missing = [key for key in REQUIRED_ENDPOINTS if not _is_url(document.get(key))]
    if missing:
        raise ProviderUnavailable(f"The discovery document at {url} has no {', '.join(missing)}.")
    algorithms = document.get("id_token_signing_alg_values_supported")
    if isinstance(algorithms, list) and "RS256" not in algorithms:
        raise ProviderUnavailable(
            f"The provider at {issuer} does not sign ID tokens with RS256 "
            f"(it offers {', '.join(map(str, algorithms))})."
        )
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderUnavailable(f"The provider at {issuer} does not support PKCE with S256.")
    return ProviderConfig(
        issuer=announced,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=_url_or_empty(document.get("userinfo_endpoint")),
        end_session_endpoint=_url_or_empty(document.get("end_session_endpoint")),
    )


def fetch_document(issuer: str, timeout: float) -> object:
    url = discovery_url(issuer)
    try:
        with requests.get(url, timeout=timeout, stream=True) as response:
            if response.status_code != 200:
                raise ProviderUnavailable(
                    f"The provider's discovery document {url} answered HTTP "
                    f"{response.status_code}: check TIDEWATCH_OIDC_ISSUER."
                )
            body = b""
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise ProviderUnavailable(f"The discovery document at {url} is too large.")
    except requests.RequestException as exc:
        raise ProviderUnavailable(
            f"The sign-in provider at {issuer} cannot be reached ({type(exc).__name__}): "
            "try again later or sign in with a Tidewatch account."
        ) from None
    try:
        return json.loads(body)
    except ValueError:
        raise ProviderUnavailable(f"The discovery document at {url} is not JSON.") from None


def discover() -> ProviderConfig:
    """The configured provider, from the cache or read now; ProviderUnavailable if unusable."""
    issuer = settings.TIDEWATCH_OIDC_ISSUER
    if not issuer:
        raise ProviderUnavailable("Single sign-on is not configured (TIDEWATCH_OIDC_ISSUER).")
    now = time.monotonic()
    with _lock:
        cached = _cache.get(issuer)
    if cached is not None and cached[0] > now:
        return _result(cached[1])
    ttl = settings.TIDEWATCH_OIDC_DISCOVERY_SECONDS
    try:
        result: ProviderConfig | ProviderUnavailable = parse_document(
            issuer, fetch_document(issuer, settings.TIDEWATCH_OIDC_TIMEOUT)
        )
    except ProviderUnavailable as exc:
        logger.error("OIDC: %s", exc)
        result, ttl = exc, min(ttl, FAILURE_RETRY_SECONDS)
    with _lock:
        _cache[issuer] = (now + ttl, result)
    return _result(result)


def forget() -> None:
    """Drop every cached document (tests; a changed issuer is a different key anyway)."""
    with _lock:
        _cache.clear()


def _result(result: ProviderConfig | ProviderUnavailable) -> ProviderConfig:
    if isinstance(result, ProviderUnavailable):
        raise ProviderUnavailable(str(result))
    return result


def _is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def _url_or_empty(value: object) -> str:
    return value if _is_url(value) else ""
