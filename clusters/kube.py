"""The one place that builds Kubernetes API clients and talks HTTP to a cluster.

Reads raw JSON through ``ApiClient.call_api(..., _preload_content=False)``: the client's model
deserialisation is slow and drops fields it does not know, and custom resources have no models.
Every failure becomes a KubeError with a short machine reason and one human sentence, so the
poller can record it per kind and carry on.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

log = logging.getLogger(__name__)


class KubeError(Exception):
    """A request to the cluster failed. ``reason`` is stable and short; str() is for humans."""

    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


class ClusterConfigError(KubeError):
    """The cluster entry cannot produce a client (missing kubeconfig, unknown context ...)."""


_HTTP_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
}


@dataclass(frozen=True)
class ClusterSpec:
    """Where a cluster's credentials live (never the credentials themselves)."""

    name: str
    kubeconfig: str = ""
    context: str = ""
    in_cluster: bool = False


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0


DEFAULT_TIMEOUTS = Timeouts()


def kubeconfig_problem(path: Path) -> str:
    """Why ``path`` cannot be a kubeconfig file ("" if it may be one)."""
    try:
        if path.is_dir():
            return f"kubeconfig {path} is a directory, not a kubeconfig file"
        if not path.exists():
            return f"kubeconfig {path} does not exist"
        return "" if path.is_file() else f"kubeconfig {path} is not a regular file"
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        return f"kubeconfig {str(path)[:200]} cannot be used: {exc}"[:500]


def build_api_client(spec: ClusterSpec) -> k8s.ApiClient:
    """An ApiClient for the cluster: in-cluster service account or a kubeconfig context.

    The kubeconfig loader handles CA bundles, bearer tokens, client certificates and exec
    plugins (EKS ``aws eks get-token``), so a real cluster needs nothing special here.
    """
    configuration = k8s.Configuration()
    try:
        if spec.in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            path = Path(spec.kubeconfig or "~/.kube/config").expanduser()
            if not path.is_file():
                raise ClusterConfigError("KubeconfigMissing", kubeconfig_problem(path))
            k8s_config.load_kube_config(
                config_file=str(path),
                context=spec.context or None,
                client_configuration=configuration,
                persist_config=False,
            )
    except ConfigException as exc:
        raise ClusterConfigError("ConfigInvalid", _one_line(str(exc))) from None
    except (OSError, ValueError, TypeError) as exc:
        # Exec plugins that fail, unreadable files, broken YAML.
        raise ClusterConfigError("ConfigInvalid", _one_line(str(exc))) from None
    # One quick retry for a dropped connection; the poll itself is the retry loop, and
    # urllib3's default of three would multiply a read timeout by four.
    # Retry-After is honoured by the Celery task's back-off, not by sleeping inside a poll.
    configuration.retries = urllib3.Retry(
        total=1, connect=1, read=0, status=0, redirect=0, respect_retry_after_header=False
    )
    return k8s.ApiClient(configuration)


def server_of(api: k8s.ApiClient) -> str:
    return str(api.configuration.host)


def get_json(
    api: k8s.ApiClient,
    path: str,
    query: list[tuple[str, Any]] | None = None,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> dict[str, Any]:
    """GET a path and return the decoded JSON object, or raise KubeError."""
    try:
        # param_serialize applies auth (and the exec plugin's token refresh hook) and the query.
        method, url, headers, _, _ = api.param_serialize(
            "GET",
            path,
            query_params=query or [],
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        response = api.call_api(
            method, url, header_params=headers, _request_timeout=(timeouts.connect, timeouts.read)
        )
        body = response.read()
    except k8s.ApiException as exc:
        raise _from_status(exc.status, exc.reason, exc.body, exc.headers, path) from None
    except urllib3.exceptions.HTTPError as exc:
        raise _from_transport_error(exc, api, path) from None
    except ssl.SSLError as exc:
        raise KubeError("TLSError", f"TLS failed talking to {server_of(api)}: {exc}") from None
    except OSError as exc:
        raise KubeError("Unreachable", f"{server_of(api)}: {exc}") from None
    if not 200 <= response.status < 300:
        raise _from_status(response.status, response.reason, body, response.headers, path)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise KubeError(
            "InvalidResponse", f"{path} returned a body that is not JSON ({exc}); truncated?"
        ) from None
    if not isinstance(document, dict):
        raise KubeError("InvalidResponse", f"{path} returned JSON that is not an object")
    return document


def list_all(
    api: k8s.ApiClient,
    path: str,
    *,
    page_size: int = 500,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    params: list[tuple[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """All items of a list (see iter_pages), deduplicated after a restart."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    anonymous: list[dict[str, Any]] = []
    for page in iter_pages(api, path, page_size=page_size, timeouts=timeouts, params=params):
        for item in page:
            key = _identity(item)
            if key is None:
                anonymous.append(item)
            else:
                items[key] = item
    return [*items.values(), *anonymous]


def iter_pages(
    api: k8s.ApiClient,
    path: str,
    *,
    page_size: int = 500,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    params: list[tuple[str, Any]] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The items of a list, one page (limit/continue) at a time, so a consumer can handle a
    big list without holding it whole.

    A 410 Expired mid-list means etcd compacted past our snapshot: the list is restarted once
    from the beginning (a consistent list) rather than resumed inconsistently, so a consumer
    may see the items of the first pages twice and must treat them idempotently.
    """
    for attempt in (1, 2):
        token = ""
        while True:
            query: list[tuple[str, Any]] = [*(params or []), ("limit", page_size)]
            if token:
                query.append(("continue", token))
            try:
                page = get_json(api, path, query, timeouts)
            except KubeError as exc:
                if exc.status == 410 and token and attempt == 1:
                    log.warning("list %s: continue token expired, restarting the list", path)
                    break
                raise
            page_items = page.get("items") or []
            if not isinstance(page_items, list):
                raise KubeError("InvalidResponse", f"{path}: items is not a list")
            yield [item for item in page_items if isinstance(item, dict)]
            metadata = page.get("metadata")
            token = str(metadata.get("continue") or "") if isinstance(metadata, dict) else ""
            if not token:
                return


def _identity(item: dict[str, Any]) -> tuple[str, str] | None:
    metadata = item.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        return None
    return (str(metadata.get("namespace") or ""), metadata["name"])


def _from_status(
    status: int | None, http_reason: str | None, body: Any, headers: Any, path: str
) -> KubeError:
    """A non-2xx answer → KubeError, using the Kubernetes Status message when there is one."""
    status = int(status or 0)
    message = ""
    try:
        document = orjson.loads(body) if body else None
    except (orjson.JSONDecodeError, TypeError):
        document = None
    if isinstance(document, dict) and document.get("kind") == "Status":
        message = str(document.get("message") or "")
    elif isinstance(body, bytes | str) and body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        message = " ".join(text.split())[:300]
    if status == 0:
        return KubeError("Unreachable", f"{path}: {http_reason}")
    reason = _HTTP_REASONS.get(status, "ServerError" if status >= 500 else f"HTTP{status}")
    human = message or f"{status} {http_reason or ''}".strip()
    if status == 429:
        retry_after = (headers or {}).get("Retry-After")
        if retry_after:
            human = f"{human} (retry after {retry_after}s)"
    return KubeError(reason, f"{human} [HTTP {status} on {path}]", status)


def _from_transport_error(
    exc: urllib3.exceptions.HTTPError, api: k8s.ApiClient, path: str
) -> KubeError:
    server = server_of(api)
    cause: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        cause = exc.reason
    if isinstance(cause, urllib3.exceptions.SSLError | ssl.SSLError):
        detail = _one_line(str(cause))
        if "CERTIFICATE_VERIFY_FAILED" in detail:
            return KubeError(
                "TLSError",
                f"{server} presented a certificate that the CA in the kubeconfig does not "
                f"trust (check certificate-authority / certificate-authority-data): {detail}",
            )
        return KubeError("TLSError", f"TLS failed talking to {server}: {detail}")
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2.x: test it first.
    if isinstance(cause, urllib3.exceptions.NewConnectionError | ConnectionError):
        return KubeError("Unreachable", f"cannot connect to {server}: {_one_line(str(cause))}")
    if isinstance(cause, urllib3.exceptions.ReadTimeoutError | urllib3.exceptions.TimeoutError):
        return KubeError("Timeout", f"{server} did not answer {path} in time")
    if isinstance(cause, urllib3.exceptions.ResponseError):
        return KubeError("ServerError", f"{server} kept failing {path}: {cause}")
    if isinstance(cause, urllib3.exceptions.ProtocolError):
        return KubeError("ConnectionDropped", f"{server} dropped the connection during {path}")
    return KubeError("Unreachable", f"{server}: {_one_line(str(cause))}")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]
