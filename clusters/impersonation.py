"""Acting as the signed-in user: every request carries ``Impersonate-User`` / ``Impersonate-Group``.

In the recommended actions mode the cluster's own RBAC decides: Tidewatch's identity only needs
``impersonate`` on users and groups (deploy/actions/impersonate), and each request is allowed or
denied as if the signed-in user had sent it (docs/actions-rbac.md).

The API server reads ``Impersonate-Group`` as a list of header *lines*: one line per group. A
single comma-joined line is one group named "a, b" (Go's ``Header.Values`` does not split), so
the headers go to urllib3 as an ``HTTPHeaderDict`` with one ``add`` per group, which its
connection writes as repeated lines. Values are sent as UTF-8 bytes, as client-go sends them
(``http.client`` would otherwise encode a ``str`` as Latin-1 and the name would not match).

The impersonated client shares the base client's ``Configuration`` (token, client certificate,
the exec plugin's token renewal hook) and its connection pool: one client per request opens no
sockets and starts no threads of its own, and closing it leaves the base client working.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, Protocol

import urllib3
from kubernetes import client as k8s
from urllib3 import HTTPHeaderDict

IMPERSONATE = "impersonate"
SERVICE_ACCOUNT = "service-account"
MODES = (IMPERSONATE, SERVICE_ACCOUNT)

USER_HEADER = "Impersonate-User"
GROUP_HEADER = "Impersonate-Group"
# Every impersonation header the API server knows: a caller's own are dropped, never forwarded.
_PREFIX = "impersonate-"


class ImpersonationError(ValueError):
    """The identity cannot be sent as impersonation headers; nothing was sent."""


class Identity(Protocol):
    """Who acts: what Kubernetes should see (dashboard.roles.KubeIdentity fits)."""

    @property
    def username(self) -> str: ...

    @property
    def groups(self) -> Sequence[str]: ...


def impersonated(api_client: k8s.ApiClient, username: str, groups: Sequence[str]) -> k8s.ApiClient:
    """A client that sends every request as ``username`` in ``groups``, through ``api_client``'s
    authentication and connection pool. Raises ImpersonationError for a name the API server
    would misread or that would borrow a system identity."""
    headers = impersonation_headers(username, groups)
    base = api_client.rest_client
    if isinstance(base, _ImpersonatingRest):
        raise ImpersonationError("the client already impersonates someone")
    if len(groups) > 1 and _plain_http_proxy(api_client):
        # urllib3 rebuilds the headers of a request sent through a plain-HTTP proxy as a dict,
        # which would join the groups into one.
        raise ImpersonationError(
            "impersonating several groups through a plain-HTTP proxy is not supported"
        )
    client = k8s.ApiClient(api_client.configuration)
    client.rest_client.close()  # the fresh, unused pool: this client uses the base's
    client.rest_client = _ImpersonatingRest(base, headers)
    client.default_headers = dict(api_client.default_headers)
    client.cookie = api_client.cookie
    return client


def acting_client(api_client: k8s.ApiClient, mode: str, identity: Identity) -> k8s.ApiClient:
    """The client an action is sent with: impersonating ``identity`` in the impersonate mode,
    Tidewatch's own identity (and no impersonation header) in the service-account mode."""
    if mode == IMPERSONATE:
        return impersonated(api_client, identity.username, tuple(identity.groups))
    if mode == SERVICE_ACCOUNT:
        return api_client
    raise ImpersonationError(f"unknown actions mode {mode!r}; one of {', '.join(MODES)}")


def impersonation_headers(username: str, groups: Sequence[str]) -> list[tuple[str, bytes]]:
    """The header lines, in order: the user, then one line per distinct group."""
    if isinstance(groups, str | bytes):
        raise ImpersonationError("groups must be a list of names, not one string")
    lines = [(USER_HEADER, _value("user name", username))]
    seen: set[str] = set()
    for group in groups:
        value = _value("group", group)
        if group not in seen:
            seen.add(group)
            lines.append((GROUP_HEADER, value))
    return lines


def _value(what: str, name: Any) -> bytes:
    if not isinstance(name, str) or not name:
        raise ImpersonationError(f"an empty {what} cannot be impersonated")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        # A CR/LF would split the header; other controls reach RBAC as a different name.
        raise ImpersonationError(f"the {what} {name!r} contains control characters")
    if name != name.strip():
        # The server trims header values: " alice" would act as "alice".
        raise ImpersonationError(f"the {what} {name!r} starts or ends with white space")
    if name.startswith("system:"):
        # system:masters, system:serviceaccount:..., system:node:...: identities the API server
        # gives its own components; a signed-in person never becomes one through Tidewatch.
        raise ImpersonationError(f"the {what} {name!r} is a Kubernetes system identity")
    return name.encode("utf-8")


def _plain_http_proxy(api_client: k8s.ApiClient) -> bool:
    pool = api_client.rest_client.pool_manager
    host = str(api_client.configuration.host or "")
    return isinstance(pool, urllib3.ProxyManager) and host.startswith("http://")


class _ImpersonatingRest:
    """The base client's REST layer with the impersonation lines added to every request."""

    def __init__(self, base: Any, headers: list[tuple[str, bytes]]) -> None:
        self._base = base
        self._headers = headers
        self.configuration = base.configuration

    @property
    def pool_manager(self) -> urllib3.PoolManager:
        return self._base.pool_manager

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, Any] | None = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        merged = HTTPHeaderDict()
        for name, value in (headers or {}).items():
            if not name.lower().startswith(_PREFIX):
                merged[name] = value
        for name, value in self._headers:
            merged.add(name, value)  # type: ignore[arg-type]  # bytes: sent as they are
        return self._base.request(
            method,
            url,
            headers=merged,
            body=body,
            post_params=post_params,
            _request_timeout=_request_timeout,
        )

    def close(self) -> None:
        """The connections belong to the base client: closing this one keeps them."""
