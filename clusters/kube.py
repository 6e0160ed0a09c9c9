"""The one place that builds Kubernetes API clients and talks HTTP to a cluster.

Reads raw JSON through ``ApiClient.call_api(..., _preload_content=False)``: the client's model
deserialisation is slow and drops fields it does not know, and custom resources have no models.
Every failure becomes a KubeError with a short machine reason and one human sentence, so the
poller can record it per kind and carry on.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from clusters import request_deadline
from clusters.exec_credential import ExecPluginError, load_kubeconfig

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


MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one poll may cost, whatever the server does (docs/reliability.md, "Poll bounds").

    ``read`` bounds each socket read; ``request`` bounds a whole request (headers and body),
    and ``deadline`` (a ``time.monotonic()`` instant) the whole poll: a request never runs past
    it, and none starts after it. The byte, page and object caps bound memory.
    """

    connect: float = 5.0
    read: float = 30.0
    request: float = 60.0
    deadline: float | None = None
    poll_seconds: float = 0.0  # how long the poll was given: for the message only
    response_bytes: int = 64 * MiB
    pages: int = 1000
    objects: int = 100_000


DEFAULT_LIMITS = Limits()


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


def build_api_client(spec: ClusterSpec, *, exec_timeout: float = 30.0) -> k8s.ApiClient:
    """An ApiClient for the cluster: in-cluster service account or a kubeconfig context.

    The kubeconfig loader handles CA bundles, bearer tokens, client certificates and exec
    plugins (EKS ``aws eks get-token``, killed after ``exec_timeout`` seconds), so a real
    cluster needs nothing special here.
    """
    configuration = k8s.Configuration()
    try:
        if spec.in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
        else:
            path = Path(spec.kubeconfig or "~/.kube/config").expanduser()
            if not path.is_file():
                raise ClusterConfigError("KubeconfigMissing", kubeconfig_problem(path))
            # Not k8s_config.load_kube_config: its exec plugin has no time limit.
            load_kubeconfig(str(path), spec.context or None, configuration, exec_timeout)
    except ExecPluginError as exc:
        raise ClusterConfigError(exc.reason, _one_line(str(exc))) from None
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
    api = k8s.ApiClient(configuration)
    request_deadline.install(api.rest_client.pool_manager)
    return api


def server_of(api: k8s.ApiClient) -> str:
    return str(api.configuration.host)


def get_json(
    api: k8s.ApiClient,
    path: str,
    query: list[tuple[str, Any]] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """GET a path and return the decoded JSON object, or raise KubeError.

    The whole request ends within ``limits.request`` seconds (and the poll's deadline), and
    its body is at most ``limits.response_bytes``, however slowly or hugely the server answers.
    """
    budget, by_poll = _budget(limits, path)
    with request_deadline.request_deadline(budget) as guard:
        try:
            body, response = _fetch(api, path, query, limits, budget)
        except Exception:
            # A socket shut by the deadline surfaces as whatever the read saw (a dropped
            # connection, a short body): the deadline is the reason.
            if guard.expired:
                raise _deadline(limits, path, budget, by_poll) from None
            raise
    if guard.expired:  # the timer fired as the last byte came: still too late
        raise _deadline(limits, path, budget, by_poll)
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


def _budget(limits: Limits, path: str) -> tuple[float, bool]:
    """Seconds this request may take, and whether the poll's deadline (not the request's) set it."""
    if limits.deadline is None:
        return limits.request, False
    left = limits.deadline - time.monotonic()
    if left <= 0:
        raise KubeError(
            "Deadline",
            f"the poll used its {limits.poll_seconds:g}s (TIDEWATCH_POLL_DEADLINE) before {path} "
            "could be read",
        )
    return (left, True) if left < limits.request else (limits.request, False)


def _deadline(limits: Limits, path: str, budget: float, by_poll: bool) -> KubeError:
    if by_poll:
        return KubeError(
            "Deadline",
            f"the poll used its {limits.poll_seconds:g}s (TIDEWATCH_POLL_DEADLINE) while {path} "
            "was being read",
        )
    return KubeError(
        "Deadline",
        f"{path} was not answered in full within {budget:g}s (TIDEWATCH_REQUEST_DEADLINE); "
        "the server may be sending very slowly",
    )


def _fetch(
    api: k8s.ApiClient,
    path: str,
    query: list[tuple[str, Any]] | None,
    limits: Limits,
    budget: float,
) -> tuple[bytes, Any]:
    """(body, urllib3 response), every transport failure as a KubeError."""
    try:
        # param_serialize applies auth (and the exec plugin's token refresh hook) and the query.
        method, url, headers, _, _ = api.param_serialize(
            "GET",
            path,
            query_params=query or [],
            # identity: a compressed body would be decoded past every size limit.
            header_params={"Accept": "application/json", "Accept-Encoding": "identity"},
            auth_settings=["BearerToken"],
        )
        timeout = (min(limits.connect, budget), min(limits.read, budget))
        response = api.call_api(method, url, header_params=headers, _request_timeout=timeout)
        raw = response.response
        try:
            body = _read_body(raw, limits, path, server_of(api))
        except BaseException:
            raw.close()  # never hand a half-read connection back to the pool
            raise
        raw.release_conn()
        return body, raw
    except ExecPluginError as exc:  # a token renewal from the refresh hook
        raise ClusterConfigError(exc.reason, _one_line(str(exc))) from None
    except k8s.ApiException as exc:
        raise _from_status(exc.status, exc.reason, exc.body, exc.headers, path) from None
    except urllib3.exceptions.HTTPError as exc:
        raise _from_transport_error(exc, api, path) from None
    except ssl.SSLError as exc:
        raise KubeError("TLSError", f"TLS failed talking to {server_of(api)}: {exc}") from None
    except OSError as exc:
        raise KubeError("Unreachable", f"{server_of(api)}: {exc}") from None


_CHUNK = 256 * 1024


def _read_body(raw: Any, limits: Limits, path: str, server: str) -> bytes:
    """The body as sent (never decompressed), at most ``limits.response_bytes`` of it."""
    encoding = str(raw.headers.get("Content-Encoding") or "").strip().lower()
    if encoding not in ("", "identity"):
        raise KubeError(
            "UnexpectedEncoding",
            f"{server} answered {path} with Content-Encoding {encoding[:40]!r} although "
            "Tidewatch asked for identity; the body is not decompressed (a proxy in between?)",
        )
    cap = limits.response_bytes
    declared = str(raw.headers.get("Content-Length") or "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(path, cap)
    body = bytearray()
    while True:
        # read1 returns what one socket read gave, so the deadline timer can cut a slow body.
        chunk = raw.read1(_CHUNK, decode_content=False)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > cap:
            raise _too_large(path, cap)


def _too_large(path: str, cap: int) -> KubeError:
    return KubeError(
        "TooLarge",
        f"{path} answered more than {_size(cap)} (TIDEWATCH_MAX_RESPONSE_BYTES); not read further",
    )


def _size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:g} MiB"
    return f"{n / 1024:g} KiB" if n >= 1024 else f"{n} bytes"


def list_all(
    api: k8s.ApiClient,
    path: str,
    *,
    page_size: int = 500,
    limits: Limits = DEFAULT_LIMITS,
    params: list[tuple[str, Any]] | None = None,
    max_objects: int | None = None,
    objects_setting: str = "",
) -> list[dict[str, Any]]:
    """All items of a list (see iter_pages), deduplicated after a restart."""
    items: dict[tuple[str, str], dict[str, Any]] = {}
    anonymous: list[dict[str, Any]] = []
    pages = iter_pages(
        api,
        path,
        page_size=page_size,
        limits=limits,
        params=params,
        max_objects=max_objects,
        objects_setting=objects_setting,
    )
    for page in pages:
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
    limits: Limits = DEFAULT_LIMITS,
    params: list[tuple[str, Any]] | None = None,
    max_objects: int | None = None,
    objects_setting: str = "",
) -> Iterator[list[dict[str, Any]]]:
    """The items of a list, one page (limit/continue) at a time, so a consumer can handle a
    big list without holding it whole.

    A 410 Expired mid-list means etcd compacted past our snapshot: the list is restarted once
    from the beginning (a consistent list) rather than resumed inconsistently, so a consumer
    may see the items of the first pages twice and must treat them idempotently.

    At most ``limits.pages`` pages and ``max_objects`` (default ``limits.objects``) items are
    read: a continue token that never runs out is the server's fault, and a list must end.
    """
    cap = limits.objects if max_objects is None else max_objects
    for attempt in (1, 2):
        token, pages, count = "", 0, 0
        while True:
            if pages >= limits.pages:
                raise KubeError(
                    "TooManyPages",
                    f"{path}: still a continue token after {limits.pages} pages of {page_size} "
                    "(TIDEWATCH_MAX_LIST_PAGES); the list was not finished",
                )
            query: list[tuple[str, Any]] = [*(params or []), ("limit", page_size)]
            if token:
                query.append(("continue", token))
            try:
                page = get_json(api, path, query, limits)
            except KubeError as exc:
                if exc.status == 410 and token and attempt == 1:
                    log.warning("list %s: continue token expired, restarting the list", path)
                    break
                raise
            pages += 1
            page_items = page.get("items") or []
            if not isinstance(page_items, list):
                raise KubeError("InvalidResponse", f"{path}: items is not a list")
            count += len(page_items)
            if count > cap:
                raise KubeError(
                    "TooManyObjects",
                    f"{path}: more objects than "
                    f"{objects_setting or f'TIDEWATCH_MAX_OBJECTS_PER_KIND={cap}'} allows; "
                    "the list was not finished",
                )
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
